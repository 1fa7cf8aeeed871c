/**
 * Writes small MRPC-shaped parquet files with the schema `nyu-mll/glue` publishes: `sentence1`
 * and `sentence2` (UTF-8 strings), `label` (INT64; -1 on the test split) and `idx` (INT32).
 *
 * @module
 */
import { parquetWriteBuffer } from "hyparquet-writer";
import type { ColumnSource } from "hyparquet-writer";

/** One row as it sits in the Hub's parquet file. */
export interface MrpcRow {
  readonly idx: number;
  readonly sentence1: string;
  readonly sentence2: string;
  readonly label: 0 | 1 | -1;
}

/** Five rows: labelled ones, a test-split row (-1), and non-ASCII text. */
export const SAMPLE_ROWS: readonly MrpcRow[] = [
  {
    idx: 0,
    sentence1: "Amrozi accused his brother.",
    sentence2: "He accused his brother.",
    label: 1,
  },
  {
    idx: 1,
    sentence1: "Yucaipa owned Dominick's.",
    sentence2: "Yucaipa bought Dominick's.",
    label: 0,
  },
  {
    idx: 2,
    sentence1: "Café prices rose 5 %.",
    sentence2: "Prices at the café rose — 5 %.",
    label: 1,
  },
  {
    idx: 3,
    sentence1: "The tech-heavy index fell.",
    sentence2: "The index closed lower.",
    label: -1,
  },
  { idx: 4, sentence1: "", sentence2: "An empty first sentence.", label: 0 },
];

/** Parquet bytes holding `rows`, without the columns named in `omit`. */
export function mrpcParquetBytes(
  rows: readonly MrpcRow[],
  omit: readonly string[] = [],
): Uint8Array {
  const columns: ColumnSource[] = [
    { name: "sentence1", data: rows.map((r) => r.sentence1), type: "STRING" },
    { name: "sentence2", data: rows.map((r) => r.sentence2), type: "STRING" },
    { name: "label", data: rows.map((r) => BigInt(r.label)), type: "INT64" },
    { name: "idx", data: rows.map((r) => r.idx), type: "INT32" },
  ];
  const columnData = columns.filter((c) => !omit.includes(c.name));
  return new Uint8Array(parquetWriteBuffer({ columnData }));
}
