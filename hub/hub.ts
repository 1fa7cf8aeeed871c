/**
 * A small Hugging Face Hub download client that shares Python `huggingface_hub`'s cache: a file
 * the Python library already fetched is reused, and what this client fetches Python reuses.
 *
 * Every download goes to `blobs/<etag>.incomplete`, is retried with backoff on 429/5xx and
 * dropped connections, resumes with `Range`, is checked for size and content (the sha256 of LFS
 * files, the git blob sha1 of the others), and only then is renamed into place; a failed download
 * leaves no partial file behind. A download that cannot be made is a `RunError` of one line that
 * says what was fetched, from where, why it failed and what to do; giving up takes at most
 * `3 × HF_HUB_ETAG_TIMEOUT` (30 s by default) since the last byte received.
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
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
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
} from "./_cache.ts";
import { downloadBlob } from "./_download.ts";
import { HubReplyError } from "./_errors.ts";
import { fetchMetadata, type FileRef, type HubHttp } from "./_http.ts";
import {
  DEFAULT_RETRY_POLICY,
  describeFailure,
  InputError,
  isNetworkError,
  RetriesExhausted,
  type RetryPolicy,
  RunError,
  withRetries,
} from "../core/mod.ts";

export type { RepoType } from "./_cache.ts";
export { isRepoId } from "./_cache.ts";

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
  /** Milliseconds a download waits for the next bytes (HF_HUB_DOWNLOAD_TIMEOUT; default 10 000). */
  readonly timeoutMs?: number;
  /**
   * Milliseconds a metadata request waits for its reply (HF_HUB_ETAG_TIMEOUT; default 10 000);
   * retrying stops three times this long after the first try or the last byte received.
   */
  readonly etagTimeoutMs?: number;
  /** Download again even when the cache has the file (`--force_download`). */
  readonly forceDownload?: boolean;
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
const DEFAULT_HF_ENDPOINT = "https://huggingface.co";

const COMMIT_HASH = /^[0-9a-f]{40}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const GIT_SHA1 = /^[0-9a-f]{40}$/;

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
  const seconds = (name: string) => {
    const text = envValue(env, name);
    const value = text === undefined ? 10 : Number(text);
    if (!(value > 0)) {
      throw new InputError(`Invalid ${name} ${JSON.stringify(text)}: expected seconds above 0`);
    }
    return Math.round(value * 1000);
  };
  const token = envValue(env, "HF_TOKEN");
  return Object.freeze({
    endpoint: endpointFromEnv(env),
    cacheDir: cacheDirFromEnv(env),
    offline: isTrue(env.HF_HUB_OFFLINE),
    timeoutMs: seconds("HF_HUB_DOWNLOAD_TIMEOUT"),
    etagTimeoutMs: seconds("HF_HUB_ETAG_TIMEOUT"),
    ...(token ? { token } : {}),
  });
}

/**
 * A file could not be downloaded (the Hub could not be reached, or answered with something
 * unusable): a `RunError` whose message is the one line for that file, and whose fields let a
 * command say at once everything else it would have needed from the Hub.
 */
export class HubDownloadFailed extends RunError {
  /** The Hub's origin (`https://huggingface.co`). */
  readonly endpoint: string;
  /** Why, in a few words (`host not found (DNS) (gave up after 5 tries in 15.0 s)`). */
  readonly reason: string;
  /** The file, as people read it (`"config.json" of model "distilbert-base-uncased"`). */
  readonly file: string;
  /** The Hub could not be reached (or kept failing), rather than answering with a refusal. */
  readonly unreachable: boolean;

  constructor(
    message: string,
    details: { endpoint: string; reason: string; file: string; unreachable: boolean },
  ) {
    super(message);
    this.name = "HubDownloadFailed";
    this.endpoint = details.endpoint;
    this.reason = details.reason;
    this.file = details.file;
    this.unreachable = details.unreachable;
  }
}

/** What a user can do when the Hub cannot be reached for a file of `repoType`. */
function offlineHint(repoType: RepoType): string {
  const local = repoType === "dataset"
    ? "pass local --train_file/--validation_file"
    : "pass a local --model folder";
  return `check the network and HF_ENDPOINT, ${local}, or set HF_HUB_OFFLINE=1 to use the cache`;
}

