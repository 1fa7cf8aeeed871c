/**
 * The first run on a machine without the Hugging Face Hub (folder-private): instead of one
 * missing file per wait, one line that says everything the command would have fetched, the
 * command that runs it from local files, and `deno task demo` for a try that needs nothing.
 *
 * @module
 */
import { RunError } from "../core/mod.ts";
import { MRPC_HUB_FILES, MRPC_HUB_REPO, type SplitName } from "../data/mod.ts";
import { downloadFile, HubDownloadFailed, type HubOptions, isRepoId } from "../hub/mod.ts";

/** The local-file flag of each split, and the GLUE file a user has for it. */
const SPLIT_FLAGS: Readonly<Record<SplitName, [string, string]>> = {
  train: ["--train_file", "train.tsv"],
  validation: ["--validation_file", "dev.tsv"],
  test: ["--test_file", "test.tsv"],
};

/** Whether `filename` of a Hub repository is in the cache already (nothing is fetched). */
function cached(repoId: string, filename: string, hub: HubOptions, dataset: boolean) {
  return downloadFile(repoId, filename, {
    hub: { ...hub, offline: true },
    repoType: dataset ? "dataset" : "model",
    progress: false,
  }).then(() => true, () => false);
}

/**
 * Runs `body` (a command's Hub phase); when the Hub cannot be reached, fails with one
 * `RunError` line naming every input it needs from the Hub that the cache lacks (the model,
 * splits with no file given), `<command> <local-file flags>`, and the demo.
 */
export async function withOfflineAdvice<T>(
  body: () => Promise<T>,
  needs: {
    readonly command: string;
    readonly hub: HubOptions;
    readonly model: string;
    /** The splits the command reads, with the file the user gave for each, if any. */
    readonly splits: Readonly<Partial<Record<SplitName, string | undefined>>>;
  },
): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (!(err instanceof HubDownloadFailed) || !err.unreachable) throw err;
    const { hub } = needs;
    const missing: string[] = [];
    const flags: string[] = [];
    const modelFromHub = isRepoId(needs.model) &&
      !(await Deno.stat(needs.model).then((s) => s.isDirectory, () => false));
    if (modelFromHub && !(await cached(needs.model, "config.json", hub, false))) {
      missing.push(`the model "${needs.model}"`);
      flags.push("--model DIR");
    }
    const splits: SplitName[] = [];
    for (const [split, file] of Object.entries(needs.splits) as [SplitName, string | undefined][]) {
      if (file !== undefined) continue;
      if (!(await cached(MRPC_HUB_REPO, MRPC_HUB_FILES[split], hub, true))) splits.push(split);
    }
    if (splits.length > 0) {
      const names = splits.length === 1
        ? splits[0]
        : `${splits.slice(0, -1).join(", ")} and ${splits.at(-1)}`;
      missing.push(
        `MRPC's ${names} split${splits.length > 1 ? "s" : ""} (dataset "${MRPC_HUB_REPO}")`,
      );
      for (const split of splits) flags.push(`${SPLIT_FLAGS[split][0]} ${SPLIT_FLAGS[split][1]}`);
    }
    if (missing.length === 0) missing.push(err.file);
    throw new RunError(
      `Cannot reach the Hugging Face Hub at "${err.endpoint}" (${err.reason}), so ` +
        `${missing.join(" and ")} could not be fetched: run from local files with ` +
        `\`deno task ${needs.command} ${flags.join(" ")}\`, set HF_HUB_OFFLINE=1 to use ` +
        `the cache, or try it offline with \`deno task demo\``,
      { cause: err },
    );
  }
}
