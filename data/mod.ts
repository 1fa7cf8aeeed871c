/**
 * MRPC itself: GLUE TSV files, the Hub's parquet splits (fetched through `hub/`), the BERT
 * WordPiece tokenizer and pair encoding, batching with dynamic padding and seeded epoch order,
 * token-length statistics, and the generated paraphrase task of the offline demo. Other folders
 * import from here only, and only for MRPC data (errors, the PRNG and retries are `core/`'s).
 *
 * @example
 * ```ts
 * import { encodeExamples, epochOrder, loadMrpcSplit, loadTokenizer } from "./data/mod.ts";
 * ```
 *
 * @module
 */
export {
  type Batch,
  batchCount,
  batchesInOrder,
  type BatchesOptions,
  collate,
  type CollateOptions,
  type EncodedExample,
  encodeExamples,
  epochOrder,
  type EpochOrderOptions,
  evalBatches,
  type EvalBatchesOptions,
  lengthGroupedOrder,
} from "./batching.ts";
export { examplesSha256, type PairExample, type SplitName } from "./example.ts";
export { loadMrpcSplit, type LoadMrpcSplitOptions } from "./mrpc.ts";
export { MRPC_HUB_FILES, MRPC_HUB_REPO, readMrpcParquet } from "./mrpc_parquet.ts";
export { generateParaphraseTask, type SyntheticTask } from "./synthetic_mrpc.ts";
export { quantile, type TokenStats, tokenStats, type TokenStatsOptions } from "./token_stats.ts";
export {
  assemblePair,
  type AssemblePairOptions,
  loadTokenizer,
  type LoadTokenizerOptions,
  longestFirstLengths,
  type PairEncoding,
  type PairTokenizer,
} from "./tokenizer.ts";
export { parseMrpcTsv, type ParseMrpcTsvOptions, readMrpcTsv } from "./tsv.ts";
