/**
 * Locates the workplace's ../shared folder (real MRPC data, tokenizer, reference fixtures).
 * A user's fresh clone has none: tests that need it are ignored with a printed reason.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Absolute path of the repository root (with a trailing separator). */
export const REPO_ROOT: string = ROOT;

/** Absolute path of ../shared, or null when it is absent. */
export const SHARED_DIR: string | null = (() => {
  const dir = join(ROOT, "..", "shared");
  return existsSync(join(dir, "README.md")) ? dir : null;
})();

/**
 * Returns the `ignore` flag for a test needing `relPath` under ../shared, printing the reason
 * when it is missing so that a skip is never silent.
 */
export function needsShared(relPath: string, testName: string): boolean {
  if (SHARED_DIR && existsSync(join(SHARED_DIR, relPath))) return false;
  console.log(`SKIP "${testName}": ../shared/${relPath} is absent (fresh clone without ../shared)`);
  return true;
}

/** Path under ../shared (only valid when `needsShared` returned false). */
export function sharedPath(...parts: string[]): string {
  return join(SHARED_DIR ?? "/nonexistent-shared", ...parts);
}