/** True when `path` lies inside the hub cache of `hub`. */
function isInHubCache(path: string, hub: HubOptions): boolean {
  const rel = relative(resolve(hub.cacheDir), resolve(path));
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
}

/**
 * Runs `body` (which reads files the Hub client downloaded) and, when it fails with an
 * InputError naming a file inside the cache, adds how to fetch that file again: a bad download
 * must not poison later runs without saying how to mend it.
 */
export async function withCacheHint<T>(
  hub: HubOptions | undefined,
  body: () => Promise<T>,
): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (!(err instanceof InputError) || hub === undefined) throw err;
    const named = [...err.message.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
    const cached = named.find((p) => isInHubCache(p, hub));
    if (cached === undefined) throw err;
    throw new InputError(
      `${err.message} (a cached download: fetch it again with --force_download)`,
    );
  }
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

  const cached = hub.forceDownload ? null : await findCached(repo, revision, filename);
  if (cached !== null) return cached;
  if (hub.offline) {
    const at = revision === "main" ? "" : ` at revision ${JSON.stringify(revision)}`;
    throw new InputError(
      `Cannot find ${file.describe}${at} in the cache "${hub.cacheDir}" (HF_HUB_OFFLINE=1)`,
    );
  }

  const etagTimeoutMs = hub.etagTimeoutMs ?? 10_000;
  const policy: RetryPolicy = {
    ...DEFAULT_RETRY_POLICY,
    deadlineMs: 3 * etagTimeoutMs,
    ...hub.retry,
  };
  const endpointOrigin = new URL(hub.endpoint).origin;
  const http: HubHttp = { endpointOrigin, token: hub.token, timeoutMs: hub.timeoutMs ?? 10_000 };
  const force = hub.forceDownload ?? false;
  try {
    const url = resolveUrl(hub.endpoint, repoType, repoId, revision, filename);
    const meta = await withRetries(
      policy,
      { timeoutMs: etagTimeoutMs },
      (attempt) =>
        fetchMetadata(url, { ...http, timeoutMs: etagTimeoutMs }, {
          file,
          remainingMs: attempt.remainingMs,
        }),
    );
    checkServerSegment("commit hash", meta.commit, url);
    checkServerSegment("ETag", meta.etag, url);
    if (revision !== meta.commit) await writeRef(repo, revision, meta.commit);

    const pointer = snapshotPath(repo, meta.commit, filename);
    if (!force && await fileExists(pointer)) return pointer;
    const blob = blobPath(repo, meta.etag);
    await Deno.mkdir(dirname(blob), { recursive: true });
    await withFileLock(join(repo.locks, `${meta.etag}.lock`), async () => {
      if (!force && await fileExists(pointer)) return; // Another caller finished it meanwhile.
      if (force || !(await fileExists(blob))) {
        const temp = `${blob}.incomplete`;
        await downloadBlob(meta.downloadUrl, temp, {
          http,
          policy,
          file,
          label: filename.split("/").at(-1)!,
          size: meta.size,
          sha256: SHA256.test(meta.etag) ? meta.etag : null,
          gitSha1: GIT_SHA1.test(meta.etag) ? meta.etag : null,
          progress: options.progress ?? true,
        });
        await Deno.rename(temp, blob);
      }
      await linkSnapshot(blob, pointer);
    });
    return pointer;
  } catch (err) {
    if (!(err instanceof RetriesExhausted || err instanceof HubReplyError || isNetworkError(err))) {
      throw err;
    }
    const reason = err instanceof Error && !isNetworkError(err)
      ? err.message
      : describeFailure(err, etagTimeoutMs);
    throw new HubDownloadFailed(
      `Cannot download ${file.describe} from "${endpointOrigin}": ${reason}; ` +
        offlineHint(repoType),
      {
        endpoint: endpointOrigin,
        reason,
        file: file.describe,
        unreachable: !(err instanceof HubReplyError),
      },
    );
  }
}
