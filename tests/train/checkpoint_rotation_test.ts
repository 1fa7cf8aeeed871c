import assert from "node:assert/strict";
import { join } from "node:path";
import { exists, writeDirAtomic, writeJsonAtomic } from "../../io/mod.ts";
import {
  COMPLETE_MARKER,
  latestCheckpoint,
  listCheckpoints,
  rotateCheckpoints,
} from "../../train/mod.ts";
import { withTempDir } from "../_helpers.ts";

/** A complete (marked) but empty checkpoint folder. */
function markedCheckpoint(dir: string, step: number): Promise<void> {
  return writeDirAtomic(
    join(dir, `checkpoint-${step}`),
    (tmp) => writeJsonAtomic(join(tmp, COMPLETE_MARKER), { complete: true }),
  );
}

Deno.test("rotation: incomplete folders are ignored, newest kept, best never deleted", async () => {
  await withTempDir(async (dir) => {
    for (const step of [10, 20, 30, 40]) {
      await markedCheckpoint(dir, step);
    }
    await Deno.mkdir(join(dir, "checkpoint-50")); // killed mid-write: no marker
    await Deno.mkdir(join(dir, ".checkpoint-60.tmp-999999")); // another process's leftover
    await Deno.writeTextFile(join(dir, "model.safetensors.tmp-999999"), "half a copy");
    assert.deepEqual((await listCheckpoints(dir)).map((c) => c.step), [10, 20, 30, 40]);
    assert.equal((await latestCheckpoint(dir))?.step, 40);
    const deleted = await rotateCheckpoints(dir, {
      keep: 2,
      bestPath: join(dir, "checkpoint-10"),
    });
    assert.equal(deleted.length, 3);
    assert.deepEqual((await listCheckpoints(dir)).map((c) => c.step), [10, 30, 40]);
    assert.ok(!(await exists(join(dir, ".checkpoint-60.tmp-999999"))));
    assert.ok(!(await exists(join(dir, "model.safetensors.tmp-999999"))));
    await rotateCheckpoints(dir, { keep: 1, bestPath: join(dir, "checkpoint-40") });
    assert.deepEqual((await listCheckpoints(dir)).map((c) => c.step), [40]);
  });
});
