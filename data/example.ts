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
