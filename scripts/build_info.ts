/**
 * Writes `build_info.json` (the commit being built) for `deno task compile`, which embeds it so
 * that the binary's `--version` names its commit: the checkout's HEAD, else `MRPC_TUNE_COMMIT`
 * (the Docker build passes it as a build argument: its context has no `.git`), else "unknown".
 *
 *     deno run --allow-read --allow-write --allow-env scripts/build_info.ts
 *
 * @module
 */
import { BUILD_INFO, gitCommit, VERSION } from "../cli/mod.ts";

/** Writes build_info.json at the repository root; returns the commit it records. */
export async function writeBuildInfo(): Promise<string> {
  const root = new URL("..", import.meta.url).pathname;
  const commit = await gitCommit(root) ?? Deno.env.get("MRPC_TUNE_COMMIT") ?? "unknown";
  await Deno.writeTextFile(
    `${root}${BUILD_INFO}`,
    JSON.stringify({ version: VERSION, commit, built: new Date().toISOString() }, null, 2) + "\n",
  );
  return commit;
}

if (import.meta.main) console.error(`${BUILD_INFO}: ${VERSION} at ${await writeBuildInfo()}`);
