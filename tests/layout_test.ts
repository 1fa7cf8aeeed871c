/**
 * The layout rules of README's Development section, checked on the source tree: an import that
 * crosses folders ends in the folder's `mod.ts`, `_name.ts` files stay private, and dependencies
 * flow one way (`data ← io, backend ← model ← train ← bench ← cli ← main.ts`; `tracking` is a leaf
 * below train; `tune` and `reports` sit between train and cli).
 */
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";
import { REPO_ROOT } from "./_helpers.ts";

/** Layer of each top-level folder: a file may import only from its own or a lower layer. */
const LAYER: Readonly<Record<string, number>> = {
  data: 0,
  tracking: 1,
  io: 1,
  backend: 1,
  model: 2,
  train: 3,
  bench: 4,
  tune: 4,
  reports: 5,
  cli: 6,
  "main.ts": 7,
  scripts: 8,
};

async function sourceFiles(dir = REPO_ROOT): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    const rel = relative(REPO_ROOT, path);
    if (e.isDirectory) {
      if (["tests", "node_modules", "dist", ".git", "docs"].includes(rel)) continue;
      out.push(...await sourceFiles(path));
    } else if (e.name.endsWith(".ts")) {
      out.push(rel);
    }
  }
  return out;
}

function topOf(rel: string): string {
  return rel.includes("/") ? rel.split("/")[0] : rel;
}

Deno.test("layout: cross-folder imports go through mod.ts and flow one way", async () => {
  const files = await sourceFiles();
  assert.ok(files.includes("main.ts") && files.some((f) => f.startsWith("train/")));
  const problems: string[] = [];
  for (const file of files) {
    const text = await Deno.readTextFile(join(REPO_ROOT, file));
    const top = topOf(file);
    assert.ok(top in LAYER, `"${file}" is in a folder the layout does not name`);
    for (const m of text.matchAll(/^(?:import|export)[^;]*?from\s+"(\.{1,2}\/[^"]+)"/gms)) {
      const target = normalize(join(dirname(file), m[1]));
      const targetTop = topOf(target);
      if (targetTop === top || !target.endsWith(".ts")) continue; // deno.json: the version
      if (!target.endsWith("/mod.ts")) problems.push(`${file} imports ${target}, not its mod.ts`);
      if (LAYER[targetTop] > LAYER[top]) problems.push(`${file} imports upward: ${target}`);
    }
  }
  assert.deepEqual(problems, []);
});
