/**
 * Hugging Face model folders: resolve a local folder or a hub id, load `config.json` +
 * `model.safetensors` as DistilBertForSequenceClassification weights (disk layout, HF names),
 * and save a folder that Python `transformers` loads with `from_pretrained` unchanged.
 *
 * @module
 */
import { basename, join } from "node:path";
import { downloadFile, type HubOptions, isRepoId } from "../hub/mod.ts";
import { InputError } from "../core/mod.ts";
import {
  readJsonFile,
  readSafetensorsFile,
  refusePickle,
  writeFileAtomic,
  writeJsonAtomic,
  writeSafetensorsFile,
} from "../io/mod.ts";
import { type DistilBertConfig, distilBertConfigJson, parseDistilBertConfig } from "./config.ts";
import { initHeadWeights } from "./init.ts";
import { distilBertParamShapes, HEAD_PARAM_NAMES, type WeightData } from "./weight_layout.ts";

/** Tokenizer files copied along with a model (those that exist). */
export const TOKENIZER_FILES: readonly string[] = [
  "tokenizer.json",
  "tokenizer_config.json",
  "vocab.txt",
  "special_tokens_map.json",
];

/** Tensors of the hub's masked-LM checkpoint that a classifier does not use. */
const MASKED_LM_PREFIXES = ["vocab_transform.", "vocab_layer_norm.", "vocab_projector."];

/** A loaded model folder: config and weights in disk layout under HF state_dict names. */
export interface PretrainedModel {
  readonly dir: string;
  readonly config: DistilBertConfig;
  readonly weights: Map<string, WeightData>;
  /** True when the classification head was newly initialised (masked-LM checkpoint). */
  readonly headInitialised: boolean;
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/**
 * Returns a local folder holding the model: `nameOrDir` itself when it is a directory, else the
 * hub snapshot folder after downloading `config.json`, `model.safetensors` and the tokenizer
 * files the repository has.
 */
export async function resolveModelDir(
  nameOrDir: string,
  options: { hub?: HubOptions } = {},
): Promise<string> {
  if (await isDir(nameOrDir)) return nameOrDir;
  const isFile = await Deno.stat(nameOrDir).then((s) => s.isFile, () => false);
  if (isFile) throw new InputError(`Cannot load model "${nameOrDir}": it is a file, not a folder`);
  const pathLike = /^(\.{1,2}|~)?\//.test(nameOrDir) || nameOrDir.includes("\\");
  if (pathLike || !isRepoId(nameOrDir)) {
    throw new InputError(
      `Cannot find model "${nameOrDir}": no such folder, and it is not a Hub model id`,
    );
  }
  if (!options.hub) throw new InputError(`Cannot find model folder "${nameOrDir}"`);
  const hub = options.hub;
  let config: string;
  try {
    config = await downloadFile(nameOrDir, "config.json", { hub });
  } catch (err) {
    if (!(err instanceof InputError && /^Cannot (find|access) /.test(err.message))) throw err;
    const status = /\((HTTP [^)]*|HF_HUB_OFFLINE=1)\)/.exec(err.message)?.[1];
    const where = hub.offline
      ? `the cache "${hub.cacheDir}" (HF_HUB_OFFLINE=1)`
      : `the Hub "${hub.endpoint}"`;
    throw new InputError(
      `Cannot find model "${nameOrDir}": no such local folder, and ${where} has no model ` +
        `"${nameOrDir}"${status && !hub.offline ? ` (${status})` : ""}`,
    );
  }
  await downloadFile(nameOrDir, "model.safetensors", { hub });
  for (const name of TOKENIZER_FILES) {
    try {
      await downloadFile(nameOrDir, name, { hub });
    } catch (err) {
      if (!(err instanceof InputError && /^Cannot find /.test(err.message))) throw err;
    }
  }
  return join(config, "..");
}

/** Reads and validates `<dir>/config.json`. */
export async function readModelConfig(dir: string): Promise<DistilBertConfig> {
  const path = join(dir, "config.json");
  return parseDistilBertConfig(await readJsonFile(path), path);
}

/**
 * Loads `<dir>/model.safetensors` checked against `config`: masked-LM `vocab_*` tensors are
 * skipped; a checkpoint without any head tensor gets a new head from `seed` (logged once);
 * a missing, extra or mis-shaped tensor is an InputError naming it and both shapes.
 */
