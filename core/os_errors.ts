/**
 * Operating-system errors in words: a full disk, a read-only file system, a refused permission
 * become one line that names the operation, the path and the cause, instead of the runtime's
 * bare `No space left on device (os error 28)` (which names no file) or an internal error.
 *
 * @module
 */
import { InputError, RunError } from "./errors.ts";

/** The causes people meet, by the error code the runtime gives (`err.code`). */
const CAUSES: Readonly<Record<string, string>> = {
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EROFS: "the file system is read-only",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOENT: "no such file or folder",
  ENOTDIR: "a part of the path is a file",
  EISDIR: "it is a folder",
  EEXIST: "it already exists",
  EMFILE: "too many open files",
  EIO: "an input/output error",
  ENAMETOOLONG: "the name is too long",
};

/**
 * The cause of an OS file error in a few words (`no space left on device`), or null; an error
 * of ours that wraps one (its `cause`) gives that one's.
 */
export function osCause(err: unknown): string | null {
  if ((err instanceof RunError || err instanceof InputError) && err.cause !== undefined) {
    return osCause(err.cause);
  }
  const code = (err as { code?: unknown })?.code;
  if (typeof code === "string" && code in CAUSES) return CAUSES[code];
  if (err instanceof Deno.errors.PermissionDenied) return CAUSES.EACCES;
  if (err instanceof Deno.errors.NotFound) return CAUSES.ENOENT;
  return null;
}

/** Whether `err` is the disk or the file system refusing a write (full, read-only, denied). */
export function isWriteRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return ["ENOSPC", "EDQUOT", "EROFS", "EACCES", "EPERM"].includes(String(code)) ||
    err instanceof Deno.errors.PermissionDenied;
}

/**
 * The error to throw for a failed file operation: `Cannot <op> "<path>": <cause>`, a
 * {@linkcode RunError} (exit 1), or an {@linkcode InputError} (exit 2) with `input` (a path the
 * user gave, checked before any work). Errors that are already ours, and errors that are not the
 * OS's, pass through unchanged.
 */
export function fileError(
  op: string,
  path: string,
  err: unknown,
  options: { input?: boolean } = {},
): unknown {
  if (err instanceof InputError || err instanceof RunError) return err;
  const cause = osCause(err);
  if (cause === null) return err;
  const message = `Cannot ${op} "${path}": ${cause}`;
  return options.input
    ? new InputError(message, { cause: err })
    : new RunError(message, { cause: err });
}
