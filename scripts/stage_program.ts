/**
 * Stages the program as a folder that holds only what the compiled binary embeds: Deno itself,
 * the module graph of `main.ts` and of the files `deno task compile` includes (read from that
 * task, with its permissions), deno.json and deno.lock, and the npm packages of that graph (the
 * compiled binary's npm snapshot) — no other source, no `node_modules`, no network. Its
 * `mrpc-tune` launcher runs the program from there. It is the form of the program that can be
 * built here, where `deno compile` cannot fetch its runtime: running it from an empty folder
 * proves the graph `deno compile` would embed is complete; the container test puts it in the
 * image in place of the binary.
 *
 *     deno run -A scripts/stage_program.ts OUT_DIR
 *
 * @module
 */
import { dirname, join, relative } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { writeBuildInfo } from "./build_info.ts";

const ROOT = fromFileUrl(new URL("..", import.meta.url));

interface DenoInfo {
  modules: { specifier: string; kind?: string }[];
  npmPackages: Record<string, { name: string; localPath: string }>;
}

/** The compile task's permission flags and `--include` files. */
export async function compileTask(): Promise<{ permissions: string[]; includes: string[] }> {
  const json = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const task: string = json.tasks.compile;
  const compile = task.slice(task.indexOf("deno compile"));
  const words = compile.split(/\s+/);
  const permissions = words.filter((w) => /^--allow-/.test(w));
  const includes = words.flatMap((w, i) => w === "--include" ? [words[i + 1]] : []);
  return { permissions, includes };
}

async function info(entry: string): Promise<DenoInfo> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--config", join(ROOT, "deno.json"), entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`deno info ${entry}: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

async function copyFile(from: string, to: string): Promise<void> {
  await Deno.mkdir(dirname(to), { recursive: true });
  await Deno.copyFile(from, to);
}

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyTree(join(from, e.name), join(to, e.name));
    else if (e.isFile) await Deno.copyFile(join(from, e.name), join(to, e.name));
    else if (e.isSymlink) {
      await Deno.symlink(await Deno.readLink(join(from, e.name)), join(to, e.name));
    }
  }
}

/** Stages the program into `out` (see module docs); returns the launcher's path. */
export async function stageProgram(out: string): Promise<string> {
  await writeBuildInfo(); // as the compile task does first
  const { permissions, includes } = await compileTask();
  const entries = ["main.ts", ...includes.filter((f) => f.endsWith(".ts"))];
  const files = new Set<string>([
    "deno.json",
    "deno.lock",
    ...includes.filter((f) => !f.endsWith(".ts")),
  ]);
  const packages = new Map<string, { name: string; localPath: string }>();
  for (const entry of entries) {
    const graph = await info(entry);
    for (const m of graph.modules) {
      if (m.specifier.startsWith("file://")) files.add(relative(ROOT, fromFileUrl(m.specifier)));
    }
    for (const [id, p] of Object.entries(graph.npmPackages)) packages.set(id, p);
  }
  const app = join(out, "app");
  for (const f of files) await copyFile(join(ROOT, f), join(app, f));
  const npm = join(out, "deno_dir", "npm", "registry.npmjs.org");
  for (const p of packages.values()) {
    const version = p.localPath.split(/[/\\]/).at(-1)!;
    await copyTree(p.localPath, join(npm, p.name, version));
    const registry = join(dirname(p.localPath), "registry.json");
    await Deno.stat(registry).then(
      () => copyFile(registry, join(npm, p.name, "registry.json")),
      () => {},
    );
  }
  await copyFile(Deno.execPath(), join(out, "bin", "deno"));
  await Deno.chmod(join(out, "bin", "deno"), 0o755);
  const launcher = join(out, "mrpc-tune");
  await Deno.writeTextFile(
    launcher,
    `#!/bin/sh
# mrpc-tune, staged: Deno, the program's module graph and its npm packages (see
# scripts/stage_program.ts); the permissions are deno task compile's.
here=$(dirname "$(readlink -f "$0")")
export DENO_DIR="$here/deno_dir" DENO_NO_UPDATE_CHECK=1 DENO_NO_PROMPT=1
exec "$here/bin/deno" run --cached-only --quiet --config "$here/app/deno.json" \\
  ${permissions.join(" ")} "$here/app/main.ts" "$@"
`,
  );
  await Deno.chmod(launcher, 0o755);
  // Transpile once now, so that a read-only copy (the image) has nothing left to write.
  const warm = await new Deno.Command(launcher, {
    args: ["--version"],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!warm.success) {
    throw new Error(`The staged program does not start: ${new TextDecoder().decode(warm.stderr)}`);
  }
  console.error(`Staged ${files.size} files and ${packages.size} npm packages in ${out}`);
  return launcher;
}

if (import.meta.main) {
  if (Deno.args.length !== 1) {
    console.error("usage: deno run -A scripts/stage_program.ts OUT_DIR");
    Deno.exit(2);
  }
  await stageProgram(Deno.args[0]);
}
