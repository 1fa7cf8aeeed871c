/**
 * A small Hugging Face Hub download client that shares Python `huggingface_hub`'s cache: a file
 * the Python library already fetched is reused, and what this client fetches Python reuses.
 *
 * Every download goes to `blobs/<etag>.incomplete`, is retried with backoff on 429/5xx and
 * dropped connections, resumes with `Range`, is checked for size and (LFS files) sha256, and only
 * then is renamed into place; a failed download leaves no partial file behind.
 *
 * @example
 * ```ts
 * const hub = hubOptionsFromEnv(Deno.env.toObject());
 * const path = await downloadFile("nyu-mll/glue", "mrpc/train-00000-of-00001.parquet", {
 *   hub,
 *   repoType: "dataset",
 * });
 * ```
 *
 * @module
 */
import { dirname, join } from "node:path";
import { InputError } from "./errors.ts";
import {
  blobPath,
  checkRelativeName,
  checkRepoId,
  checkServerSegment,
  describeRepo,
  fileExists,
  linkSnapshot,
  readRef,
  type RepoCache,
  repoCache,
  type RepoType,
  snapshotPath,
  writeRef,
} from "./_hub_cache.ts";
import { downloadBlob } from "./_download.ts";
import { fetchMetadata, type FileRef, type HubHttp } from "./_hub_http.ts";
import { DEFAULT_RETRY_POLICY, type RetryPolicy, withRetries } from "./_retry.ts";

export type { RepoType } from "./_hub_cache.ts";
export type { RetryPolicy } from "./_retry.ts";

/**
 * Where and how to reach the Hub. Build it with {@link hubOptionsFromEnv}; it holds the token, so
 * never log it or store it in a checkpoint.
 */
export interface HubOptions {
  /** Base URL of the Hub, without a trailing slash (HF_ENDPOINT). */
  readonly endpoint: string;
  /** Root of the hub cache (HF_HUB_CACHE, else $HF_HOME/hub). */
  readonly cacheDir: string;
  /** Never touch the network; serve from the cache or fail (HF_HUB_OFFLINE=1). */
  readonly offline: boolean;
  /** Bearer token (HF_TOKEN), sent to the endpoint's origin only. */
  readonly token?: string;
  /** Milliseconds a silent server is waited for (HF_HUB_DOWNLOAD_TIMEOUT; default 10 000). */
  readonly timeoutMs?: number;
  /** Retry policy overrides (tests shorten the backoff). */
  readonly retry?: Partial<RetryPolicy>;
}

/** What to download besides the repository and file name. */
export interface DownloadOptions {
  readonly hub: HubOptions;
  /** Default "model". */
  readonly repoType?: RepoType;
  /** Branch, tag or commit hash; default "main". */
  readonly revision?: string;
  /** Draw a progress bar on stderr when it is a terminal; default true. */
  readonly progress?: boolean;
}

/** The Hub's default endpoint. */
export const DEFAULT_HF_ENDPOINT = "https://huggingface.co";

const COMMIT_HASH = /^[0-9a-f]{40}$/;
const SHA256 = /^[0-9a-f]{64}$/;

function isTrue(value: string | undefined): boolean {
  return ["1", "ON", "YES", "TRUE"].includes((value ?? "").trim().toUpperCase());
}

