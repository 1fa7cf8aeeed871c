/**
 * The program's version (deno.json's `version`) and the git commit it was built from: the
 * checkout's `.git` next to the sources when there is one, else `build_info.json` next to them
 * (written by `deno task compile` and embedded in the binary), else `MRPC_TUNE_COMMIT`, else
 * "unknown".
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import denoJson from "../deno.json" with { type: "json" };

/** The file `deno task compile` writes (and embeds) with the commit it builds. */
export const BUILD_INFO = "build_info.json";

/** The program name and version. */
export const PROGRAM = "mrpc-tune";
export const VERSION: string = denoJson.version;

/** The commit of the checkout at `root` (a `.git` folder), or null. */
export async function gitCommit(root: string): Promise<string | null> {
  const git = join(root, ".git");
  try {
    const head = (await Deno.readTextFile(join(git, "HEAD"))).trim();
    const ref = /^ref: (.+)$/.exec(head)?.[1];
    if (!ref) return /^[0-9a-f]{40}$/.test(head) ? head : null;
    const loose = await Deno.readTextFile(join(git, ref)).catch(() => null);
    if (loose) return loose.trim();
    const packed = await Deno.readTextFile(join(git, "packed-refs")).catch(() => "");
    return new RegExp(`^([0-9a-f]{40}) ${ref.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m")
      .exec(packed)?.[1] ?? null;
  } catch {
    return null;
  }
}

/** The commit this program runs from (see module docs). */
export async function programCommit(
  env: Readonly<Record<string, string | undefined>>,
): Promise<string> {
  const here = import.meta.url.startsWith("file:")
    ? dirname(dirname(fileURLToPath(import.meta.url)))
    : null;
  return (here ? await gitCommit(here) ?? await builtCommit(here) : null) ??
    env.MRPC_TUNE_COMMIT ?? "unknown";
}

/** The commit `build_info.json` at `root` records (the compiled binary's), or null. */
export async function builtCommit(root: string): Promise<string | null> {
  try {
    const info = JSON.parse(await Deno.readTextFile(join(root, BUILD_INFO)));
    return typeof info.commit === "string" && info.commit !== "" ? info.commit : null;
  } catch {
    return null;
  }
}

/** What `--version` prints. */
export async function versionLine(
  env: Readonly<Record<string, string | undefined>>,
): Promise<string> {
  return `${PROGRAM} ${VERSION} (commit ${await programCommit(env)}; Deno ${Deno.version.deno})`;
}
