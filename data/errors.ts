/**
 * Errors that mean "the user gave us something bad" (a file, a checkpoint, a config). The CLI
 * prints their message on one line, without a stack trace, and exits with code 2.
 */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}
