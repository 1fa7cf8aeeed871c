/**
 * Builds `backend/tfjs/`: the TensorFlow.js mrpc-tune runs, as files of its own, so that the
 * program (and `deno compile`'s npm snapshot) carries no tfjs package. From the versions pinned
 * in deno.json, with the pinned `npm:esbuild-wasm`:
 *
 * - `tfjs.js`: one ES module bundling `@tensorflow/tfjs-core` (exported as `tf`), tfjs-core's own
 *   gradient functions (its CommonJS entry registers none; only the `@tensorflow/tfjs` umbrella
 *   does, which would bring layers, the converter, tf.data and WebGL), the cpu backend, and the
 *   wasm backend (exported as `tfWasm`, with `wasmWorkerContents`, the pthread worker script).
 *   The Emscripten loaders in it are CommonJS that read their `.wasm` with `require("fs")` from
 *   `__dirname`: a banner defines `require`, `__filename` and `__dirname` for the bundle's own
 *   folder.
 * - `tfjs.d.ts`: its types, taken from the same packages (a type-only dependency, which neither
 *   `deno run` nor `deno compile` loads).
 * - The wasm backend's three binaries (plain, SIMD, threaded SIMD), which the loaders read from
 *   beside the bundle, and its threaded-SIMD loader as a file of its own, which the pthread
 *   workers `require` (backend/wasm_threads.ts).
 *
 * The packages' npm folders (tfjs-core alone is 35 MiB: source maps, tests, browser bundles) are
 * about 65 MiB; these files are about 2.5 MiB. `LICENSES.txt` holds the licences of the bundled
 * packages (tfjs: Apache-2.0; `long`: Apache-2.0; `seedrandom`: MIT). With `--check` it writes
 * nothing and exits 1 when a committed file is not what the build gives.
 *
 *     deno task build:tfjs            # rebuild backend/tfjs/
 *     deno task build:tfjs --check    # are the committed files the build's?
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import * as esbuild from "esbuild-wasm";
import { denoInfo, reachablePackages } from "./stage_program.ts";

const ROOT = fromFileUrl(new URL("..", import.meta.url));
/** The folder the build writes, relative to the repository. */
export const TFJS_DIR = "backend/tfjs";

const PACKAGES = [
  "@tensorflow/tfjs-core",
  "@tensorflow/tfjs-backend-cpu",
  "@tensorflow/tfjs-backend-wasm",
] as const;

const ENTRY = `export * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-core/dist/register_all_gradients";
import "@tensorflow/tfjs-backend-cpu";
export * as tfWasm from "@tensorflow/tfjs-backend-wasm";
export { wasmWorkerContents } from "@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js";
`;

const BANNER = `import { createRequire as __createRequire } from "node:module";
import { dirname as __pathDirname } from "node:path";
import { fileURLToPath as __fileURLToPath } from "node:url";
const require = __createRequire(import.meta.url);
const __filename = __fileURLToPath(import.meta.url);
const __dirname = __pathDirname(__filename);`;

const TYPES = `export * as tf from "@tensorflow/tfjs-core";
export * as tfWasm from "@tensorflow/tfjs-backend-wasm";
/** The script tfjs runs in each pthread worker of the threaded-SIMD wasm module. */
export declare const wasmWorkerContents: string;
`;

/** Files the wasm backend reads at run time, copied from its package (path there → name here). */
const WASM_FILES: Record<string, string> = {
  "dist/tfjs-backend-wasm.wasm": "tfjs-backend-wasm.wasm",
  "dist/tfjs-backend-wasm-simd.wasm": "tfjs-backend-wasm-simd.wasm",
  "dist/tfjs-backend-wasm-threaded-simd.wasm": "tfjs-backend-wasm-threaded-simd.wasm",
  "wasm-out/tfjs-backend-wasm-threaded-simd.js": "tfjs-backend-wasm-threaded-simd.cjs",
};

/** The files `deno compile` must embed beside the bundle (read with `fs`, not imported). */
export const TFJS_RUNTIME_FILES: readonly string[] = Object.values(WASM_FILES).map((f) =>
  `${TFJS_DIR}/${f}`
);

/** The pinned packages and everything they depend on: name → its folder in Deno's npm cache. */
async function packageFolders(): Promise<Map<string, string>> {
  const entry = await Deno.makeTempFile({ prefix: "mrpc-tune-tfjs-", suffix: ".ts" });
  try {
    await Deno.writeTextFile(entry, PACKAGES.map((p) => `import "${p}";\n`).join(""));
    const graph = await denoInfo(entry);
    const folders = new Map<string, string>();
    for (const id of reachablePackages(graph)) {
      const { name, localPath } = graph.npmPackages[id];
      const other = folders.get(name);
      if (other !== undefined && other !== localPath) {
        throw new Error(`Two versions of "${name}" in tfjs's dependencies: ${other}, ${localPath}`);
      }
      folders.set(name, localPath);
    }
    return folders;
  } finally {
    await Deno.remove(entry);
  }
}

