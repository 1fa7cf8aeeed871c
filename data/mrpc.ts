/**
 * One MRPC split from wherever the user points: a local file (GLUE TSV, or parquet when the name
 * ends in `.parquet`), or, without a file, the split's parquet from the Hugging Face dataset
 * `nyu-mll/glue` through the hub cache.
 *
 * @example
 * ```ts
 * const hub = hubOptionsFromEnv(Deno.env.toObject());
 * const dev = await loadMrpcSplit("validation", { file: "../shared/data/mrpc/dev.tsv", hub });
 * const test = await loadMrpcSplit("test", { hub }); // nyu-mll/glue mrpc/test-00000-of-00001.parquet
 * ```
 *
 * @module
 */
import type { PairExample, SplitName } from "./example.ts";
import { downloadFile, type HubOptions } from "../hub/mod.ts";
import { MRPC_HUB_FILES, MRPC_HUB_REPO, readMrpcParquet } from "./mrpc_parquet.ts";
import { readMrpcTsv } from "./tsv.ts";

/** Options of {@linkcode loadMrpcSplit}. */
export interface LoadMrpcSplitOptions {
  /** A local file for this split; absent: download the split from the Hub. */
  readonly file?: string;
  /** Where the Hub is and where its cache lives (used only without `file`). */
  readonly hub: HubOptions;
  /** Hub revision of `nyu-mll/glue` (default "main"). */
  readonly revision?: string;
}

/**
 * Loads `split` from `options.file` (TSV, or parquet by extension), else from the Hub's
 * `nyu-mll/glue` parquet. Bad files and offline cache misses are InputErrors naming the file.
 */
export async function loadMrpcSplit(
  split: SplitName,
  options: LoadMrpcSplitOptions,
): Promise<PairExample[]> {
  if (options.file !== undefined) {
    return options.file.toLowerCase().endsWith(".parquet")
      ? await readMrpcParquet(options.file)
      : await readMrpcTsv(options.file);
  }
  const path = await downloadFile(MRPC_HUB_REPO, MRPC_HUB_FILES[split], {
    hub: options.hub,
    repoType: "dataset",
    ...(options.revision === undefined ? {} : { revision: options.revision }),
  });
  return await readMrpcParquet(path);
}
