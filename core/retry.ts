/**
 * Bounded retries with exponential backoff for HTTP clients (the Hub's, W&B's): 429 and 5xx replies and dropped
 * connections are retried, honouring `Retry-After`, for at most `maxAttempts` tries and at most
 * `deadlineMs` since the last progress; everything else fails at once. A try that gives up
 * throws {@linkcode RetriesExhausted} with a short reason a person can read.
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
  /**
   * No new try starts this long after the first one (or after the last progress a try reported),
   * and a wait never runs past it (default 30 000 ms).
   */
  readonly deadlineMs: number;
}

/** The defaults, close to Python `huggingface_hub`'s `http_backoff`. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxAttempts: 5,
  backoffBaseMs: 1000,
  maxBackoffMs: 30_000,
  deadlineMs: 30_000,
});

/** Every try failed: why the last one did, how many were made and how long it all took. */
export class RetriesExhausted extends Error {
  readonly reason: string;
  readonly tries: number;
  readonly seconds: number;

  constructor(reason: string, tries: number, seconds: number) {
    super(
      `${reason} (gave up after ${tries} ${tries === 1 ? "try" : "tries"} in ${
        seconds.toFixed(1)
      } s)`,
    );
    this.name = "RetriesExhausted";
    this.reason = reason;
    this.tries = tries;
    this.seconds = seconds;
  }
}

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

/**
 * A network failure in a few words: "connection refused", "host not found (DNS)", "no reply
 * within 10 s", "the reply was not valid HTTP", "the connection was closed", or the status line.
 */
export function describeFailure(err: unknown, timeoutMs: number): string {
  if (err instanceof RetryableError) return err.message;
  // fetch's TypeError says "fetch failed"; the reason is in its cause chain.
  const messages: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 5; depth++) {
    messages.push(e instanceof Error ? e.message : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  const message = messages.join(": ");
  if (err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError")) {
    return `no reply within ${formatSeconds(timeoutMs)}`;
  }
  if (/connection refused/i.test(message)) return "connection refused";
  if (/dns error|failed to lookup|name or service not known|nodename nor servname/i.test(message)) {
    return "host not found (DNS)";
  }
  if (/timed out|no data for/i.test(message)) return `no reply within ${formatSeconds(timeoutMs)}`;
  if (
    /invalid http|parse|invalid (status|header|chunk)|malformed|unexpected message/i.test(message)
  ) {
    return "the reply was not valid HTTP";
  }
  if (/connection (closed|reset)|broken pipe|incomplete message|unexpected eof/i.test(message)) {
    return "the connection was closed";
  }
  const line = (messages.at(-1) ?? message).split("\n")[0].trim();
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

/** Classifies a thrown value: network-level failures (not our own bugs) are retryable. */
export function isNetworkError(err: unknown): boolean {
  return err instanceof TypeError || err instanceof Deno.errors.ConnectionReset ||
    err instanceof Deno.errors.ConnectionAborted || err instanceof Deno.errors.UnexpectedEof ||
    err instanceof Deno.errors.BrokenPipe || err instanceof Deno.errors.Http ||
    (err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError"));
}

/** What a try is given: its number, the time left before the deadline, and a progress hook. */
export interface Attempt {
  /** 1 for the first try. */
  readonly n: number;
  /** Milliseconds until the deadline (a try may cap its own timeouts with it). */
  readonly remainingMs: number;
  /** Call when bytes arrive: the deadline then counts from now. */
  readonly progress: () => void;
}

/**
 * Runs `attempt` until it succeeds, retrying RetryableErrors and network errors with backoff
 * for at most `policy.maxAttempts` tries and `policy.deadlineMs` since the start or the last
 * progress. The last failure becomes a {@linkcode RetriesExhausted} whose reason
 * `describeFailure(err, timeoutMs)` gives; other errors are rethrown as they are.
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  options: {
    timeoutMs: number;
    /** Told why a try failed, before the wait for the next one. */
    onRetry?: (reason: string) => void;
  },
  attempt: (a: Attempt) => Promise<T>,
): Promise<T> {
  const start = performance.now();
  let since = start;
  const progress = () => since = performance.now();
  for (let n = 1;; n++) {
    try {
      return await attempt({
        n,
        remainingMs: since + policy.deadlineMs - performance.now(),
        progress,
      });
    } catch (err) {
      const retryable = err instanceof RetryableError || isNetworkError(err);
      if (!retryable) throw err;
      const retryAfter = err instanceof RetryableError ? err.retryAfterMs : null;
      const wait = retryDelayMs(n, policy, retryAfter);
      const left = since + policy.deadlineMs - performance.now();
      if (n >= policy.maxAttempts || wait >= left) {
        const seconds = (performance.now() - start) / 1000;
        throw new RetriesExhausted(describeFailure(err, options.timeoutMs), n, seconds);
      }
      options.onRetry?.(describeFailure(err, options.timeoutMs));
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