export async function loadPretrained(
  dir: string,
  options: { seed: number; log?: (line: string) => void },
): Promise<PretrainedModel> {
  const config = await readModelConfig(dir);
  const path = join(dir, "model.safetensors");
  try {
    await Deno.stat(path);
  } catch {
    for (const pickle of ["pytorch_model.bin", "model.pt", "model.pth"]) {
      try {
        await Deno.stat(join(dir, pickle));
      } catch {
        continue;
      }
      refusePickle(join(dir, pickle));
    }
    throw new InputError(`Cannot load model "${dir}": missing "model.safetensors"`);
  }
  const file = await readSafetensorsFile(path);
  const expected = distilBertParamShapes(config);
  const weights = new Map<string, WeightData>();
  for (const [rawName, t] of file.tensors) {
    const name = rawName.startsWith("distilbert.") || HEAD_PARAM_NAMES.includes(rawName)
      ? rawName
      : `distilbert.${rawName}`; // DistilBertModel checkpoints have no "distilbert." prefix.
    if (MASKED_LM_PREFIXES.some((p) => rawName.startsWith(p))) continue;
    const shape = expected.get(name);
    if (!shape) throw new InputError(`Cannot load "${path}": unexpected tensor "${rawName}"`);
    if (shape.length !== t.shape.length || shape.some((d, i) => d !== t.shape[i])) {
      throw new InputError(
        `Cannot load "${path}": tensor "${rawName}" has shape [${t.shape}], expected [${shape}]`,
      );
    }
    const bad = t.data.findIndex((x) => !Number.isFinite(x));
    if (bad !== -1) {
      throw new InputError(
        `Cannot load "${path}": tensor "${rawName}" holds ${t.data[bad]} at index ${bad} ` +
          `(a diverged or corrupted model)`,
      );
    }
    weights.set(name, { shape: t.shape, data: t.data });
  }
  const headPresent = HEAD_PARAM_NAMES.filter((n) => weights.has(n));
  const headInitialised = headPresent.length === 0;
  if (headInitialised) {
    for (const [name, w] of initHeadWeights(config, options.seed)) weights.set(name, w);
    options.log?.(
      `Initialised the classification head (pre_classifier, classifier) from N(0, ${config.initializer_range}) with seed ${options.seed}: "${
        basename(dir)
      }" has none`,
    );
  }
  for (const [name, shape] of expected) {
    if (!weights.has(name)) {
      throw new InputError(`Cannot load "${path}": missing tensor "${name}" of shape [${shape}]`);
    }
  }
  return { dir, config, weights, headInitialised };
}

/**
 * The tokenizer files of model folder `dir` ({@linkcode TOKENIZER_FILES}, those that exist), read
 * once, so that every folder written later carries them, whatever happens to `dir` meanwhile.
 */
export async function readTokenizerFiles(dir: string): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for (const name of TOKENIZER_FILES) {
    const bytes = await Deno.readFile(join(dir, name)).catch(() => null);
    if (bytes) files.set(name, bytes);
  }
  return files;
}

/**
 * Writes an HF folder into `dir` (which must exist): `config.json` with
 * `architectures: ["DistilBertForSequenceClassification"]` and `id2label`/`label2id`,
 * `model.safetensors` (disk layout), and the tokenizer files: `tokenizerFiles` as read before, or
 * those found in `tokenizerDir`. Each file is written atomically.
 */
export async function savePretrained(
  dir: string,
  model: {
    config: DistilBertConfig;
    weights: Map<string, WeightData>;
    tokenizerDir?: string;
    tokenizerFiles?: ReadonlyMap<string, Uint8Array>;
  },
): Promise<void> {
  const json = distilBertConfigJson(model.config);
  json.architectures = ["DistilBertForSequenceClassification"];
  json.model_type = "distilbert";
  await writeJsonAtomic(join(dir, "config.json"), json);
  await writeSafetensorsFile(join(dir, "model.safetensors"), model.weights, { format: "pt" });
  const files = model.tokenizerFiles ??
    (model.tokenizerDir ? await readTokenizerFiles(model.tokenizerDir) : new Map());
  for (const [name, bytes] of files) await writeFileAtomic(join(dir, name), bytes);
}
