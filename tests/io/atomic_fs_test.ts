import assert from "node:assert/strict";
import { join } from "node:path";
import { COMPLETE_MARKER, exists, writeDirAtomic, writeFileAtomic } from "../../io/atomic_fs.ts";
import {
  latestCheckpoint,
  listCheckpoints,
  rotateCheckpoints,
} from "../../train/checkpoint_rotation.ts";

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

Deno.test("atomic: a file write leaves no temporary and replaces the old content", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = join(dir, "a.json");
    await writeFileAtomic(p, "one");
    await writeFileAtomic(p, "two");
    assert.equal(await Deno.readTextFile(p), "two");
    assert.deepEqual(await names(dir), ["a.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("atomic: a directory appears only complete, and a failed fill leaves nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const target = join(dir, "checkpoint-5");
    await assert.rejects(
      writeDirAtomic(target, async (tmp) => {
        await Deno.writeTextFile(join(tmp, "x"), "partial");
        throw new Error("disk full");
      }),
      /disk full/,
    );
    assert.deepEqual(await names(dir), []);
    await writeDirAtomic(target, (tmp) => Deno.writeTextFile(join(tmp, "x"), "v1"));
    assert.ok(await exists(join(target, COMPLETE_MARKER)));
    await writeDirAtomic(target, (tmp) => Deno.writeTextFile(join(tmp, "x"), "v2"));
    assert.equal(await Deno.readTextFile(join(target, "x")), "v2");
    assert.deepEqual(await names(dir), ["checkpoint-5"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rotation: incomplete folders are ignored, newest kept, best never deleted", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const step of [10, 20, 30, 40]) {
      await writeDirAtomic(join(dir, `checkpoint-${step}`), () => Promise.resolve());
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
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
