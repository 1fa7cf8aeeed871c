/**
 * Stages the program as a folder that holds only what the compiled binary embeds: Deno itself,
 * the module graph of `main.ts` and of the files `deno task compile` includes (read from that
 * task, with its permissions), deno.json and deno.lock, and the npm packages that graph reaches
 * (what `deno compile --exclude-unused-npm` embeds as its npm snapshot; not the test-only,
 * script-only or optional native packages of the lockfile) — no other source, no
 * `node_modules`, no network. Its
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

/** What `deno info --json` says of a module graph (the fields read here). */
export interface DenoInfo {
  roots?: string[];
  redirects?: Record<string, string>;
  modules: {
    specifier: string;
    kind?: string;
    npmPackage?: string;
    dependencies?: { code?: { specifier: string } }[];
  }[];
  npmPackages: Record<string, { name: string; localPath: string; dependencies?: string[] }>;
}

/**
 * The modules the graph runs: walking from the roots along code imports only (a type-only
 * import, such as the tfjs packages `backend/tfjs/tfjs.d.ts` names, is neither run nor embedded
 * by `deno compile`).
 */
export function codeModules(graph: DenoInfo): Set<string> {
  const redirects = graph.redirects ?? {};
  const bySpecifier = new Map(graph.modules.map((m) => [m.specifier, m]));
  const modules = new Set<string>();
  const walk = [...graph.roots ?? graph.modules.map((m) => m.specifier)];
  while (walk.length > 0) {
    const specifier = walk.pop()!;
    const resolved = redirects[specifier] ?? specifier;
    if (modules.has(resolved)) continue;
    modules.add(resolved);
    for (const d of bySpecifier.get(resolved)?.dependencies ?? []) {
      if (d.code) walk.push(d.code.specifier);
    }
  }
  return modules;
}

/**
 * The npm packages the module graph runs: the packages of its code modules (`codeModules`), and
 * their dependencies, transitively. (`deno info`'s `npmPackages` is the whole resolution
 * snapshot, the test-only and script-only packages and the optional native ones included.)
 */
export function reachablePackages(graph: DenoInfo): Set<string> {
  const run = codeModules(graph);
  const todo = graph.modules.flatMap((m) =>
    m.kind === "npm" && m.npmPackage && run.has(m.specifier) ? [m.npmPackage] : []
  );
  const seen = new Set<string>();
  while (todo.length > 0) {
    const id = todo.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    todo.push(...(graph.npmPackages[id]?.dependencies ?? []));
  }
  return seen;
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

/** `deno info --json` of `entry` with the repository's config. */
export async function denoInfo(entry: string): Promise<DenoInfo> {
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

interface DenoLock {
  specifiers: Record<string, string>;
  npm: Record<string, unknown>;
  workspace?: { dependencies?: string[] };
}

/**
 * deno.json's imports and deno.lock's npm entries cut down to the packages in `keep` (package
 * ids as `deno info` names them: `name@version[_peer…]`); everything else stays as it is.
 */
export function prunedToPackages(
  config: { imports?: Record<string, string> },
  lock: DenoLock,
  keep: ReadonlySet<string>,
): { config: { imports?: Record<string, string> }; lock: DenoLock } {
  const kept = (specifier: string) => {
    const resolved = lock.specifiers[specifier];
    if (!specifier.startsWith("npm:") || resolved === undefined) return true;
    const name = specifier.slice(4, specifier.lastIndexOf("@"));
    return keep.has(`${name}@${resolved}`);
  };
  const imports = Object.fromEntries(
    Object.entries(config.imports ?? {}).filter(([, target]) => kept(target)),
  );
  return {
    config: { ...config, imports },
    lock: {
      ...lock,
      specifiers: Object.fromEntries(Object.entries(lock.specifiers).filter(([k]) => kept(k))),
      npm: Object.fromEntries(Object.entries(lock.npm).filter(([id]) => keep.has(id))),
      ...(lock.workspace
        ? {
          workspace: {
            ...lock.workspace,
            dependencies: (lock.workspace.dependencies ?? []).filter(kept),
          },
        }
        : {}),
    },
  };
}

/**
 * The npm package names in `deno compile`'s "Embedded Files" tree (its printout, colours
 * stripped): the entries under `.deno_compile_node_modules/localhost`, a scope's entries joined to
 * it (`@redis` + `bloom/*`), versions dropped (`vega/6.4.0/*`, or a name whose children are
 * versions).
 */
export function embeddedPackages(tree: string): Set<string> {
  const names = new Set<string>();
  // deno-lint-ignore no-control-regex -- the terminal colour codes compile prints
  const lines = tree.replace(/\x1b\[[0-9;]*m/g, "").split("\n");
  const start = lines.findIndex((l) => /localhost \(/.test(l));
  if (start < 0) return names;
  const depthOf = (l: string) => (l.match(/^[│ ]*/)![0].length - 4) / 2;
  let group: string | null = null;
  for (const line of lines.slice(start + 1)) {
    const m = /^([│ ]*)[├└]─[─┬] (\S+)/.exec(line);
    if (!m) continue;
    const depth = depthOf(line);
    if (depth < 0) break; // past the npm folder
    const entry = m[2].replace(/\/\*$/, "");
    if (depth === 0) {
      const branch = line.includes("─┬ ");
      group = branch ? entry : null;
      if (!branch) names.add(entry.replace(/\/\d[^/]*$/, ""));
    } else if (depth === 1 && group !== null) {
      names.add(group.startsWith("@") ? `${group}/${entry.replace(/\/\d[^/]*$/, "")}` : group);
    }
  }
  return names;
}

/** Stages the program into `out` (see module docs); returns the launcher's path. */
export async function stageProgram(out: string): Promise<string> {
  await writeBuildInfo(); // as the compile task does first
  const { permissions, includes } = await compileTask();
  const entries = ["main.ts", ...includes.filter((f) => f.endsWith(".ts"))];
  const files = new Set<string>(includes.filter((f) => !f.endsWith(".ts")));
  const packages = new Map<string, { name: string; localPath: string }>();
  for (const entry of entries) {
    const graph = await denoInfo(entry);
    for (const specifier of codeModules(graph)) {
      if (specifier.startsWith("file://")) files.add(relative(ROOT, fromFileUrl(specifier)));
    }
    for (const id of reachablePackages(graph)) packages.set(id, graph.npmPackages[id]);
  }
  const app = join(out, "app");
  for (const f of files) await copyFile(join(ROOT, f), join(app, f));
  // deno.json and deno.lock naming only the staged packages (Deno installs every package of the
  // lockfile's snapshot before it runs anything).
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const lock = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.lock")));
  const pruned = prunedToPackages(config, lock, new Set(packages.keys()));
  await Deno.writeTextFile(join(app, "deno.json"), JSON.stringify(pruned.config, null, 2) + "\n");
  await Deno.writeTextFile(join(app, "deno.lock"), JSON.stringify(pruned.lock, null, 2) + "\n");
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
