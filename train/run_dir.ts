/**
 * The checkpoint folder of a run, checked and held before any training: it must be (or become)
 * a writable folder, must not silently replace an earlier run's model, and is locked so that two
 * runs never write into it at once (`<checkpoint_dir>/.lock`: pid, host, start time).
 *
 * @module
 */
import os from "node:os";
import { join } from "node:path";
import { fileError, InputError, processAlive } from "../core/mod.ts";
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
    let file: Deno.FsFile | null = null;
    try {
      file = await Deno.open(path, { write: true, createNew: true });
      await file.write(new TextEncoder().encode(JSON.stringify(mine) + "\n"));
      await file.sync();
      file.close();
      break;
    } catch (err) {
      if (file) {
        // Made but not written (a full disk): an empty lock would outlive this failed start.
        file.close();
        await Deno.remove(path).catch(() => {});
      }
      if (!(err instanceof Deno.errors.AlreadyExists) || tries > 2) {
        throw fileError("write the run lock", path, err);
      }
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
