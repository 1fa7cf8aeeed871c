/**
 * Downloads one blob into a temporary `.incomplete` file: retries with backoff, resumes with
 * `Range: bytes=N-`, restarts when the server ignores the range, checks the size and the content
 * (the sha256 of LFS files, the git blob sha1 of the others), and deletes the temporary file on
 * any failure.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { HubReplyError } from "./_errors.ts";
import { fetchFollowing, type FileRef, type HubHttp, statusError } from "./_http.ts";
import { startProgress } from "./_progress.ts";
import { type Attempt, RetryableError, type RetryPolicy, withRetries } from "../core/mod.ts";

/** What the downloaded bytes must match, and how to fetch them. */
export interface BlobDownloadOptions {
  readonly http: HubHttp;
  readonly policy: RetryPolicy;
  /** The file, for messages. */
  readonly file: FileRef;
  /** File name shown by the progress bar. */
  readonly label: string;
  /** Expected byte count, when the Hub said. */
  readonly size: number | null;
  /** Expected lowercase hex sha256 (an LFS ETag), or null. */
  readonly sha256: string | null;
  /** Expected git blob sha1 (the ETag of a file not in LFS), or null. */
  readonly gitSha1: string | null;
  /** Draw a progress bar (only happens when stderr is a terminal). */
  readonly progress: boolean;
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return 0;
    throw err;
  }
}

async function removeIfPresent(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

/** Lowercase hex sha256 of a file, read in chunks. */
export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/** Git's blob id of a file: `sha1("blob <size>\0" + bytes)`, the ETag of non-LFS Hub files. */
export async function gitBlobSha1OfFile(path: string): Promise<string> {
  const size = (await Deno.stat(path)).size;
  const hash = createHash("sha1").update(`blob ${size}\0`);
  using file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/** `bytes 100-199/200` → 100; null when absent or malformed. */
function contentRangeStart(header: string | null): number | null {
  const match = header === null ? null : /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(header.trim());
  return match ? Number(match[1]) : null;
}

/**
 * One try: resumes from the bytes already in `tempPath`. Throws RetryableError (or a network
 * error) when another try may help; the partial file is kept for it.
 */
async function attemptDownload(
  url: string,
  tempPath: string,
  options: BlobDownloadOptions,
  attempt: Attempt,
): Promise<void> {
  let offset = await fileSize(tempPath);
  if (options.size !== null && offset > options.size) {
    await Deno.truncate(tempPath, 0);
    offset = 0;
  }
  if (options.size !== null && offset === options.size && offset > 0) return;

  const controller = new AbortController();
  const { timeoutMs } = options.http;
  const timeoutError = () => new DOMException(`no data for ${timeoutMs} ms`, "TimeoutError");
  let timer = setTimeout(() => controller.abort(timeoutError()), timeoutMs);
  const progress = startProgress(options.label, options.size, options.progress);
  try {
    const { response, url: finalUrl } = await fetchFollowing(url, options.http, {
      method: "GET",
      extraHeaders: offset > 0 ? { Range: `bytes=${offset}-` } : {},
      signal: controller.signal,
    });
    if (response.status === 416) {
      await response.body?.cancel();
      await Deno.truncate(tempPath, 0);
      throw new RetryableError(`HTTP 416 for "bytes=${offset}-": restarting from the start`);
    }
    if (!response.ok) throw await statusError(response, finalUrl, options.file, options.http);
    const append = response.status === 206 && offset > 0;
    if (append && contentRangeStart(response.headers.get("Content-Range")) !== offset) {
      // A range we did not ask for: start over rather than splice in the wrong bytes.
      await response.body?.cancel();
      await Deno.truncate(tempPath, 0);
      throw new RetryableError(`unexpected Content-Range for "bytes=${offset}-"`);
    }
    let written = append ? offset : 0;
    using file = await Deno.open(tempPath, {
      write: true,
      create: true,
      append,
      truncate: !append,
    });
    progress.update(written);
    if (response.body) {
      for await (const chunk of response.body) {
        clearTimeout(timer);
        timer = setTimeout(() => controller.abort(timeoutError()), timeoutMs);
        for (let done = 0; done < chunk.length;) {
          done += await file.write(chunk.subarray(done));
        }
        written += chunk.length;
        progress.update(written);
        attempt.progress();
      }
    }
    await file.sync();
    if (options.size !== null && written < options.size) {
      throw new RetryableError(`connection closed after ${written} of ${options.size} bytes`);
    }
    if (options.size !== null && written > options.size) {
      await Deno.truncate(tempPath, 0);
      throw new HubReplyError(`the download has ${written} bytes, expected ${options.size}`);
    }
  } finally {
    clearTimeout(timer);
    progress.finish();
  }
}

/**
 * Downloads `url` into `tempPath` (resuming a partial file already there) and verifies it; on
 * success `tempPath` holds exactly the expected bytes, on failure it no longer exists.
 */
export async function downloadBlob(
  url: string,
  tempPath: string,
  options: BlobDownloadOptions,
): Promise<void> {
  try {
    await withRetries(
      options.policy,
      { timeoutMs: options.http.timeoutMs },
      (attempt) => attemptDownload(url, tempPath, options, attempt),
    );
    if (options.sha256 !== null) {
      const actual = await sha256OfFile(tempPath);
      if (actual !== options.sha256) {
        throw new HubReplyError(
          `the download is corrupt: its sha256 is ${actual}, the Hub said ${options.sha256}`,
        );
      }
    }
    if (options.gitSha1 !== null) {
      const actual = await gitBlobSha1OfFile(tempPath);
      if (actual !== options.gitSha1) {
        throw new HubReplyError(
          `the download is corrupt: its git blob sha1 is ${actual}, the Hub said ${options.gitSha1}`,
        );
      }
    }
  } catch (err) {
    await removeIfPresent(tempPath);
    throw err;
  }
}
