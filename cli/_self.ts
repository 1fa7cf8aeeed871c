/**
 * How this program starts itself again (folder-private): `deno run` of main.ts from the sources,
 * with the repository's config and the permissions of `deno task train`, or the compiled binary
 * itself.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * What a training run needs (as `deno task train` grants): `--allow-run` to tell a live process
 * from a dead one (run locks, the demo's temporary folders).
 */
const TRAIN_PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env",
  "--allow-ffi",
  "--allow-sys",
  "--allow-run",
];

/** The command and leading arguments that run this program. */
export function selfCommand(): { command: string; args: string[] } {
  const exe = Deno.execPath();
  if (basename(exe).replace(/\.exe$/, "") === "deno") {
    const root = dirname(dirname(fileURLToPath(import.meta.url)));
    return {
      command: exe,
      args: [
        "run",
        "--config",
        join(root, "deno.json"),
        ...TRAIN_PERMISSIONS,
        join(root, "main.ts"),
      ],
    };
  }
  return { command: exe, args: [] };
}
