/**
 * deno.lock holds exactly what deno.json's imports need: one specifier per npm import, and only
 * the npm packages those specifiers reach through their dependencies (a package that nothing
 * imports any more, such as a dropped SDK and what only it pulled in, must not linger there).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT } from "../_helpers.ts";

interface NpmEntry {
  dependencies?: string[];
  optionalDependencies?: string[];
}

interface Lock {
  specifiers: Record<string, string>;
  npm: Record<string, NpmEntry>;
  workspace: { dependencies: string[] };
}

/** The lock key a dependency reference names: `name`, `name@version` or `name@version_peers`. */
function resolveRef(ref: string, keys: readonly string[]): string {
  const versioned = ref.indexOf("@", 1) > 0;
  const hits = keys.filter((k) =>
    versioned ? k === ref || k.startsWith(`${ref}_`) : k.startsWith(`${ref}@`)
  );
  assert.equal(hits.length, 1, `deno.lock: "${ref}" names ${hits.length} packages`);
  return hits[0];
}

Deno.test("deno.lock: only the packages deno.json's imports reach", async () => {
  const config = JSON.parse(await Deno.readTextFile(join(REPO_ROOT, "deno.json")));
  const lock: Lock = JSON.parse(await Deno.readTextFile(join(REPO_ROOT, "deno.lock")));
  const imports = Object.values(config.imports as Record<string, string>)
    .filter((s) => s.startsWith("npm:")).sort();
  assert.deepEqual(Object.keys(lock.specifiers).sort(), imports, "specifiers");
  assert.deepEqual([...lock.workspace.dependencies].sort(), imports, "workspace dependencies");
  const keys = Object.keys(lock.npm);
  const reached = new Set<string>();
  const todo = Object.entries(lock.specifiers).map(([spec, version]) =>
    `${spec.slice(4, spec.lastIndexOf("@"))}@${version}`
  );
  for (let key = todo.pop(); key !== undefined; key = todo.pop()) {
    if (reached.has(key)) continue;
    assert.ok(lock.npm[key], `deno.lock: "${key}" is referenced but has no entry`);
    reached.add(key);
    const entry = lock.npm[key];
    for (const ref of [...entry.dependencies ?? [], ...entry.optionalDependencies ?? []]) {
      todo.push(resolveRef(ref, keys));
    }
  }
  assert.deepEqual(keys.filter((k) => !reached.has(k)), [], "packages nothing reaches");
});