/** The trimmed value of `name`, with unset and blank treated alike. */
function envValue(env: Record<string, string | undefined>, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

/** Expands a leading `~` as Python's `os.path.expanduser` does. */
function expandUser(path: string, variable: string, home: string | undefined): string {
  if (path !== "~" && !path.startsWith("~/")) return path;
  if (home === undefined) throw new InputError(`Cannot expand "~" in ${variable}: HOME is not set`);
  return join(home, path.slice(1));
}

/** HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/... */
function cacheDirFromEnv(env: Record<string, string | undefined>): string {
  const home = envValue(env, "HOME") ?? envValue(env, "USERPROFILE");
  const hubCache = envValue(env, "HF_HUB_CACHE");
  if (hubCache !== undefined) return expandUser(hubCache, "HF_HUB_CACHE", home);
  const hfHome = envValue(env, "HF_HOME");
  if (hfHome !== undefined) return join(expandUser(hfHome, "HF_HOME", home), "hub");
  const xdg = envValue(env, "XDG_CACHE_HOME");
  if (xdg !== undefined) return join(expandUser(xdg, "XDG_CACHE_HOME", home), "huggingface", "hub");
  if (home !== undefined) return join(home, ".cache", "huggingface", "hub");
  throw new InputError("Cannot locate the Hugging Face cache: set HF_HOME or HF_HUB_CACHE");
}

/** HF_ENDPOINT as an http(s) URL without a trailing slash. */
function endpointFromEnv(env: Record<string, string | undefined>): string {
  const text = envValue(env, "HF_ENDPOINT") ?? DEFAULT_HF_ENDPOINT;
  const url = URL.canParse(text) ? new URL(text) : null;
  if (url === null || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new InputError(`Invalid HF_ENDPOINT ${JSON.stringify(text)}: expected an http(s) URL`);
  }
  return url.href.replace(/\/+$/, "");
}

/**
 * Builds HubOptions from environment variables the way Python `huggingface_hub` reads them:
 * HF_ENDPOINT, HF_HUB_CACHE, HF_HOME, XDG_CACHE_HOME, HF_HUB_OFFLINE, HF_TOKEN and
 * HF_HUB_DOWNLOAD_TIMEOUT (seconds). Pure: pass `Deno.env.toObject()`. Throws InputError for an
 * invalid value.
 *
 * @example
 * ```ts
 * hubOptionsFromEnv({ HOME: "/home/ada", HF_HUB_OFFLINE: "1" });
 * // { endpoint: "https://huggingface.co", cacheDir: "/home/ada/.cache/huggingface/hub",
 * //   offline: true, timeoutMs: 10000 }
 * ```
 */
export function hubOptionsFromEnv(env: Record<string, string | undefined>): HubOptions {
  const timeoutText = envValue(env, "HF_HUB_DOWNLOAD_TIMEOUT");
  const timeoutSeconds = timeoutText === undefined ? 10 : Number(timeoutText);
  if (!(timeoutSeconds > 0)) {
    throw new InputError(
      `Invalid HF_HUB_DOWNLOAD_TIMEOUT ${JSON.stringify(timeoutText)}: expected seconds above 0`,
    );
  }
  const token = envValue(env, "HF_TOKEN");
  return Object.freeze({
    endpoint: endpointFromEnv(env),
    cacheDir: cacheDirFromEnv(env),
    offline: isTrue(env.HF_HUB_OFFLINE),
    timeoutMs: Math.round(timeoutSeconds * 1000),
    ...(token ? { token } : {}),
  });
}

/** The snapshot path of `filename` when the cache already resolves `revision` to it. */
async function findCached(
  repo: RepoCache,
  revision: string,
  filename: string,
): Promise<string | null> {
  const commit = COMMIT_HASH.test(revision) ? revision : await readRef(repo, revision);
  if (commit === null) return null;
  const pointer = snapshotPath(repo, commit, filename);
  return (await fileExists(pointer)) ? pointer : null;
}

function resolveUrl(
  endpoint: string,
  repoType: RepoType,
  repoId: string,
  revision: string,
  filename: string,
): string {
  const prefix = repoType === "dataset" ? "datasets/" : "";
  const path = filename.split("/").map(encodeURIComponent).join("/");
  return `${endpoint}/${prefix}${repoId}/resolve/${encodeURIComponent(revision)}/${path}`;
}

async function withFileLock<T>(path: string, body: () => Promise<T>): Promise<T> {
  await Deno.mkdir(dirname(path), { recursive: true });
  using lock = await Deno.open(path, { create: true, write: true });
  await lock.lock(true); // flock, as Python's filelock takes it: the two exclude each other.
  try {
    return await body();
  } finally {
    await lock.unlock();
  }
}

/**
 * Returns the local path of `filename` from Hub repository `repoId` at `revision`, downloading it
 * into the cache unless the cache already has it. A file whose revision the cache has already
 * resolved (`refs/<revision>`) is served without contacting the Hub; pin a commit hash to be
 * explicit. Names that could escape the cache (`..`, absolute paths, backslashes, NUL) are
 * rejected before any I/O. Offline, a missing file is an InputError naming it.
 */
export async function downloadFile(
  repoId: string,
  filename: string,
  options: DownloadOptions,
): Promise<string> {
  const repoType = options.repoType ?? "model";
  const revision = options.revision ?? "main";
  checkRepoId(repoType, repoId);
  checkRelativeName("file name", filename);
  checkRelativeName("revision", revision);
  const { hub } = options;
  const repo = repoCache(hub.cacheDir, repoType, repoId);
  const file: FileRef = {
    describe: `${JSON.stringify(filename)} of ${describeRepo(repoType, repoId)}`,
    revision,
  };

  const cached = await findCached(repo, revision, filename);
  if (cached !== null) return cached;
  if (hub.offline) {
    const at = revision === "main" ? "" : ` at revision ${JSON.stringify(revision)}`;
    throw new InputError(
      `Cannot find ${file.describe}${at} in the cache "${hub.cacheDir}" (HF_HUB_OFFLINE=1)`,
    );
  }

  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...hub.retry };
  const http: HubHttp = {
    endpointOrigin: new URL(hub.endpoint).origin,
    token: hub.token,
    timeoutMs: hub.timeoutMs ?? 10_000,
  };
  const url = resolveUrl(hub.endpoint, repoType, repoId, revision, filename);
  const meta = await withRetries(file.describe, policy, () => fetchMetadata(url, http, file));
  checkServerSegment("commit hash", meta.commit, url);
  checkServerSegment("ETag", meta.etag, url);
  if (revision !== meta.commit) await writeRef(repo, revision, meta.commit);

  const pointer = snapshotPath(repo, meta.commit, filename);
  if (await fileExists(pointer)) return pointer;
  const blob = blobPath(repo, meta.etag);
  await Deno.mkdir(dirname(blob), { recursive: true });
  await withFileLock(join(repo.locks, `${meta.etag}.lock`), async () => {
    if (await fileExists(pointer)) return; // Another caller finished it while we waited.
    if (!(await fileExists(blob))) {
      const temp = `${blob}.incomplete`;
      await downloadBlob(meta.downloadUrl, temp, {
        http,
        policy,
        file,
        label: filename.split("/").at(-1)!,
        size: meta.size,
        sha256: SHA256.test(meta.etag) ? meta.etag : null,
        progress: options.progress ?? true,
      });
      await Deno.rename(temp, blob);
    }
    await linkSnapshot(blob, pointer);
  });
  return pointer;
}

/** Downloads several files of one repository in order; returns their local paths. */
export async function downloadFiles(
  repoId: string,
  filenames: readonly string[],
  options: DownloadOptions,
): Promise<string[]> {
  const paths: string[] = [];
  for (const filename of filenames) paths.push(await downloadFile(repoId, filename, options));
  return paths;
}
