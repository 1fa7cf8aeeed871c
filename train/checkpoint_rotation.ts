/**
 * Rotating `checkpoint-<step>/` folders under a run's checkpoint directory (`--save_total_limit`),
 * and cleaning up the temporaries a killed writer left. The names are checkpoint_layout.ts's.
 *
 * @module
 */
import { join } from "node:path";
import { listCheckpoints, temporaryWriter } from "./checkpoint_layout.ts";

/**
 * Deletes old checkpoints so that at most `keep` newest remain, never deleting `bestPath`
 * (kept in addition, as the HF Trainer does). `keep` ≤ 0 keeps everything. Also removes
 * temporaries left by a killed writer (`.checkpoint-*.tmp-*`, `.checkpoint-*.old-*`, `*.tmp-*`
 * files) whose process is not this one. Returns the deleted paths.
 */
export async function rotateCheckpoints(
  dir: string,
  options: { keep: number; bestPath?: string | null },
): Promise<string[]> {
  const deleted: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const writer = temporaryWriter(entry.name, entry.isFile);
    if (writer !== null && writer !== Deno.pid) {
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
