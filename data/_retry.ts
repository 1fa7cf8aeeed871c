/**
 * Bounded retries with exponential backoff for Hub requests: 429 and 5xx replies and dropped
 * connections are retried, honouring `Retry-After`; everything else fails at once.
 *
 * @module
 */

/** How often and how patiently a request is retried. */
export interface RetryPolicy {
  /** Total tries, the first included (default 5). */
  readonly maxAttempts: number;
  /** Wait before the second try; doubles for each later one (default 1000 ms). */
  readonly backoffBaseMs: number;
  /** Upper bound of any single wait, `Retry-After` included (default 30 000 ms). */
  readonly maxBackoffMs: number;
}

/** The defaults, close to Python `huggingface_hub`'s `http_backoff`. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxAttempts: 5,
  backoffBaseMs: 1000,
  maxBackoffMs: 30_000,
});

/** A failure worth another try (429, 5xx, a dropped connection, a short body). */
export class RetryableError extends Error {
  /** The server's `Retry-After`, in milliseconds, when it sent one. */
  readonly retryAfterMs: number | null;

  constructor(message: string, retryAfterMs: number | null = null) {
    super(message);
    this.name = "RetryableError";
    this.retryAfterMs = retryAfterMs;
  }
}

/** True for HTTP statuses that are retried: 429 Too Many Requests and every 5xx. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599);
}

/**
 * Parses a `Retry-After` header (delay seconds or an HTTP date) into milliseconds from `nowMs`;
 * null when absent or unparsable.
 */
export function parseRetryAfter(header: string | null, nowMs: number): number | null {
  if (header === null) return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - nowMs);
}

/** The wait before try `attempt + 1` (attempt counts from 1): `Retry-After` wins when present. */
export function retryDelayMs(
  attempt: number,
  policy: RetryPolicy,
  retryAfterMs: number | null,
): number {
  const backoff = policy.backoffBaseMs * 2 ** (attempt - 1);
  return Math.min(policy.maxBackoffMs, retryAfterMs ?? backoff);
}

/** Classifies a thrown value: network-level failures (not our own bugs) are retryable. */
export function isNetworkError(err: unknown): boolean {
  return err instanceof TypeError || err instanceof Deno.errors.ConnectionReset ||
    err instanceof Deno.errors.ConnectionAborted || err instanceof Deno.errors.UnexpectedEof ||
    err instanceof Deno.errors.BrokenPipe || err instanceof Deno.errors.Http ||
    (err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError"));
}

/**
 * Runs `attempt(n)` until it succeeds, retrying RetryableErrors and network errors with backoff
 * up to `policy.maxAttempts` tries. The last failure is rethrown with `what` and the number of
 * tries in its message.
 */
export async function withRetries<T>(
  what: string,
  policy: RetryPolicy,
  attempt: (n: number) => Promise<T>,
): Promise<T> {
  for (let n = 1;; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      const retryable = err instanceof RetryableError || isNetworkError(err);
      if (!retryable) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      if (n >= policy.maxAttempts) {
        throw new Error(`Cannot download ${what} after ${n} tries: ${reason}`, { cause: err });
      }
      const retryAfter = err instanceof RetryableError ? err.retryAfterMs : null;
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs(n, policy, retryAfter)));
    }
  }
}
