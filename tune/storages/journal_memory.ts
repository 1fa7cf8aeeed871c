/**
 * A journal in memory (Optuna's `InMemoryStorage` role): for one process — synthetic
 * benchmarks, tests — with the same records and replay as the file and Redis journals.
 *
 * @module
 */
import type { JournalRecord } from "./journal.ts";
import type { JournalBackend } from "./journal_storage.ts";
import { ProcessLock } from "./_lock.ts";

/** The in-memory backend. */
export class JournalMemory implements JournalBackend {
  readonly #records: JournalRecord[] = [];
  readonly #process = new ProcessLock();

  readAll(): Promise<JournalRecord[]> {
    return Promise.resolve(this.#records.map((r) => structuredClone(r)));
  }

  append(records: readonly JournalRecord[]): Promise<void> {
    this.#records.push(...records.map((r) => structuredClone(r)));
    return Promise.resolve();
  }

  /** Runs `fn` holding the lock (re-entrant along one call chain, queued otherwise). */
  withLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.#process.run(() => Promise.resolve(), () => Promise.resolve(), fn);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
