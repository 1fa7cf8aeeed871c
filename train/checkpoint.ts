/**
 * Training checkpoints: `<checkpoint_dir>/checkpoint-<step>/` holds the model as a Hugging Face
 * folder, `optimizer.safetensors` (AdamW moments under the parameter names, disk layout) and
 * `trainer_state.json`. Written atomically (temporary folder, fsync, completion marker, rename).
 *
 * @module
 */
import { basename, join } from "node:path";
import { InputError, osCause, RunError } from "../core/mod.ts";
import {
  readJsonFile,
  readSafetensorsFile,
  writeDirAtomic,
  writeJsonAtomic,
  writeSafetensorsFile,
} from "../io/mod.ts";
import {
  type DistilBertConfig,
  isLinearWeight,
  savePretrained,
  toDiskLayout,
  toMemoryLayout,
  type WeightData,
} from "../model/mod.ts";
import type { AdamWState } from "./adamw.ts";
import {
  checkpointName,
  checkpointStep,
  COMPLETE_MARKER,
  isCompleteCheckpoint,
  OPTIMIZER_FILE,
  TRAINER_STATE_FILE,
} from "./checkpoint_layout.ts";

/** One entry of the log history (HF Trainer style, with W&B metric keys). */
export type LogEntry = Record<string, number>;

/** Everything besides weights and moments that a resumed run needs to continue exactly. */
export interface TrainerState {
  /** Format version of this file. */
  readonly version: 1;
  /** Optimizer steps completed. */
  readonly global_step: number;
  /** Fractional epoch (`global_step / steps_per_epoch`). */
  readonly epoch: number;
  /** 0-based epoch the next step belongs to, and batches of its order already consumed. */
  readonly epoch_index: number;
  readonly batches_consumed_in_epoch: number;
  readonly steps_per_epoch: number;
  readonly total_steps: number;
  /** Applied AdamW steps (bias-correction count; smaller than global_step after skips). */
  readonly optimizer_steps: number;
  /**
   * Random state. Every random choice is a pure function of the seed and a position: the
   * epoch's data order of `deriveSeed(seed, epoch)`, dropout of `deriveSeed(seed, step)`.
   */
  readonly rng: { readonly seed: number; readonly scheme: string };
  readonly best_metric: number | null;
  /** Folder name of the best checkpoint (`checkpoint-<step>`, inside the checkpoint dir), or null. */
  readonly best_model_checkpoint: string | null;
  readonly evals_without_improvement: number;
  readonly nonfinite_steps: number;
  readonly consecutive_nonfinite: number;
  readonly log_history: readonly LogEntry[];
  /** The resolved configuration, without secrets. */
  readonly config: Readonly<Record<string, unknown>>;
  /** sha256 of the training and validation examples (absent in checkpoints of early versions). */
  readonly data?: { readonly train_sha256: string; readonly validation_sha256: string };
  /** The run's id: its record under `<checkpoint_dir>/runs/` and its W&B run. */
  readonly run_id?: string;
}

