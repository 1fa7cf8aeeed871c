/**
 * The layout rules of README's Development section, checked on the source tree: an import that
 * crosses folders (top-level or nested, like tune/samplers/) ends in that folder's `mod.ts`,
 * faces name what they export (no `export *`), dependencies flow one way
 * (`core ← io, hub, backend ← data, tracking ← model ← train ← bench, tune ← reports ← cli ←
 * main.ts`), a layer imports `data/` only for MRPC data, and a test that reaches past a face says
 * why in a comment on the line above.
 */
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";
import { REPO_ROOT } from "./_helpers.ts";

/** Layer of each top-level folder: a file may import only from its own or a lower layer. */
const LAYER: Readonly<Record<string, number>> = {
  core: 0,
  io: 1,
  hub: 1,
  backend: 1,
  data: 2,
  tracking: 2,
  model: 3,
  train: 4,
  bench: 5,
  tune: 5,
  reports: 6,
  cli: 7,
  "main.ts": 8,
  scripts: 9,
};

/** Folders that have no business with MRPC data (they import core/ for errors and the PRNG). */
const NOT_DATA = ["tune", "tracking", "reports", "io", "backend", "hub", "core"];

const IMPORT_RE = /^(?:import|export)[^;]*?from\s+"(\.{1,2}\/[^"]+)"/gms;

async function tsFiles(dir: string, skip: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    const rel = relative(REPO_ROOT, path);
    if (e.isDirectory) {
      if (!skip.includes(rel)) out.push(...await tsFiles(path, skip));
    } else if (e.name.endsWith(".ts")) {
      out.push(rel);
    }
  }
  return out;
}

function sourceFiles(): Promise<string[]> {
  return tsFiles(REPO_ROOT, ["tests", "node_modules", "dist", ".git", "docs"]);
}

function topOf(rel: string): string {
  return rel.includes("/") ? rel.split("/")[0] : rel;
}

/** Each import of `file` as [its target relative to the root, the text before it]. */
async function importsOf(file: string): Promise<[string, string][]> {
  const text = await Deno.readTextFile(join(REPO_ROOT, file));
  return [...text.matchAll(IMPORT_RE)].map((m) => [
    normalize(join(dirname(file), m[1])),
    text.slice(0, m.index),
  ]);
}

Deno.test("layout: cross-folder imports go through mod.ts and flow one way", async () => {
  const files = await sourceFiles();
  assert.ok(files.includes("main.ts") && files.some((f) => f.startsWith("core/")));
  const problems: string[] = [];
  for (const file of files) {
    const top = topOf(file);
    assert.ok(top in LAYER, `"${file}" is in a folder the layout does not name`);
    for (const [target] of await importsOf(file)) {
      if (!target.endsWith(".ts")) continue; // deno.json: the version
      const targetTop = topOf(target);
      if (targetTop !== top) {
        if (!target.endsWith("/mod.ts")) problems.push(`${file} imports ${target}, not its mod.ts`);
        if (LAYER[targetTop] > LAYER[top]) problems.push(`${file} imports upward: ${target}`);
        if (targetTop === "data" && NOT_DATA.includes(top)) {
          problems.push(`${file} imports data/, which only MRPC code may: ${target}`);
        }
        continue;
      }
      // Inside a folder: a nested folder (tune/samplers/) is entered through its own mod.ts.
      const targetDir = dirname(target);
      const fileDir = dirname(file);
      const entersNested = targetDir !== fileDir && !fileDir.startsWith(targetDir + "/") &&
        targetDir !== top;
      if (entersNested && !target.endsWith("/mod.ts")) {
        problems.push(`${file} imports ${target}, not ${targetDir}/mod.ts`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

Deno.test("layout: faces name what they export", async () => {
  const faces = (await sourceFiles()).filter((f) => f.endsWith("/mod.ts"));
  assert.ok(faces.length >= 12, `faces: ${faces.join(", ")}`);
  const star = [];
  for (const face of faces) {
    const text = await Deno.readTextFile(join(REPO_ROOT, face));
    if (/^export \*/m.test(text)) star.push(face);
  }
  assert.deepEqual(star, [], "these faces re-export whole files (export *)");
});

Deno.test("layout: a test that reaches past a face says why on the line above", async () => {
  const tests = await tsFiles(join(REPO_ROOT, "tests"), ["tests/testdata"]);
  const unexplained: string[] = [];
  for (const file of tests) {
    for (const [target, before] of await importsOf(file)) {
      const top = topOf(target);
      if (!(top in LAYER) || top === "scripts" || top === "main.ts") continue; // scripts: no face
      if (target.endsWith("/mod.ts")) continue;
      const above = before.trimEnd().split("\n").at(-1)?.trimStart() ?? "";
      if (!above.startsWith("//")) unexplained.push(`${file} → ${target}`);
    }
  }
  assert.deepEqual(unexplained, []);
});
