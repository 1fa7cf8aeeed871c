/**
 * The error classes and their one mapping to exit codes ({@linkcode exitCodeOf}). They live on
 * the ground floor (`core/`) so that every layer can raise them without importing the code above.
 *
 * - {@linkcode InputError}: the user gave us something bad (a flag, a file, a checkpoint, a
 *   config). One line, exit code 2, nothing saved is touched.
 * - {@linkcode RunError}: the run failed for a reason outside the user's input (network, disk,
 *   divergence). One line, exit code 1.
 * - {@linkcode Interrupted}: a signal stopped the run after it saved its state: 130 / 143.
 *
 * @module
 */

/** Bad input: the CLI prints the message on one line, without a stack trace, and exits 2. */
export class InputError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InputError";
  }
}

/**
 * A runtime failure (network, disk, divergence): one line, exit code 1. `cause` keeps the
 * underlying error (an OS error's code, say) for code that words it for its own operation.
 */
export class RunError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RunError";
  }
}

/** The signals a run stops on, with the exit codes shells use for them (128 + number). */
export const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

/** A stop signal a run honours. */
export type StopSignalName = keyof typeof SIGNAL_EXIT_CODES;

/**
 * The run was stopped by a signal (Ctrl-C, `docker stop`) after saving what it had: the CLI
 * prints the message and exits 130 (SIGINT) or 143 (SIGTERM).
 */
export class Interrupted extends Error {
  readonly signal: StopSignalName;

  constructor(signal: StopSignalName, message: string) {
    super(message);
    this.name = "Interrupted";
    this.signal = signal;
  }

  /** 130 for SIGINT, 143 for SIGTERM. */
  get exitCode(): number {
    return SIGNAL_EXIT_CODES[this.signal];
  }
}

/**
 * The exit code an error ends a command with: 2 for bad input ({@linkcode InputError} and its
 * subclasses, such as the CLI's usage errors), 130/143 for an {@linkcode Interrupted} run, 1 for
 * everything else (a {@linkcode RunError}, an OS error, a bug). The one mapping every command and
 * `main.ts` use.
 */
export function exitCodeOf(err: unknown): number {
  if (err instanceof Interrupted) return err.exitCode;
  return err instanceof InputError ? 2 : 1;
}
