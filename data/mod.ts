/**
 * The data folder's public face: MRPC from GLUE TSV files, parquet or the Hugging Face Hub, the
 * BERT WordPiece tokenizer and pair encoding, batching with dynamic padding and seeded epoch
 * order, token-length statistics, the seedable PRNG, the generated demo task, the error classes
 * every layer raises and bounded HTTP retries. Other folders
 * import from here only.
 *
 * @example
 * ```ts
 * import { encodeExamples, epochOrder, loadMrpcSplit, loadTokenizer } from "./data/mod.ts";
 * ```
 *
 * @module
 */
export * from "./batching.ts";
export * from "./errors.ts";
export * from "./example.ts";
export * from "./hub.ts";
export * from "./mrpc.ts";
export * from "./mrpc_parquet.ts";
export * from "./retry.ts";
export * from "./rng.ts";
export * from "./synthetic_mrpc.ts";
export * from "./token_stats.ts";
export * from "./tokenizer.ts";
export * from "./tsv.ts";
