/**
 * Reads MRPC as the Hugging Face dataset `nyu-mll/glue` publishes it: one parquet file per split
 * with columns `sentence1`, `sentence2`, `label` (0 not_equivalent, 1 equivalent, -1 for the
 * unlabelled test split) and `idx`.
 *
 * @module
 */
import { parquetMetadata, parquetReadObjects, parquetSchema } from "hyparquet";
import { excerptValue, InputError } from "../core/mod.ts";
import type { PairExample, SplitName } from "./example.ts";

/** The Hub dataset that holds MRPC. */
export const MRPC_HUB_REPO = "nyu-mll/glue";

/** Each split's parquet file inside {@link MRPC_HUB_REPO}. */
export const MRPC_HUB_FILES: Readonly<Record<SplitName, string>> = Object.freeze({
  train: "mrpc/train-00000-of-00001.parquet",
  validation: "mrpc/validation-00000-of-00001.parquet",
  test: "mrpc/test-00000-of-00001.parquet",
});

/** The columns a MRPC parquet file must have. */
const MRPC_COLUMNS: readonly string[] = Object.freeze([
  "sentence1",
  "sentence2",
  "label",
  "idx",
]);

const decoder = new TextDecoder("utf-8", { fatal: true });

function asText(value: unknown): string | null {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return decoder.decode(value);
  return null;
}

function asInteger(value: unknown): number | null {
  if (typeof value === "bigint") {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : null;
  }
  return typeof value === "number" && Number.isInteger(value) ? value : null;
}

function show(value: unknown): string {
  return excerptValue(value);
}

/** Turns one parquet row into a PairExample, or throws an InputError naming the row. */
function toExample(row: Record<string, unknown>, rowNumber: number, path: string): PairExample {
  const where = `Cannot read "${path}" row ${rowNumber}`;
  const sentence1 = asText(row.sentence1);
  const sentence2 = asText(row.sentence2);
  if (sentence1 === null) {
    throw new InputError(`${where}: sentence1 ${show(row.sentence1)} is not text`);
  }
  if (sentence2 === null) {
    throw new InputError(`${where}: sentence2 ${show(row.sentence2)} is not text`);
  }
  const idx = asInteger(row.idx);
  if (idx === null || idx < 0) {
    throw new InputError(`${where}: idx ${show(row.idx)} is not a non-negative integer`);
  }
  const label = asInteger(row.label);
  if (label === -1) return { idx, sentence1, sentence2 };
  if (label === 0 || label === 1) return { idx, sentence1, sentence2, label };
  throw new InputError(`${where}: label ${show(row.label)} is not 0, 1 or -1`);
}

/**
 * Reads one MRPC split from a parquet file (as downloaded from `nyu-mll/glue`). A label of -1
 * (the test split) becomes an example without `label`. Throws InputError naming the file for an
 * unreadable file, a missing column, or a bad value (naming the row, 0-based).
 *
 * @example
 * ```ts
 * const train = await readMrpcParquet("train-00000-of-00001.parquet");
 * console.log(train.length, train[0].label);
 * ```
 */
export async function readMrpcParquet(path: string): Promise<PairExample[]> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    const reason = err instanceof Deno.errors.NotFound ? "no such file" : (err as Error).message;
    throw new InputError(`Cannot read "${path}": ${reason}`);
  }
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  let metadata;
  try {
    metadata = parquetMetadata(file);
  } catch (err) {
    throw new InputError(`Cannot read "${path}": not a parquet file (${(err as Error).message})`);
  }
  const present = parquetSchema(metadata).children.map((child) => child.element.name);
  const missing = MRPC_COLUMNS.filter((name) => !present.includes(name));
  if (missing.length > 0) {
    const found = present.map((name) => JSON.stringify(name)).join(", ");
    const names = missing.map((name) => JSON.stringify(name)).join(", ");
    throw new InputError(
      `Cannot read "${path}": missing column${missing.length > 1 ? "s" : ""} ${names} ` +
        `(found ${found || "none"})`,
    );
  }
  let rows: Record<string, unknown>[];
  try {
    rows = await parquetReadObjects({ file, metadata, columns: [...MRPC_COLUMNS] });
  } catch (err) {
    throw new InputError(`Cannot read "${path}": ${(err as Error).message}`);
  }
  return rows.map((row, i) => toExample(row, i, path));
}
