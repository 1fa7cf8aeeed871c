/**
 * HTTP against the Hub's `resolve` endpoint: manual redirects (the token only ever goes to the
 * endpoint's own origin), and the metadata HEAD request that says which commit and blob a file is.
 *
 * @module
 */
import { InputError } from "../core/mod.ts";
import { HubReplyError } from "./_errors.ts";
import { isRetryableStatus, parseRetryAfter, RetryableError } from "../core/mod.ts";

const MAX_REDIRECTS = 10;
const USER_AGENT = `mrpc-tune; deno/${Deno.version.deno}`;

/** Who may receive the token, and how long a silent server is waited for. */
export interface HubHttp {
  /** Origin of the Hub endpoint (`https://huggingface.co`): the only one sent the token. */
  readonly endpointOrigin: string;
  /** Bearer token (HF_TOKEN), if any. */
  readonly token?: string;
  /** Milliseconds without any response bytes before the request is abandoned. */
  readonly timeoutMs: number;
}

/** What the Hub says about one file at one revision. */
export interface FileMetadata {
  /** `X-Repo-Commit`: the commit the revision resolved to. */
  readonly commit: string;
  /** `X-Linked-Etag` (LFS sha256) or `ETag` (git blob sha1), unquoted. */
  readonly etag: string;
  /** `X-Linked-Size` or `Content-Length`, when sent. */
  readonly size: number | null;
  /** Where the bytes are (a file host after a cross-origin redirect). */
  readonly downloadUrl: string;
}

/** Request headers for `url`: the token only when `url` is on the endpoint's origin. */
export function hubHeaders(
  url: URL,
  http: HubHttp,
  extra: Record<string, string> = {},
): Headers {
  const headers = new Headers({ "User-Agent": USER_AGENT, "Accept-Encoding": "identity" });
  if (http.token && url.origin === http.endpointOrigin) {
    headers.set("Authorization", `Bearer ${http.token}`);
  }
  for (const [name, value] of Object.entries(extra)) headers.set(name, value);
  return headers;
}

/** A URL fit for messages: origin and path, never a signed query string. */
export function displayUrl(url: string | URL): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

/** Options of one request made through {@link fetchFollowing}. */
export interface FollowOptions {
  readonly method: "GET" | "HEAD";
  readonly extraHeaders?: Record<string, string>;
  readonly signal?: AbortSignal;
  /** Stop at a redirect to another origin instead of following it (the metadata request). */
  readonly stopAtCrossOrigin?: boolean;
}

/**
 * Fetches `url`, following redirects by hand so that the Authorization header is recomputed for
 * each hop (and dropped off the endpoint's origin). Returns the final response and its URL.
 */
export async function fetchFollowing(
  url: string,
  http: HubHttp,
  options: FollowOptions,
): Promise<{ response: Response; url: URL }> {
  let current = new URL(url);
  for (let hop = 0;; hop++) {
    const response = await fetch(current, {
      method: options.method,
      headers: hubHeaders(current, http, options.extraHeaders),
      redirect: "manual",
      signal: options.signal,
    });
    const location = response.headers.get("Location");
    if (response.status < 300 || response.status > 399 || location === null) {
      return { response, url: current };
    }
    const next = new URL(location, current);
    if (options.stopAtCrossOrigin && next.origin !== current.origin) {
      return { response, url: current };
    }
    await response.body?.cancel();
    if (hop >= MAX_REDIRECTS) {
      throw new HubReplyError(`too many redirects from "${displayUrl(url)}"`);
    }
    current = next;
  }
}

function unquoteEtag(etag: string): string {
  return etag.replace(/^W\//, "").replace(/^"(.*)"$/, "$1");
}

/** Identifies the file being fetched in messages: `"f" of dataset "r" at revision "main"`. */
export interface FileRef {
  readonly describe: string;
  readonly revision: string;
}

/** Turns a non-success reply into the error a user can act on. */
export async function statusError(
  response: Response,
  url: URL,
  file: FileRef,
  http: HubHttp,
): Promise<Error> {
  await response.body?.cancel();
  const code = response.headers.get("X-Error-Code");
  const status = `HTTP ${response.status}${code ? ` ${code}` : ""}`;
  if (isRetryableStatus(response.status)) {
    const retryAfter = parseRetryAfter(response.headers.get("Retry-After"), Date.now());
    return new RetryableError(`${status} from "${displayUrl(url)}"`, retryAfter);
  }
  const where = `at revision ${JSON.stringify(file.revision)} on "${http.endpointOrigin}"`;
  if (response.status === 401 || response.status === 403) {
    const hint = http.token
      ? "the token in HF_TOKEN was refused or lacks access"
      : "it does not exist, or it is private or gated and needs HF_TOKEN";
    return new InputError(`Cannot access ${file.describe} ${where} (${status}): ${hint}`);
  }
  if (response.status === 404) {
    return new InputError(`Cannot find ${file.describe} ${where} (${status})`);
  }
  return new HubReplyError(`${status} from "${displayUrl(url)}"`);
}

/**
 * HEADs the resolve URL (following same-origin redirects, stopping at the file host) and reads
 * `X-Repo-Commit`, `X-Linked-Etag`/`ETag` and `X-Linked-Size`/`Content-Length`.
 */
export async function fetchMetadata(
  resolveUrl: string,
  http: HubHttp,
  options: { file: FileRef; remainingMs: number },
): Promise<FileMetadata> {
  const { file } = options;
  const timeout = Math.max(1, Math.min(http.timeoutMs, options.remainingMs));
  const { response, url } = await fetchFollowing(resolveUrl, http, {
    method: "HEAD",
    stopAtCrossOrigin: true,
    signal: AbortSignal.timeout(timeout),
  });
  await response.body?.cancel();
  const isRedirect = response.status >= 300 && response.status <= 399;
  if (!response.ok && !isRedirect) throw await statusError(response, url, file, http);
  const headers = response.headers;
  const commit = headers.get("X-Repo-Commit");
  const etag = headers.get("X-Linked-Etag") ?? headers.get("ETag");
  if (commit === null || etag === null) {
    throw new HubReplyError(
      `the reply from "${displayUrl(url)}" lacks ` +
        `${commit === null ? "X-Repo-Commit" : "an ETag"} (is HF_ENDPOINT a Hugging Face Hub?)`,
    );
  }
  const sizeText = headers.get("X-Linked-Size") ??
    (isRedirect ? null : headers.get("Content-Length"));
  const size = sizeText !== null && /^\d+$/.test(sizeText) ? Number(sizeText) : null;
  const location = headers.get("Location");
  const downloadUrl = isRedirect && location !== null ? new URL(location, url).href : url.href;
  return { commit, etag: unquoteEtag(etag), size, downloadUrl };
}
