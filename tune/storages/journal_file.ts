/**
 * A journal in a file, readable and writable by Python Optuna's `JournalFileStorage` at the same
 * time: the same lock (`<file>.lock`, a symlink made in a loop with 1 ms to 1 s backoff, released
 * by renaming it to `<file>.lock<uuid>.rename` and unlinking), one O_APPEND write per batch of
 * records with its newline, fsync, bare `NaN`/`Infinity` as Python writes them. A lock whose
 * mtime has not changed for 30 s is broken (as Optuna 4.3 does; 3.1 waits forever). Reading takes
 * no lock; a torn last line is ignored (and cut off by the next writer), a bad line in the middle
 * is an error naming the file.
 *
 * @module
 */
import { dirname } from "node:path";
import { fileError, InputError } from "../../core/mod.ts";
import { type JournalRecord } from "./journal.ts";
import { parsePyJson, stringifyPyJson } from "./py_json.ts";
import type { JournalBackend } from "./journal_storage.ts";
import { recordProblem } from "./journal_check.ts";
import { ProcessLock } from "./_lock.ts";

/** Seconds a lock may stay untouched before another writer breaks it. */
export const STALE_LOCK_SECONDS = 30;

/** The file backend (see module docs). */
export class JournalFile implements JournalBackend {
  readonly path: string;
  readonly #lock: string;
  readonly #graceMs: number;
  readonly #log: (line: string) => void;
  readonly #process = new ProcessLock();

  /**
   * `lockGraceSeconds`: how long a lock may stay untouched before it is broken (Optuna's 30);
   * `log` hears, once per wait, that the lock is being waited for.
   */
  constructor(
    path: string,
    options: { lockGraceSeconds?: number; log?: (line: string) => void } = {},
  ) {
    this.path = path;
    this.#lock = `${path}.lock`;
    this.#graceMs = (options.lockGraceSeconds ?? STALE_LOCK_SECONDS) * 1000;
    this.#log = options.log ?? (() => {});
  }

  /** Creates the file (and its folder) when it does not exist. */
  async open(): Promise<this> {
    try {
      await Deno.mkdir(dirname(this.path), { recursive: true });
      const f = await Deno.open(this.path, { append: true, create: true });
      f.close();
    } catch (err) {
      throw fileError("open the study journal", this.path, err);
    }
    return this;
  }

  /** Every record in the file, in order. */
  async readAll(): Promise<JournalRecord[]> {
    const text = await Deno.readTextFile(this.path).catch((err) => {
      if (err instanceof Deno.errors.NotFound) return "";
      throw err;
    });
    const lines = text.split("\n");
    const out: JournalRecord[] = [];
    for (const [i, line] of lines.entries()) {
      if (line.trim() === "") continue;
      let record: unknown;
      try {
        record = parsePyJson(line);
      } catch (err) {
        const torn = i === lines.length - 1; // no newline yet: a writer was killed mid-line
        if (torn) break;
        throw new InputError(
          `Invalid study journal "${this.path}" line ${i + 1}: ${(err as Error).message}`,
        );
      }
      const problem = recordProblem(record);
      if (problem) {
        throw new InputError(`Invalid study journal "${this.path}" line ${i + 1}: ${problem}`);
      }
      out.push(record as JournalRecord);
    }
    return out;
  }

  /** Appends `records` (one write) under the lock. */
  async append(records: readonly JournalRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.withLock(async () => {
      await this.#dropTornLine();
      const text = records.map((r) => stringifyPyJson(r)).join("\n") + "\n";
      try {
        const f = await Deno.open(this.path, { append: true, create: true });
        try {
          const bytes = new TextEncoder().encode(text);
          const written = await f.write(bytes);
          if (written !== bytes.length) throw new Error(`Short write to "${this.path}"`);
          await f.sync();
        } finally {
          f.close();
        }
      } catch (err) {
        // A torn line left by a failed write is cut off by the next writer (see dropTornLine).
        throw fileError("append to the study journal", this.path, err);
      }
    });
  }

  /** Runs `fn` holding the journal's lock (re-entrant along one call chain). */
  withLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.#process.run(() => this.#acquire(), () => this.#release(), fn);
  }

  async close(): Promise<void> {}

  /**
   * Cuts a torn last line (a writer killed mid-write, a full disk) off the file, holding the lock:
   * appended to, it would become a bad line in the middle, which Optuna and this reader reject.
   * No reader ever applied it.
   */
  async #dropTornLine(): Promise<void> {
    const size = (await Deno.stat(this.path)).size;
    if (size === 0) return;
    const f = await Deno.open(this.path, { read: true });
    try {
      const last = new Uint8Array(1);
      await f.seek(size - 1, Deno.SeekMode.Start);
      await f.read(last);
      if (last[0] === 0x0a) return;
    } finally {
      f.close();
    }
    const bytes = await Deno.readFile(this.path);
    await Deno.truncate(this.path, bytes.lastIndexOf(0x0a) + 1);
  }

  async #acquire(): Promise<void> {
    let sleepMs = 1;
    const since = Date.now();
    let said = false;
    for (;;) {
      try {
        await Deno.symlink(this.path, this.#lock);
        if (said) this.#log(`Got the study journal lock "${this.#lock}"`);
        return;
      } catch (err) {
        if (!(err instanceof Deno.errors.AlreadyExists)) {
          throw fileError("lock the study journal", this.#lock, err);
        }
      }
      const stat = await Deno.lstat(this.#lock).catch(() => null);
      if (!said && Date.now() - since > 2000) {
        said = true;
        const age = stat?.mtime ? Math.round((Date.now() - stat.mtime.getTime()) / 1000) : 0;
        this.#log(
          `Waiting for the study journal lock "${this.#lock}" (untouched for ${age} s: another ` +
            `worker holds it, or a killed one left it; it is broken after ` +
            `${this.#graceMs / 1000} s untouched)`,
        );
      }
      if (stat?.mtime && Date.now() - stat.mtime.getTime() > this.#graceMs) {
        // Break the stale lock the way a release does, so that only one breaker wins.
        const aside = `${this.#lock}${crypto.randomUUID()}.rename`;
        await Deno.rename(this.#lock, aside).then(() => Deno.remove(aside), () => {});
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, sleepMs));
      sleepMs = Math.min(sleepMs * 2, 1000);
    }
  }

  async #release(): Promise<void> {
    const aside = `${this.#lock}${crypto.randomUUID()}.rename`;
    await Deno.rename(this.#lock, aside);
    await Deno.remove(aside);
  }
}