function isInt(v: unknown, min = 0): v is number {
  return Number.isInteger(v) && (v as number) >= min;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Checks a parsed `trainer_state.json` field by field (types and ranges); an `InputError`
 * naming the file and the field otherwise: `Invalid "ck/checkpoint-4/trainer_state.json": field
 * "global_step" (999) is beyond "total_steps" (12)`.
 */
export function validateTrainerState(json: unknown, path: string): TrainerState {
  const fail = (problem: string): never => {
    throw new InputError(`Invalid "${path}": ${problem}`);
  };
  if (!isRecord(json) || json.version !== 1) fail("not a mrpc-tune trainer state (version 1)");
  const s = json as Record<string, unknown>;
  const field = (name: string, ok: boolean, expected: string) => {
    if (!ok) {
      fail(`field "${name}" must be ${expected}, found ${JSON.stringify(s[name]) ?? "nothing"}`);
    }
  };
  for (const name of ["steps_per_epoch", "total_steps"]) {
    field(name, isInt(s[name], 1), "a positive integer");
  }
  for (
    const name of [
      "global_step",
      "epoch_index",
      "batches_consumed_in_epoch",
      "optimizer_steps",
      "evals_without_improvement",
      "nonfinite_steps",
      "consecutive_nonfinite",
    ]
  ) {
    field(name, isInt(s[name]), "a non-negative integer");
  }
  field("epoch", typeof s.epoch === "number" && s.epoch >= 0, "a non-negative number");
  const step = s.global_step as number, total = s.total_steps as number;
  if (step > total) fail(`field "global_step" (${step}) is beyond "total_steps" (${total})`);
  if ((s.optimizer_steps as number) > step) {
    fail(`field "optimizer_steps" (${s.optimizer_steps}) is beyond "global_step" (${step})`);
  }
  if ((s.consecutive_nonfinite as number) > (s.nonfinite_steps as number)) {
    fail(`field "consecutive_nonfinite" is beyond "nonfinite_steps"`);
  }
  field(
    "rng",
    isRecord(s.rng) && isInt(s.rng.seed) && typeof s.rng.scheme === "string",
    'an object {"seed": integer, "scheme": string}',
  );
  field(
    "best_metric",
    s.best_metric === null || (typeof s.best_metric === "number" && Number.isFinite(s.best_metric)),
    "null or a finite number",
  );
  field(
    "best_model_checkpoint",
    s.best_model_checkpoint === null ||
      (typeof s.best_model_checkpoint === "string" &&
        checkpointStep(basename(s.best_model_checkpoint)) !== null),
    'null or a "checkpoint-<step>" folder',
  );
  const history = s.log_history;
  field(
    "log_history",
    Array.isArray(history) &&
      history.every((e) =>
        isRecord(e) && isInt(e.step) &&
        Object.values(e).every((v) => typeof v === "number")
      ),
    'an array of objects of numbers with a "step"',
  );
  field("config", isRecord(s.config), "an object");
  if (s.run_id !== undefined) {
    field("run_id", typeof s.run_id === "string" && /^[\w.-]{1,64}$/.test(s.run_id), "a run id");
  }
  if (s.data !== undefined) {
    field(
      "data",
      isRecord(s.data) && typeof s.data.train_sha256 === "string" &&
        typeof s.data.validation_sha256 === "string",
      'an object {"train_sha256", "validation_sha256"}',
    );
  }
  return json as unknown as TrainerState;
}

/** Writes `checkpoint-<step>` under `checkpointDir` atomically; returns its path. */
export async function saveCheckpoint(
  checkpointDir: string,
  contents: {
    config: DistilBertConfig;
    /** Parameters in memory layout. */
    params: ReadonlyMap<string, Float32Array>;
    shapes: ReadonlyMap<string, readonly number[]>;
    optimizer: AdamWState;
    state: TrainerState;
    /** The tokenizer files written into the folder (read once, when the run started). */
    tokenizerFiles?: ReadonlyMap<string, Uint8Array>;
    /** Further JSON files written into the folder (e.g. `eval_results.json`). */
    extraJson?: Record<string, unknown>;
  },
): Promise<string> {
  const path = join(checkpointDir, checkpointName(contents.state.global_step));
  const disk = (source: ReadonlyMap<string, Float32Array>) => {
    const out = new Map<string, WeightData>();
    for (const [name, data] of source) {
      out.set(name, toDiskLayout(name, contents.shapes.get(name)!, data));
    }
    return out;
  };
  await writeDirAtomic(path, async (tmp) => {
    await savePretrained(tmp, {
      config: contents.config,
      weights: disk(contents.params),
      tokenizerFiles: contents.tokenizerFiles,
    });
    const moments = new Map<string, WeightData>();
    for (const [name, w] of disk(contents.optimizer.m)) moments.set(`exp_avg.${name}`, w);
    for (const [name, w] of disk(contents.optimizer.v)) moments.set(`exp_avg_sq.${name}`, w);
    await writeSafetensorsFile(join(tmp, OPTIMIZER_FILE), moments, {
      step: String(contents.optimizer.step),
    });
    await writeJsonAtomic(join(tmp, TRAINER_STATE_FILE), contents.state);
    for (const [name, value] of Object.entries(contents.extraJson ?? {})) {
      await writeJsonAtomic(join(tmp, name), value);
    }
    // Last, after every other file is written and fsynced.
    const marker = { complete: true, global_step: contents.state.global_step };
    await writeJsonAtomic(join(tmp, COMPLETE_MARKER), marker);
  }).catch((err) => {
    const cause = osCause(err);
    if (cause === null) throw err;
    throw new RunError(
      `Cannot save ${basename(path)} in "${checkpointDir}": ${cause}; the checkpoints saved ` +
        `before are whole (continue with --resume auto once the folder can be written)`,
      { cause: err },
    );
  });
  return path;
}

/** A checkpoint's optimizer state and trainer state, moments in memory layout. */
export interface LoadedCheckpoint {
  readonly optimizer: AdamWState;
  readonly state: TrainerState;
}

/**
 * Reads the optimizer and trainer state of a complete checkpoint folder (the weights are loaded
 * as a model folder by `loadPretrained`). `shapes` are the parameters' memory-layout shapes.
 */
export async function loadCheckpointState(
  path: string,
  shapes: ReadonlyMap<string, readonly number[]>,
): Promise<LoadedCheckpoint> {
  if (!(await isCompleteCheckpoint(path))) {
    throw new InputError(`Cannot resume from "${path}": not a complete checkpoint folder`);
  }
  const statePath = join(path, TRAINER_STATE_FILE);
  const state = validateTrainerState(await readJsonFile(statePath), statePath);
  const optPath = join(path, OPTIMIZER_FILE);
  const file = await readSafetensorsFile(optPath);
  const step = Number(file.metadata.step);
  if (!Number.isInteger(step) || step < 0) {
    throw new InputError(`Invalid "${optPath}": metadata "step" must be a non-negative integer`);
  }
  const m = new Map<string, Float32Array>();
  const v = new Map<string, Float32Array>();
  // Moments exist from the first applied step on; before it there are none.
  for (const [name, shape] of step === 0 ? [] : shapes) {
    for (const [prefix, target] of [["exp_avg", m], ["exp_avg_sq", v]] as const) {
      const t = file.tensors.get(`${prefix}.${name}`);
      if (!t) throw new InputError(`Invalid "${optPath}": missing tensor "${prefix}.${name}"`);
      const diskShape = isLinearWeight(name) ? [shape[1], shape[0]] : shape;
      if (t.shape.join() !== diskShape.join()) {
        throw new InputError(
          `Invalid "${optPath}": tensor "${prefix}.${name}" has shape [${t.shape}], expected [${diskShape}]`,
        );
      }
      target.set(name, toMemoryLayout(name, t.shape, t.data).data);
    }
  }
  return { optimizer: { step, m, v }, state };
}