/** The folder's files, by name (the same for the same packages and esbuild, wherever the cache is). */
export async function buildTfjs(): Promise<Map<string, Uint8Array>> {
  const folders = await packageFolders();
  // A flat node_modules of links for esbuild; with symlinks preserved, the paths it writes into
  // the bundle's comments are the packages' own (`@tensorflow/tfjs-core/dist/…`).
  const modules = await Deno.makeTempDir({ prefix: "mrpc-tune-tfjs-" });
  const versions: string[] = [];
  try {
    for (const [name, path] of folders) {
      await Deno.mkdir(dirname(join(modules, name)), { recursive: true });
      await Deno.symlink(path, join(modules, name));
    }
    for (const p of PACKAGES) {
      const pkg = JSON.parse(await Deno.readTextFile(join(folders.get(p)!, "package.json")));
      versions.push(`${p} ${pkg.version}`);
    }
    const result = await esbuild.build({
      stdin: { contents: ENTRY, resolveDir: modules, sourcefile: "backend/tfjs/tfjs.js" },
      absWorkingDir: modules,
      nodePaths: [modules],
      preserveSymlinks: true,
      bundle: true,
      format: "esm",
      platform: "node",
      mainFields: ["module", "main"],
      // tfjs-core's Node platform requires it only where there is no global fetch (Deno has one).
      external: ["node-fetch"],
      banner: { js: BANNER },
      legalComments: "none", // LICENSES.txt holds them
      metafile: true,
      write: false,
      logLevel: "error",
    }).finally(() => esbuild.stop());
    const header = `// Generated by \`deno task build:tfjs\` (scripts/build_tfjs.ts) from\n` +
      versions.map((v) => `// ${v}\n`).join("") +
      `// (licences: LICENSES.txt beside this file). Do not edit.\n`;
    const text = new TextEncoder();
    const files = new Map<string, Uint8Array>([
      ["tfjs.js", text.encode(header + "// deno-lint-ignore-file\n" + result.outputFiles[0].text)],
      ["tfjs.d.ts", text.encode(header + TYPES)],
    ]);
    files.set(
      "LICENSES.txt",
      text.encode(await licences(Object.keys(result.metafile.inputs), modules, folders)),
    );
    const wasm = folders.get("@tensorflow/tfjs-backend-wasm")!;
    for (const [from, to] of Object.entries(WASM_FILES)) {
      files.set(to, await Deno.readFile(join(wasm, from)));
    }
    return files;
  } finally {
    await Deno.remove(modules, { recursive: true });
  }
}

/** The comment a source file opens with (`//` lines or one block), trimmed. */
function leadingComment(source: string): string {
  return /^(?:\s*(?:\/\/[^\n]*\n|\/\*[\s\S]*?\*\/))+/.exec(source)?.[0].trim() ?? "";
}

/**
 * The licences of the `packages` whose files the bundle holds (`inputs`: esbuild's paths,
 * relative to `modules`): for each, its name, version and licence, then its LICENSE file, or where it
 * ships none, the distinct copyright comments its bundled files open with.
 */
async function licences(
  inputs: string[],
  modules: string,
  packages: ReadonlyMap<string, string>,
): Promise<string> {
  const byPackage = new Map<string, string[]>();
  for (const input of inputs) {
    const parts = input.split("/");
    const name = parts[0].startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0];
    if (!packages.has(name)) continue; // the entry itself
    byPackage.set(name, [...byPackage.get(name) ?? [], input]);
  }
  const sections: string[] = [
    "Licences of the packages bundled into tfjs.js (and of the wasm files beside it, from\n" +
    "@tensorflow/tfjs-backend-wasm). Generated by `deno task build:tfjs`.",
  ];
  for (const name of [...byPackage.keys()].sort()) {
    const folder = join(modules, name);
    const pkg = JSON.parse(await Deno.readTextFile(join(folder, "package.json")));
    const notices: string[] = [];
    for (const file of ["LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "COPYING"]) {
      const text = await Deno.readTextFile(join(folder, file)).catch(() => null);
      if (text !== null) notices.push(text.trim());
    }
    if (notices.length === 0) {
      for (const input of byPackage.get(name)!.sort()) {
        const comment = leadingComment(await Deno.readTextFile(join(modules, input)));
        if (/copyright/i.test(comment) && !notices.includes(comment)) notices.push(comment);
      }
    }
    sections.push(`${name} ${pkg.version} (${pkg.license})\n\n${notices.join("\n\n")}`);
  }
  return sections.join(`\n\n${"=".repeat(78)}\n\n`) + "\n";
}

/** Names of the files in `backend/tfjs/` that differ from `built` (or are missing, or extra). */
export async function staleFiles(built: Map<string, Uint8Array>): Promise<string[]> {
  const dir = join(ROOT, TFJS_DIR);
  const present = await Array.fromAsync(Deno.readDir(dir)).then(
    (entries) => entries.map((e) => e.name),
    () => [] as string[],
  );
  const stale = present.filter((name) => !built.has(name));
  for (const [name, bytes] of built) {
    const committed = await Deno.readFile(join(dir, name)).catch(() => null);
    const same = committed !== null && committed.length === bytes.length &&
      committed.every((b, i) => b === bytes[i]);
    if (!same) stale.push(name);
  }
  return stale.sort();
}

if (import.meta.main) {
  const built = await buildTfjs();
  const size = [...built.values()].reduce((s, b) => s + b.length, 0);
  if (Deno.args.includes("--check")) {
    const stale = await staleFiles(built);
    console.log(
      stale.length === 0
        ? `${TFJS_DIR}/ is the build of the pinned tfjs packages (${built.size} files, ${size} bytes)`
        : `${TFJS_DIR}/ differs from a fresh build (${stale.join(", ")}): run deno task build:tfjs`,
    );
    Deno.exit(stale.length === 0 ? 0 : 1);
  }
  const dir = join(ROOT, TFJS_DIR);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  for (const [name, bytes] of built) await Deno.writeFile(join(dir, name), bytes);
  console.log(`${TFJS_DIR}/: ${built.size} files, ${size} bytes`);
}
