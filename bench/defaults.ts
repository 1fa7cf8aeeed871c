/**
 * What `bench` measures when no file is named: DistilBERT-base's shapes and MRPC's token lengths,
 * carried by the program (`bench/data/`), so that a fresh checkout or the binary benchmarks
 * without downloads.
 *
 * - `distilbert_base_uncased_config.json`: the Hugging Face Hub's `config.json` of
 *   `distilbert-base-uncased`, verbatim (the weights stay random: only the shapes matter).
 * - `mrpc_train_token_lengths.json`: the token count of each of GLUE MRPC's 3668 training pairs as
 *   `bert-base-uncased`'s WordPiece encodes them (`[CLS] a [SEP] b [SEP]`, no truncation).
 *
 * @module
 */
import config from "./data/distilbert_base_uncased_config.json" with { type: "json" };
import lengths from "./data/mrpc_train_token_lengths.json" with { type: "json" };

/** How the built-in config is named where a file path would be (no `--model_config`). */
export const BUILT_IN_MODEL_CONFIG = "distilbert-base-uncased (built in)";

/** `distilbert-base-uncased`'s config.json, as the Hub serves it. */
export function defaultModelConfigJson(): Record<string, unknown> {
  return structuredClone(config);
}

/** The token lengths of MRPC's training pairs (a `token_lengths` file's `train` array). */
export function defaultTokenLengths(): number[] {
  return [...lengths.train];
}
