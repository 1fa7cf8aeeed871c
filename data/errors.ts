/**
 * The error classes that `main.ts` maps to exit codes. They live in the bottom layer so that every
 * layer (data, io, backend, model, train, tune, tracking) can raise them without importing the
 * code above it.
 *
 * - {@linkcode InputError}: the user gave us something bad (a flag, a file, a checkpoint, a
 *   config). One line, exit code 2, nothing saved is touched.
 * - {@linkcode RunError}: the run failed for a reason outside the user's input (network, disk,
 *   divergence). One line, exit code 1.
 *
 * @module
 */

/** Bad input: the CLI prints the message on one line, without a stack trace, and exits 2. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}

/** A runtime failure (network, disk, divergence): one line, exit code 1. */
export class RunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RunError";
  }
}
