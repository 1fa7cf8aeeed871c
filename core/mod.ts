/**
 * The ground floor every layer stands on: the error classes (bad input → exit 2, runtime failure →
 * exit 1, interrupted → 130/143) and their one exit-code mapping, the seedable PRNG, bounded
 * retries with backoff for HTTP clients, OS file errors in words, short quotes of user data for
 * error lines, and whether a recorded PID is still alive. It imports nothing of the project.
 *
 * @example
 * ```ts
 * import { createRng, exitCodeOf, InputError } from "../core/mod.ts";
 * ```
 *
 * @module
 */
export {
  exitCodeOf,
  InputError,
  Interrupted,
  RunError,
  SIGNAL_EXIT_CODES,
  type StopSignalName,
} from "./errors.ts";
export { fileError, isWriteRefusal, osCause } from "./os_errors.ts";
export { processAlive } from "./process.ts";
export {
  type Attempt,
  DEFAULT_RETRY_POLICY,
  describeFailure,
  isNetworkError,
  isRetryableStatus,
  parseRetryAfter,
  RetriesExhausted,
  RetryableError,
  retryDelayMs,
  type RetryPolicy,
  withRetries,
} from "./retry.ts";
export { createRng, deriveSeed, type Rng, shuffleInPlace } from "./rng.ts";
export { excerpt, EXCERPT_CHARS, excerptValue } from "./text.ts";
