import { createHash } from "node:crypto";

/** One MRPC sentence pair. `label` is absent for the unlabelled test split. */
export interface PairExample {
  /** Row position in the source (0-based), or the dataset's `idx` column. */
  readonly idx: number;
  readonly sentence1: string;
  readonly sentence2: string;
  /** 0 = not_equivalent, 1 = equivalent. */
  readonly label?: 0 | 1;
}

/** The three MRPC splits, named as in the Hugging Face dataset `nyu-mll/glue`. */
export type SplitName = "train" | "validation" | "test";

/**
 * sha256 (hex) of `examples` as they were read: one `label<TAB>sentence1<TAB>sentence2` line
 * each, in order. The same data from a TSV, a parquet file or the Hub gives the same value, so a
 * resumed run can tell its data apart from other data wherever the file now lies.
 */
export function examplesSha256(examples: readonly PairExample[]): string {
  const hash = createHash("sha256");
  for (const e of examples) hash.update(`${e.label ?? ""}\t${e.sentence1}\t${e.sentence2}\n`);
  return hash.digest("hex");
}
