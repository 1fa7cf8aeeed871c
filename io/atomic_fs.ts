/**
 * Crash-safe file and directory writes: data goes to a temporary sibling, is fsynced, then
 * renamed into place, so a reader (or a resumed run) never sees a half-written file or folder.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { fileError } from "../core/mod.ts";

async function fsyncPath(path: string): Promise<void> {
  try {
    const f = await Deno.open(path, { read: true });
    try {
      await f.sync();
    } finally {
      f.close();
    }
  } catch (err) {
    // Some filesystems refuse fsync on directories; file data was already synced.
    if (!(err instanceof Deno.errors.PermissionDenied || err instanceof Deno.errors.NotSupported)) {
      throw err;
    }
  }
}

/**
 * Writes `data` to `path` through `path.tmp-<pid>`, fsync and rename. A failure (a full disk, a
 * read-only file system) leaves `path` as it was, no temporary, and is one line naming the path
 * and the cause (a `RunError`).
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp-${Deno.pid}`;
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  try {
    const f = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      let off = 0;
      while (off < bytes.length) off += await f.write(bytes.subarray(off));
      await f.sync();
    } finally {
      f.close();
    }
    await Deno.rename(tmp, path);
    await fsyncPath(dirname(path));
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw fileError("write", path, err);
  }
}

/** Writes `value` as pretty JSON (with a trailing newline) atomically. */
export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

/**
 * Builds a directory atomically: `fill(tmpDir)` writes its files into a temporary sibling of
 * `finalDir` (`.<name>.tmp-<pid>`); then every file and the folder are fsynced and the folder is
 * renamed to `finalDir`. An existing `finalDir` is replaced only after the new one is complete.
 * A failed fill leaves nothing behind; an OS failure is one line naming the folder (or the file
 * inside it) and the cause (a `RunError`).
 */
export async function writeDirAtomic(
  finalDir: string,
  fill: (tmpDir: string) => Promise<void>,
): Promise<void> {
  const parent = dirname(finalDir);
  const tmp = join(parent, `.${basename(finalDir)}.tmp-${Deno.pid}`);
  try {
    await Deno.mkdir(parent, { recursive: true });
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    await Deno.mkdir(tmp);
    await fill(tmp);
    for await (const entry of Deno.readDir(tmp)) {
      if (entry.isFile) await fsyncPath(join(tmp, entry.name));
    }
    await fsyncPath(tmp);
    let old: string | null = null;
    if (await exists(finalDir)) {
      old = join(parent, `.${basename(finalDir)}.old-${Deno.pid}`);
      await Deno.remove(old, { recursive: true }).catch(() => {});
      await Deno.rename(finalDir, old);
    }
    await Deno.rename(tmp, finalDir);
    await fsyncPath(parent);
    if (old) await Deno.remove(old, { recursive: true });
  } catch (err) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw fileError("write", finalDir, err);
  }
}

/** True when `path` exists (file or directory). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    // A path under a file ("a/file/x") does not exist either.
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
      return false;
    }
    throw err;
  }
}
