/**
 * GLUE MRPC TSV files: a UTF-8 byte-order mark (optional), a header, then one tab-separated row
 * per sentence pair. Rows are split on tabs only: the text holds unbalanced `"` quotes and control
 * characters, which are kept as they are.
 *
 * - Labelled form (train/dev): `Quality	#1 ID	#2 ID	#1 String	#2 String`; `idx` is the 0-based
 *   row position (as the Hugging Face dataset numbers it) and `label` the Quality column (0 or 1).
 * - Unlabelled form (test): `index	#1 ID	#2 ID	#1 String	#2 String`; `idx` is the index column.
 *
 * @example
 * ```ts
 * const train = await readMrpcTsv("../shared/data/mrpc/train.tsv");
 * train.length; // 3668
 * ```
 *
 * @module
 */
import { excerpt, InputError } from "../core/mod.ts";
import type { PairExample } from "./example.ts";

const LABELLED_HEADER = ["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"];
const UNLABELLED_HEADER = ["index", "#1 ID", "#2 ID", "#1 String", "#2 String"];
const COLUMNS = LABELLED_HEADER.length;

/** Options of {@linkcode parseMrpcTsv}. */
export interface ParseMrpcTsvOptions {
  /** The file name used in error messages. */
  readonly source: string;
}

/**
 * Reads a GLUE MRPC TSV file. Throws an {@linkcode InputError} naming the file (and the line, for
 * bad content) when it is missing, empty, not UTF-8, has an unknown header, a row with the wrong
 * column count, or a label that is not 0 or 1.
 */
export async function readMrpcTsv(path: string): Promise<PairExample[]> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new InputError(`Cannot read "${path}": file not found`);
    }
    if (err instanceof Deno.errors.IsADirectory) {
      throw new InputError(`Cannot read "${path}": it is a directory`);
    }
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new InputError(`Cannot read "${path}": permission denied`);
    }
    // Reading a directory fails with EISDIR on some platforms, and a generic error on others.
    if ((await Deno.stat(path).catch(() => null))?.isDirectory) {
      throw new InputError(`Cannot read "${path}": it is a directory`);
    }
    throw err;
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new InputError(`Cannot read "${path}": not valid UTF-8 text`);
  }
  return parseMrpcTsv(text, { source: path });
}

/** Parses the text of a GLUE MRPC TSV file (see the module doc for the two accepted forms). */
export function parseMrpcTsv(text: string, options: ParseMrpcTsvOptions): PairExample[] {
  const { source } = options;
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const lines = body.split("\n");
  // A trailing newline (or several) leaves empty last lines: they are not rows.
  while (lines.length > 0 && stripCr(lines[lines.length - 1]) === "") lines.pop();
  if (lines.length === 0) throw new InputError(`Cannot read "${source}": the file is empty`);

  const header = stripCr(lines[0]).split("\t");
  const labelled = sameColumns(header, LABELLED_HEADER);
  if (!labelled && !sameColumns(header, UNLABELLED_HEADER)) {
    throw new InputError(
      `Cannot read "${source}" line 1: unknown header ${excerpt(stripCr(lines[0]))} (expected ` +
        `"${LABELLED_HEADER.join("\\t")}" or "${UNLABELLED_HEADER.join("\\t")}")`,
    );
  }
  if (lines.length === 1) {
    throw new InputError(`Cannot read "${source}": no rows after the header`);
  }

  const examples: PairExample[] = [];
  for (let i = 1; i < lines.length; i++) {
    const lineNo = i + 1;
    const cols = stripCr(lines[i]).split("\t");
    if (cols.length !== COLUMNS) {
      throw new InputError(
        `Cannot read "${source}" line ${lineNo}: expected ${COLUMNS} tab-separated columns, ` +
          `found ${cols.length}`,
      );
    }
    const [first, , , sentence1, sentence2] = cols;
    if (labelled) {
      const label = parseLabel(first, source, lineNo);
      examples.push({ idx: i - 1, sentence1, sentence2, label });
    } else {
      examples.push({ idx: parseIndex(first, source, lineNo), sentence1, sentence2 });
    }
  }
  return examples;
}

function stripCr(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}

function sameColumns(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function parseLabel(raw: string, source: string, lineNo: number): 0 | 1 {
  const v = raw.trim();
  if (!/^[+-]?\d+$/.test(v)) {
    throw new InputError(
      `Cannot read "${source}" line ${lineNo}: label ${excerpt(raw)} is not an integer`,
    );
  }
  const n = Number(v);
  if (n !== 0 && n !== 1) {
    throw new InputError(
      `Cannot read "${source}" line ${lineNo}: label ${excerpt(raw)} is not 0 or 1`,
    );
  }
  return n;
}

function parseIndex(raw: string, source: string, lineNo: number): number {
  const v = raw.trim();
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) {
    throw new InputError(
      `Cannot read "${source}" line ${lineNo}: index ${excerpt(raw)} is not a non-negative integer`,
    );
  }
  return Number(v);
}
