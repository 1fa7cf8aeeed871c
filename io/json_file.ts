/**
 * Reading a JSON file with one error line that names the file and what it is for.
 *
 * @module
 */
import { InputError } from "../core/mod.ts";

/** Options of {@linkcode readJsonFile}. */
export interface ReadJsonOptions {
  /**
   * What the file is, for the error line: `--config`, `trainer state`, ... An `InputError` then
   * reads `Cannot read --config "run.json": no such file` or `Invalid --config "run.json": ...`.
   */
  readonly what?: string;
}

/**
 * Reads and parses `path` as JSON. A missing or unreadable file and invalid JSON are an
 * `InputError` naming the file (and `what` it is).
 */
export async function readJsonFile(path: string, options: ReadJsonOptions = {}): Promise<unknown> {
  const label = options.what ? `${options.what} "${path}"` : `"${path}"`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    const reason = err instanceof Deno.errors.NotFound
      ? "no such file"
      : err instanceof Deno.errors.IsADirectory
      ? "it is a directory"
      : (err as Error).message;
    throw new InputError(`Cannot read ${label}: ${reason}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InputError(`Invalid ${label}: ${(err as Error).message}`);
  }
}
