/**
 * The Hugging Face DistilBERT `config.json`, parsed and validated. Field names stay HF's
 * (`dim`, `hidden_dim`, `n_layers`, ...) so the object reads like the file and saves back to it.
 *
 * @module
 */
import { InputError } from "../core/mod.ts";

/** A validated DistilBERT config (HF field names; labels in `id2label` order). */
export interface DistilBertConfig {
  /** Vocabulary rows of `word_embeddings`. */
  readonly vocab_size: number;
  /** Rows of `position_embeddings`: the longest sequence the model accepts. */
  readonly max_position_embeddings: number;
  /** Transformer blocks. */
  readonly n_layers: number;
  /** Attention heads per block (`dim` is a multiple of it). */
  readonly n_heads: number;
  /** Hidden size. */
  readonly dim: number;
  /** FFN inner size. */
  readonly hidden_dim: number;
  /** Dropout after the embeddings and after each FFN. */
  readonly dropout: number;
  /** Dropout on the attention weights. */
  readonly attention_dropout: number;
  /** Dropout between `pre_classifier` (after ReLU) and `classifier`. */
  readonly seq_classif_dropout: number;
  /** Std of the normal initialisation of new weights (the classification head). */
  readonly initializer_range: number;
  /** Token id of [PAD]; its embedding row gets no gradient. */
  readonly pad_token_id: number;
  /** Label names, index = class id (`num_labels` = its length). */
  readonly id2label: readonly string[];
  /** The parsed JSON object itself, so that saving keeps fields this code does not use. */
  readonly raw: Readonly<Record<string, unknown>>;
}

/** HF `DistilBertConfig` defaults, used for fields a config.json leaves out (as HF does). */
const DEFAULTS = {
  vocab_size: 30522,
  max_position_embeddings: 512,
  n_layers: 6,
  n_heads: 12,
  dim: 768,
  hidden_dim: 4 * 768,
  dropout: 0.1,
  attention_dropout: 0.1,
  seq_classif_dropout: 0.2,
  initializer_range: 0.02,
  pad_token_id: 0,
} as const;

const INTEGER_FIELDS = [
  "vocab_size",
  "max_position_embeddings",
  "n_layers",
  "n_heads",
  "dim",
  "hidden_dim",
] as const;
const RATE_FIELDS = ["dropout", "attention_dropout", "seq_classif_dropout"] as const;

/**
 * Validates a parsed `config.json` object. `source` names the file in error messages. Missing
 * fields take HF's defaults; wrong types or values, an activation other than `gelu`,
 * sinusoidal position embeddings, and malformed `id2label` are `InputError`s, e.g.
 * `Invalid "model/config.json": field "n_heads" must be a positive integer, found "two"`.
 */
export function parseDistilBertConfig(json: unknown, source: string): DistilBertConfig {
  const fail = (msg: string): never => {
    throw new InputError(`Invalid "${source}": ${msg}`);
  };
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    fail("expected a JSON object");
  }
  const raw = json as Record<string, unknown>;
  const field = (name: keyof typeof DEFAULTS): unknown => raw[name] ?? DEFAULTS[name];
  const out: Record<string, unknown> = {};
  for (const name of INTEGER_FIELDS) {
    const v = field(name);
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
      fail(`field "${name}" must be a positive integer, found ${JSON.stringify(v)}`);
    }
    out[name] = v;
  }
  for (const name of RATE_FIELDS) {
    const v = field(name);
    if (typeof v !== "number" || !(v >= 0 && v < 1)) {
      fail(`field "${name}" must be a number in [0, 1), found ${JSON.stringify(v)}`);
    }
    out[name] = v;
  }
  const range = field("initializer_range");
  if (typeof range !== "number" || !(range > 0) || !Number.isFinite(range)) {
    fail(`field "initializer_range" must be a positive number, found ${JSON.stringify(range)}`);
  }
  const pad = field("pad_token_id");
  if (
    typeof pad !== "number" || !Number.isInteger(pad) || pad < 0 || pad >= Number(out.vocab_size)
  ) {
    fail(
      `field "pad_token_id" must be an integer in [0, vocab_size), found ${JSON.stringify(pad)}`,
    );
  }
  if (Number(out.dim) % Number(out.n_heads) !== 0) {
    fail(`field "dim" (${out.dim}) must be a multiple of "n_heads" (${out.n_heads})`);
  }
  const activation = raw.activation ?? "gelu";
  if (activation !== "gelu") {
    fail(`field "activation" must be "gelu", found ${JSON.stringify(activation)}`);
  }
  if (raw.sinusoidal_pos_embds !== undefined && raw.sinusoidal_pos_embds !== false) {
    fail(`field "sinusoidal_pos_embds" must be false (learned position embeddings only)`);
  }
  const id2label = parseLabels(raw, fail);
  return Object.freeze({
    ...out,
    initializer_range: range,
    pad_token_id: pad,
    id2label: Object.freeze(id2label),
    raw: Object.freeze({ ...raw }),
  }) as DistilBertConfig;
}

/**
 * The config as a `config.json` object: `raw` with every modelled field (and `id2label`,
 * `label2id` in HF's string-keyed form) written back from `config`.
 */
export function distilBertConfigJson(config: DistilBertConfig): Record<string, unknown> {
  const id2label: Record<string, string> = {};
  const label2id: Record<string, number> = {};
  config.id2label.forEach((name, i) => {
    id2label[String(i)] = name;
    label2id[name] = i;
  });
  const json: Record<string, unknown> = { ...config.raw };
  for (const name of [...INTEGER_FIELDS, ...RATE_FIELDS] as const) json[name] = config[name];
  json.initializer_range = config.initializer_range;
  json.pad_token_id = config.pad_token_id;
  json.id2label = id2label;
  json.label2id = label2id;
  return json;
}

function parseLabels(raw: Record<string, unknown>, fail: (msg: string) => never): string[] {
  const given = raw.id2label;
  if (given === undefined) {
    const n = raw.num_labels ?? 2;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1) {
      fail(`field "num_labels" must be a positive integer, found ${JSON.stringify(n)}`);
    }
    return Array.from({ length: n as number }, (_, i) => `LABEL_${i}`);
  }
  if (typeof given !== "object" || given === null || Array.isArray(given)) {
    fail(`field "id2label" must be an object mapping "0".."n-1" to names`);
  }
  const entries = Object.entries(given as Record<string, unknown>);
  const labels: string[] = new Array(entries.length);
  for (const [key, name] of entries) {
    const i = Number(key);
    if (!/^\d+$/.test(key) || i >= entries.length || typeof name !== "string") {
      fail(`field "id2label" must map "0".."${entries.length - 1}" to names, found key "${key}"`);
    }
    labels[i] = name as string;
  }
  if (entries.length === 0) fail(`field "id2label" must name at least one label`);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === undefined) fail(`field "id2label" has no name for label "${i}"`);
  }
  if (raw.num_labels !== undefined && raw.num_labels !== labels.length) {
    fail(
      `field "num_labels" (${raw.num_labels}) disagrees with "id2label" (${labels.length} labels)`,
    );
  }
  return labels;
}
