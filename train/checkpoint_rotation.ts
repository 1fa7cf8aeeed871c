/**
 * Finding and rotating `checkpoint-<step>/` folders under a run's checkpoint directory. Only
 * folders holding the completion marker count; half-written temporaries are cleaned up.
 *
 * @module
 */
import { join } from "node:path";
import { exists } from "../io/mod.ts";
import { isCompleteCheckpoint } from "./checkpoint.ts";

/** A complete checkpoint folder. */
export interface CheckpointRef {
  readonly step: number;
  readonly path: string;
}

const CHECKPOINT_RE = /^checkpoint-(\d+)$/;

/** Complete `checkpoint-<step>` folders of `dir`, oldest step first. */
export async function listCheckpoints(dir: string): Promise<CheckpointRef[]> {
  if (!(await exists(dir))) return [];
  const found: CheckpointRef[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const m = CHECKPOINT_RE.exec(entry.name);
    if (!entry.isDirectory || !m) continue;
    const path = join(dir, entry.name);
    if (await isCompleteCheckpoint(path)) found.push({ step: Number(m[1]), path });
  }
  return found.sort((a, b) => a.step - b.step);
}

/** The newest complete checkpoint of `dir`, or null. */
export async function latestCheckpoint(dir: string): Promise<CheckpointRef | null> {
  const all = await listCheckpoints(dir);
  return all.length ? all[all.length - 1] : null;
}

/**
 * Deletes old checkpoints so that at most `keep` newest remain, never deleting `bestPath`
 * (kept in addition, as the HF Trainer does). `keep` ≤ 0 keeps everything. Also removes
 * temporaries left by a killed writer (`.checkpoint-*.tmp-*`, `.checkpoint-*.old-*`, `*.tmp-*` files) whose
 * process is not this one. Returns the deleted paths.
 */
export async function rotateCheckpoints(
  dir: string,
  options: { keep: number; bestPath?: string | null },
): Promise<string[]> {
  const deleted: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const stale = /^\.checkpoint-\d+\.(tmp|old)-\d+$/.test(entry.name) ||
      (entry.isFile && /\.tmp-\d+$/.test(entry.name)); // a file copy killed mid-write
    if (stale && !entry.name.endsWith(`-${Deno.pid}`)) {
      await Deno.remove(join(dir, entry.name), { recursive: true });
      deleted.push(join(dir, entry.name));
    }
  }
  if (options.keep <= 0) return deleted;
  const all = await listCheckpoints(dir);
  const excess = all.length - options.keep;
  // When the best is among the oldest, it stays in addition to the newest `keep`.
  const toDelete = all.slice(0, Math.max(0, excess)).filter((c) => c.path !== options.bestPath);
  for (const c of toDelete) {
    await Deno.remove(c.path, { recursive: true });
    deleted.push(c.path);
  }
  return deleted;
}
