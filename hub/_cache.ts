/**
 * The on-disk layout of the Hugging Face Hub cache, identical to Python `huggingface_hub`'s so an
 * existing cache is reused both ways:
 *
 * ```
 * <cache>/datasets--nyu-mll--glue/
 *   refs/main                                   the commit hash "main" pointed to
 *   blobs/<etag>                                file content, named by its (LFS sha256) ETag
 *   snapshots/<commit>/mrpc/train-...parquet    relative symlink to ../../../blobs/<etag>
 * <cache>/.locks/datasets--nyu-mll--glue/<etag>.lock
 * ```
 *
 * Also the validation that keeps remote names from escaping the cache directory.
 *
 * @module
 */
import { HubReplyError } from "./_errors.ts";
import { InputError } from "../core/mod.ts";
import { dirname, join, relative } from "node:path";

/** Which kind of Hub repository a file lives in. */
export type RepoType = "model" | "dataset";

const REPO_ID = /^(?:[A-Za-z0-9_.-]+\/)?[A-Za-z0-9_.-]+$/;
const SAFE_SEGMENT = /^[A-Za-z0-9_.-]+$/;

/** `"dataset" "nyu-mll/glue"`: the repository as error messages name it. */
export function describeRepo(repoType: RepoType, repoId: string): string {
  return `${repoType} ${JSON.stringify(repoId)}`;
}

/** Whether `repoId` is `name` or `owner/name` as the Hub allows them. */
export function isRepoId(repoId: string): boolean {
  return !(repoId.length > 96 || !REPO_ID.test(repoId) || repoId.includes("--") ||
    repoId.includes("..") || repoId.split("/").some((part) => /^[.-]|[.-]$/.test(part)));
}

/** Throws an InputError unless `repoId` is `name` or `owner/name` as the Hub allows them. */
export function checkRepoId(repoType: RepoType, repoId: string): void {
  if (!isRepoId(repoId)) {
    throw new InputError(
      `Invalid ${repoType} id ${JSON.stringify(repoId)}: expected "name" or "owner/name" ` +
        `of letters, digits, "-", "_" and "."`,
    );
  }
}

/**
 * Throws an InputError unless `name` (a file name or a revision such as `refs/pr/1`) is a plain
 * relative path: no empty, "." or ".." segments, no leading "/", no drive letter, no backslash,
 * no NUL or other control character. Such names are joined onto cache paths, so anything else
 * could write outside the cache.
 */
export function checkRelativeName(what: "file name" | "revision", name: string): void {
  const hasControl = [...name].some((ch) => ch.charCodeAt(0) < 0x20 || ch === "\x7f");
  const bad = name === "" || hasControl || name.includes("\\") || name.startsWith("/") ||
    /^[A-Za-z]:/.test(name) ||
    name.split("/").some((seg) => seg === "" || seg === "." || seg === "..");
  if (bad) {
    throw new InputError(
      `Invalid ${what} ${JSON.stringify(name)}: expected a relative path without empty, "." or ` +
        `".." segments, backslashes or control characters`,
    );
  }
}

/**
 * Throws unless a value the server sent (a commit hash, an ETag) is safe as one path segment.
 * A server that sends anything else is broken or hostile, so this is an Error, not an InputError.
 */
export function checkServerSegment(what: string, value: string, url: string): void {
  if (!SAFE_SEGMENT.test(value) || value === "." || value === ".." || value.length > 256) {
    throw new HubReplyError(`unsafe ${what} ${JSON.stringify(value)} in the reply from "${url}"`);
  }
}

/** `datasets--nyu-mll--glue`: the repository's folder name in the cache. */
export function repoFolderName(repoType: RepoType, repoId: string): string {
  return [`${repoType}s`, ...repoId.split("/")].join("--");
}

/** Paths of one repository inside the cache. */
export interface RepoCache {
  /** `<cache>/datasets--owner--name` */
  readonly root: string;
  /** `<cache>/.locks/datasets--owner--name` */
  readonly locks: string;
}

/** The cache folders of one repository (nothing is created). */
export function repoCache(cacheDir: string, repoType: RepoType, repoId: string): RepoCache {
  const folder = repoFolderName(repoType, repoId);
  return { root: join(cacheDir, folder), locks: join(cacheDir, ".locks", folder) };
}

/** `<repo>/snapshots/<commit>/<filename>` */
export function snapshotPath(repo: RepoCache, commit: string, filename: string): string {
  return join(repo.root, "snapshots", commit, ...filename.split("/"));
}

/** `<repo>/blobs/<etag>` */
export function blobPath(repo: RepoCache, etag: string): string {
  return join(repo.root, "blobs", etag);
}

/** True when `path` exists, following symlinks (a dangling snapshot link counts as absent). */
export async function fileExists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
      return false;
    }
    throw err;
  }
}

/** The commit hash recorded in `refs/<revision>`, or null when there is none. */
export async function readRef(repo: RepoCache, revision: string): Promise<string | null> {
  try {
    const commit = (await Deno.readTextFile(join(repo.root, "refs", revision))).trim();
    return SAFE_SEGMENT.test(commit) && commit !== "." && commit !== ".." ? commit : null;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
      return null;
    }
    throw err;
  }
}

/** Records `commit` in `refs/<revision>` (no trailing newline, as Python writes it). */
export async function writeRef(repo: RepoCache, revision: string, commit: string): Promise<void> {
  if ((await readRef(repo, revision)) === commit) return;
  const path = join(repo.root, "refs", revision);
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(tmp, commit);
  await Deno.rename(tmp, path);
}

/**
 * Points `snapshots/<commit>/<filename>` at the blob with a relative symlink (as Python does), or
 * with a copy where symlinks are not allowed. The link is made under a temporary name and renamed
 * into place, so a concurrent reader sees either no file or the whole one.
 */
export async function linkSnapshot(blob: string, pointer: string): Promise<void> {
  await Deno.mkdir(dirname(pointer), { recursive: true });
  const tmp = `${pointer}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.symlink(relative(dirname(pointer), blob), tmp);
  } catch (err) {
    if (!(err instanceof Deno.errors.PermissionDenied || err instanceof Deno.errors.NotSupported)) {
      throw err;
    }
    await Deno.copyFile(blob, tmp);
  }
  await Deno.rename(tmp, pointer);
}
