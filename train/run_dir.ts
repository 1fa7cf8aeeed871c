/**
 * The checkpoint folder of a run, checked and held before any training: it must be (or become)
 * a writable folder, must not silently replace an earlier run's model, and is locked so that two
 * runs never write into it at once (`<checkpoint_dir>/.lock`: pid, host, start time).
 *
 * @module
 */
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { InputError, processAlive } from "../core/mod.ts";
import { exists } from "../io/mod.ts";
import {
  checkpointName,
  hasFinalModel,
  listCheckpoints,
  removeModelAndCheckpoints,
  runRecords,
} from "./checkpoint_layout.ts";

/** Name of the lock file inside the checkpoint dir. */
export const LOCK_FILE = ".lock";

/** What the lock file holds. */
export interface LockInfo {
  readonly pid: number;
  readonly host: string;
  /** ISO time the run started. */
  readonly started: string;
}

/** The folders from `dir` up that do not exist yet, deepest first. */
async function missingFolders(dir: string): Promise<string[]> {
  const missing: string[] = [];
  for (let d = resolve(dir); !(await exists(d)); d = dirname(d)) {
    missing.push(d);
    if (dirname(d) === d) break;
  }
  return missing;
}

/**
 * Checks that `dir` is a folder this process can create and write in: a path that is a file, a
 * folder without write permission, or one that cannot be created is an `InputError` naming
 * `--checkpoint_dir` (exit 2, before any training). Returns a function that removes the folders
 * this made, if they are still empty (for a run that fails before it writes anything).
 */
export async function checkWritableDir(dir: string): Promise<() => Promise<void>> {
  const stat = await Deno.stat(dir).catch(() => null);
  if (stat && !stat.isDirectory) {
    throw new InputError(`Invalid --checkpoint_dir "${dir}": it is a file, not a folder`);
  }
  const made = await missingFolders(dir);
  const undo = async () => {
    for (const d of made) await Deno.remove(d).catch(() => {}); // only while empty
  };
  try {
    await Deno.mkdir(dir, { recursive: true });
    const probe = join(dir, `.write-test-${Deno.pid}`);
    await Deno.writeTextFile(probe, "");
    await Deno.remove(probe);
  } catch (err) {
    const why = err instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : err instanceof Deno.errors.NotADirectory
      ? "a part of the path is a file"
      : /read-only/i.test(String(err))
      ? "the file system is read-only"
      : (err as Error).message;
    await undo();
    throw new InputError(`Cannot write into --checkpoint_dir "${dir}": ${why}`);
  }
  return undo;
}

/**
 * What an earlier run left in `dir`: its complete checkpoints, whether a final model
 * (config.json + model.safetensors) is there, and its run records (`runs/<id>`).
 */
export async function earlierRun(
  dir: string,
): Promise<{ checkpoints: string[]; finalModel: boolean; records: string[] }> {
  const checkpoints = (await listCheckpoints(dir)).map((c) => checkpointName(c.step));
  return { checkpoints, finalModel: await hasFinalModel(dir), records: await runRecords(dir) };
}

/**
 * Removes an earlier run's checkpoints and final model from `dir` (`--overwrite_output_dir`);
 * returns what was removed.
 */
export function clearEarlierRun(dir: string): Promise<string[]> {
  return removeModelAndCheckpoints(dir);
}

/** Who holds `<dir>/.lock`, if anyone, and whether that process is alive on this host. */
export interface LockHolder extends Partial<LockInfo> {
  readonly path: string;
  /** True when it runs on this host; false when it is gone; null when on another host. */
  readonly alive: boolean | null;
}

/** The holder of `<dir>/.lock`, or null when no lock is there. */
export async function readRunLock(dir: string): Promise<LockHolder | null> {
  const path = join(dir, LOCK_FILE);
  const text = await Deno.readTextFile(path).catch(() => null);
  if (text === null) return null;
  let holder: Partial<LockInfo> = {};
  try {
    holder = JSON.parse(text);
  } catch { /* torn by a crash while it was written: nobody holds it */ }
  const alive = holder.host !== os.hostname()
    ? (Number.isInteger(holder.pid) ? null : false)
    : Number.isInteger(holder.pid) && processAlive(holder.pid!);
  return { ...holder, path, alive };
}

/** The note for a stale lock that was taken over. */
export function describeTakeOver(lock: RunLock): string | null {
  const h = lock.tookOver;
  return h
    ? `Took over the lock "${lock.path}" of process ${h.pid ?? "?"} (started ${
      h.started ?? "?"
    }), ` +
      `which is gone`
    : null;
}

/** A held run lock; `release` removes the lock file (once). */
export interface RunLock {
  readonly path: string;
  /** The holder whose stale lock (process gone, this host) was taken over, if any. */
  readonly tookOver: Partial<LockInfo> | null;
  release(): void;
}

/**
 * Takes `<dir>/.lock` for this process. Held by a live process (or one on another host) it is an
 * `InputError` naming the holder; a lock whose process is gone (same host) is taken over
 * (`tookOver` says whose, for the caller to report).
 */
export async function acquireRunLock(dir: string, options: { now?: Date } = {}): Promise<RunLock> {
  const path = join(dir, LOCK_FILE);
  const mine: LockInfo = {
    pid: Deno.pid,
    host: os.hostname(),
    started: (options.now ?? new Date()).toISOString(),
  };
  let tookOver: Partial<LockInfo> | null = null;
  for (let tries = 0;; tries++) {
    try {
      const file = await Deno.open(path, { write: true, createNew: true });
      await file.write(new TextEncoder().encode(JSON.stringify(mine) + "\n"));
      await file.sync();
      file.close();
      break;
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists) || tries > 2) throw err;
    }
    const text = await Deno.readTextFile(path).catch(() => "");
    let holder: Partial<LockInfo> = {};
    try {
      holder = JSON.parse(text);
    } catch { /* a lock torn by a crash while it was written: treat as stale below */ }
    const sameHost = holder.host === mine.host;
    if (Number.isInteger(holder.pid) && (!sameHost || processAlive(holder.pid!))) {
      throw new InputError(
        `Checkpoint dir "${dir}" is in use by process ${holder.pid} on "${holder.host}" ` +
          `(started ${holder.started}): wait for it, or remove "${path}" if no run is using it`,
      );
    }
    tookOver = holder;
    await Deno.remove(path).catch(() => {});
  }
  let held = true;
  return {
    path,
    tookOver,
    release() {
      if (!held) return;
      held = false;
      try {
        Deno.removeSync(path);
      } catch { /* already gone */ }
    },
  };
}
