import assert from "node:assert/strict";
import { join } from "node:path";
import { exists, writeDirAtomic, writeFileAtomic } from "../../io/mod.ts";
import { withTempDir } from "../_helpers.ts";

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

Deno.test("atomic: a file write leaves no temporary and replaces the old content", async () => {
  await withTempDir(async (dir) => {
    const p = join(dir, "a.json");
    await writeFileAtomic(p, "one");
    await writeFileAtomic(p, "two");
    assert.equal(await Deno.readTextFile(p), "two");
    assert.deepEqual(await names(dir), ["a.json"]);
  });
});

Deno.test("atomic: a directory appears only complete, and a failed fill leaves nothing", async () => {
  await withTempDir(async (dir) => {
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
    assert.ok(await exists(join(target, "x")));
    await writeDirAtomic(target, (tmp) => Deno.writeTextFile(join(tmp, "x"), "v2"));
    assert.equal(await Deno.readTextFile(join(target, "x")), "v2");
    assert.deepEqual(await names(dir), ["checkpoint-5"]);
  });
});
