/**
 * The parameters file a W&B sweep agent hands the run it launches (`WANDB_SWEEP_PARAM_PATH`):
 * `{name: {value: v}}` as YAML (what the agent writes, with a `wandb_version: 1` line and
 * `desc` entries) or JSON. Only that shape of YAML is read — top-level names, each with a
 * `value:` scalar (number, boolean, null, or a plain or quoted string) — and anything else is an
 * error naming the file and the line.
 *
 * @module
 */
import { InputError } from "../data/mod.ts";

/** A sweep parameter's value. */
export type SweepValue = string | number | boolean | null;

function scalar(text: string): SweepValue {
  const t = text.trim();
  if (t === "" || t === "null" || t === "~" || t === "Null" || t === "NULL") return null;
  if (/^(true|True|TRUE)$/.test(t)) return true;
  if (/^(false|False|FALSE)$/.test(t)) return false;
  if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) return Number(t);
  if (/^".*"$/.test(t)) return JSON.parse(t);
  if (/^'.*'$/.test(t)) return t.slice(1, -1).replaceAll("''", "'");
  return t;
}

/** Parses the file's text (`path` for messages) into name → value. */
export function parseSweepParams(text: string, path: string): Record<string, SweepValue> {
  const bad = (problem: string) =>
    new InputError(`Invalid sweep parameters "${path}" (WANDB_SWEEP_PARAM_PATH): ${problem}`);
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (err) {
      throw bad((err as Error).message);
    }
    const out: Record<string, SweepValue> = {};
    for (const [name, entry] of Object.entries(json as Record<string, unknown>)) {
      if (name === "wandb_version") continue;
      if (typeof entry !== "object" || entry === null || !("value" in entry)) {
        throw bad(`"${name}" is not {"value": ...}`);
      }
      const v = (entry as { value: unknown }).value;
      if (typeof v === "object" && v !== null) throw bad(`"${name}" has a non-scalar value`);
      out[name] = v as SweepValue;
    }
    return out;
  }
  const out: Record<string, SweepValue> = {};
  let current: string | null = null;
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.replace(/\s+#.*$/, "");
    if (line.trim() === "" || line.trim().startsWith("#")) continue;
    const top = /^([A-Za-z_][\w.-]*):\s*(.*)$/.exec(line);
    if (top) {
      const [, name, rest] = top;
      if (name === "wandb_version") {
        current = null;
        continue;
      }
      if (rest.trim() !== "") throw bad(`line ${i + 1}: "${name}" is not a {value: ...} entry`);
      current = name;
      continue;
    }
    const nested = /^\s+([A-Za-z_]\w*):\s*(.*)$/.exec(line);
    if (!nested || current === null) throw bad(`line ${i + 1}: cannot read "${raw.trim()}"`);
    if (nested[1] === "value") out[current] = scalar(nested[2]);
    else if (nested[1] !== "desc") throw bad(`line ${i + 1}: unexpected "${nested[1]}"`);
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
