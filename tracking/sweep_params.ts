/**
 * The parameters file a W&B sweep agent hands the run it launches (`WANDB_SWEEP_PARAM_PATH`):
 * `{name: {value: v}}` as YAML (what the agent writes with PyYAML, with a `wandb_version: 1` line
 * and `desc` entries) or JSON. Parsed with the `yaml` package in YAML 1.1 mode, PyYAML's (so
 * `True`, `yes` and `1e-5` read as PyYAML reads them); each entry must be a mapping with a scalar
 * `value` (and optionally `desc`), and anything else is an error naming the file and the line.
 *
 * @module
 */
import { isMap, isScalar, LineCounter, parseDocument } from "yaml";
import { InputError } from "../core/mod.ts";

/** A sweep parameter's value. */
export type SweepValue = string | number | boolean | null;

/** Parses the file's text (`path` for messages) into name → value. */
export function parseSweepParams(text: string, path: string): Record<string, SweepValue> {
  const bad = (problem: string) =>
    new InputError(`Invalid sweep parameters "${path}" (WANDB_SWEEP_PARAM_PATH): ${problem}`);
  const json = text.trim().startsWith("{");
  const lines = new LineCounter();
  const doc = parseDocument(text, { version: "1.1", lineCounter: lines });
  if (doc.errors.length > 0) {
    const error = doc.errors[0];
    throw bad(`line ${error.linePos?.[0].line ?? 1}: ${error.message.split("\n")[0]}`);
  }
  const top = doc.contents;
  if (top === null) return {};
  if (!isMap(top)) throw bad("expected a mapping of names to {value: ...} entries");
  const out: Record<string, SweepValue> = {};
  for (const pair of top.items) {
    const name = String(isScalar(pair.key) ? pair.key.value : pair.key);
    if (name === "wandb_version") continue;
    const line = `line ${lines.linePos(isScalar(pair.key) ? pair.key.range![0] : 0).line}: `;
    const entry = pair.value;
    if (!isMap(entry) || !entry.has("value")) {
      throw bad(
        json ? `"${name}" is not {"value": ...}` : `${line}"${name}" is not a {value: ...} entry`,
      );
    }
    for (const item of entry.items) {
      const key = isScalar(item.key) ? String(item.key.value) : "";
      if (key !== "value" && key !== "desc") throw bad(`${line}unexpected "${key}" in "${name}"`);
    }
    const value = entry.get("value", true);
    const v = isScalar(value) ? value.value : value;
    if (v !== null && !["string", "number", "boolean"].includes(typeof v)) {
      throw bad(`${line}"${name}" has a non-scalar value`);
    }
    out[name] = v as SweepValue;
  }
  return out;
}

/** Reads the parameters file at `path`. */
export async function readSweepParams(path: string): Promise<Record<string, SweepValue>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new InputError(
      `Invalid sweep parameters "${path}" (WANDB_SWEEP_PARAM_PATH): ${
        err instanceof Deno.errors.NotFound ? "no such file" : (err as Error).message
      }`,
    );
  }
  return parseSweepParams(text, path);
}
