/**
 * Checking, before any work, that a folder the user named can be written: it is (or can become)
 * a folder, the file system takes writes, and there is room for at least a little. Anything else
 * is one `InputError` naming the flag, the path and the cause (exit 2), and nothing is left
 * behind.
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { InputError, osCause } from "../core/mod.ts";
import { exists } from "./atomic_fs.ts";

/** Bytes the probe writes: a disk that cannot take this cannot take a checkpoint either. */
const PROBE_BYTES = 64 * 1024;

/** The folders from `dir` up that do not exist yet, deepest first. */
async function missingFolders(dir: string): Promise<string[]> {
  const missing: string[] = [];
  for (let d = resolve(dir); !(await exists(d)); d = dirname(d)) {
    missing.push(d);
    if (dirname(d) === d) break;
  }
  return missing;
}

/**
 * Checks that `dir` is a folder this process can create and write in (see module docs); `what`
 * names it in the error (`--checkpoint_dir`). Returns a function that removes the folders this
 * made, if they are still empty (for a command that fails before it writes anything).
 */
export async function checkWritableDir(
  dir: string,
  options: { what: string },
): Promise<() => Promise<void>> {
  const stat = await Deno.stat(dir).catch(() => null);
  if (stat && !stat.isDirectory) {
    throw new InputError(`Invalid ${options.what} "${dir}": it is a file, not a folder`);
  }
  const made = await missingFolders(dir);
  const undo = async () => {
    for (const d of made) await Deno.remove(d).catch(() => {}); // only while empty
  };
  const probe = join(dir, `.write-test-${Deno.pid}`);
  try {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeFile(probe, new Uint8Array(PROBE_BYTES));
    await Deno.remove(probe);
  } catch (err) {
    await Deno.remove(probe).catch(() => {});
    await undo();
    const why = err instanceof Deno.errors.NotADirectory
      ? "a part of the path is a file"
      : osCause(err) ?? (err as Error).message;
    throw new InputError(`Cannot write into ${options.what} "${dir}": ${why}`);
  }
  return undo;
}
