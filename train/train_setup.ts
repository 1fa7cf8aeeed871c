/**
 * Everything a training run needs before its first step, checked cheapest first so that bad input
 * fails before any download or training: the checkpoint folder (writable, not an earlier run's,
 * locked), the checkpoint to resume and its settings, the data files, then the model (local or
 * from the Hub), the tokenizer, the encoded splits and the optimizer state.
 *
 * @module
 */
import { basename, join } from "node:path";
import {
  type EncodedExample,
  encodeExamples,
  examplesSha256,
  loadMrpcSplit,
  loadTokenizer,
  type PairExample,
  type PairTokenizer,
} from "../data/mod.ts";
import { type HubOptions, withCacheHint } from "../hub/mod.ts";
import { InputError } from "../core/mod.ts";
import { checkWritableDir, exists, readJsonFile } from "../io/mod.ts";
import {
  loadPretrained,
  memoryShape,
  type PretrainedModel,
  readTokenizerFiles,
  resolveModelDir,
} from "../model/mod.ts";
import {
  loadCheckpointState,
  type LoadedCheckpoint,
  type TrainerState,
  validateTrainerState,
} from "./checkpoint.ts";
import { isCompleteCheckpoint, latestCheckpoint, TRAINER_STATE_FILE } from "./checkpoint_layout.ts";
import {
  acquireRunLock,
  clearEarlierRun,
  describeTakeOver,
  earlierRun,
  type RunLock,
} from "./run_dir.ts";
import { DATA_FILE_KEYS, FREE_KEYS, type TrainConfig, TRAJECTORY_KEYS } from "./train_config.ts";

/** Splits given directly (the demo) instead of files or the Hub. */
export interface InlineData {
  readonly train: readonly PairExample[];
  readonly validation: readonly PairExample[];
}

/** What a run starts from. */
export interface TrainSetup {
  /** The config the run follows: a resumed run's trajectory settings come from its checkpoint. */
  readonly config: TrainConfig;
  readonly tokenizer: PairTokenizer;
  /**
   * The tokenizer files written into every saved model, read when the run starts (the folder
   * they came from, a resumed checkpoint, may be rotated away during the run).
   */
  readonly tokenizerFiles: ReadonlyMap<string, Uint8Array>;
  readonly pretrained: PretrainedModel;
  readonly train: EncodedExample[];
  readonly validation: EncodedExample[];
  /** sha256 of the training and validation examples (`examplesSha256`), kept in checkpoints. */
  readonly data: { readonly train_sha256: string; readonly validation_sha256: string };
  /** The checkpoint being resumed, with its optimizer and trainer state. */
  readonly resume: (LoadedCheckpoint & { path: string }) | null;
  /** The checkpoint dir's lock, held until `runTraining` ends (it releases it). */
  readonly lock: RunLock;
}

/** Options of {@linkcode prepareTraining}. */
export interface PrepareOptions {
  /** Hub access (absent: local files only). */
  readonly hub?: HubOptions;
  /** Splits given directly (the demo) instead of files or the Hub. */
  readonly data?: InlineData;
  /**
   * Config keys the user set (flags, `--config`): on resume these must agree with the run's, the
   * others are taken from its checkpoint.
   */
  readonly explicit?: ReadonlySet<string>;
  readonly log: (line: string) => void;
}

/**
 * The checkpoint this run resumes from, or null for a fresh start. A folder that already holds a
 * run is never replaced without `--overwrite_output_dir`: a plain run into one is refused, and so
 * is `--resume auto` when there is no complete checkpoint to resume but a model or a run record.
 */
async function findResume(config: TrainConfig, log: (l: string) => void): Promise<string | null> {
  const dir = config.checkpoint_dir;
  const latest = config.resume === "auto" ? await latestCheckpoint(dir) : null;
  if (latest) return latest.path;
  if (config.resume === undefined || config.resume === "auto") {
    const earlier = await earlierRun(dir);
    const held = earlier.checkpoints.length > 0 || earlier.finalModel ||
      (config.resume === "auto" && earlier.records.length > 0);
    if (!held) {
      if (config.resume === "auto") log(`No checkpoint in "${dir}" yet: starting from scratch`);
      return null;
    }
    if (config.overwrite_output_dir) {
      const removed = await clearEarlierRun(dir);
      log(`Removed an earlier run from "${dir}" (--overwrite_output_dir): ${removed.join(", ")}`);
      return null;
    }
    throw new InputError(earlierRunRefusal(dir, earlier, config.resume === "auto"));
  }
  if (!(await exists(config.resume))) {
    throw new InputError(`Invalid --resume "${config.resume}": no such checkpoint folder`);
  }
  // Checked before its files are read as a model folder, whose errors would not say why.
  if (!(await isCompleteCheckpoint(config.resume))) {
    throw new InputError(`Cannot resume from "${config.resume}": not a complete checkpoint folder`);
  }
  return config.resume;
}

/** Why a run into `dir` is refused, and the choice that fits what is there. */
function earlierRunRefusal(
  dir: string,
  earlier: { checkpoints: string[]; finalModel: boolean; records: string[] },
  auto: boolean,
): string {
  const other = "--overwrite_output_dir to replace it, or choose another --checkpoint_dir";
  if (earlier.checkpoints.length > 0) {
    return `Checkpoint dir "${dir}" already holds checkpoints (${
      earlier.checkpoints.join(", ")
    }): pass --resume auto to continue that run, ${other}`;
  }
  const what = earlier.finalModel
    ? "a trained model (config.json, model.safetensors)"
    : `the record of a run that saved no checkpoint (${earlier.records.join(", ")})`;
  return auto
    ? `Cannot --resume auto in "${dir}": it holds no checkpoint to resume, but ${what}; pass ${other}`
    : `Checkpoint dir "${dir}" already holds ${what} and no checkpoint to resume: pass ${other}`;
}

function show(value: unknown): string {
  return value === undefined ? "(not set)" : JSON.stringify(value);
}

/**
 * The config of a resumed run: every trajectory setting from the checkpoint's config; one the
 * user set explicitly to another value is an `InputError` naming the flag and both values. Data
 * files may lie elsewhere now (their content is compared by sha256 later). Free settings keep
 * the run's values unless given; the invocation's own (checkpoint dir, resume) are this one's.
 */
export function resumeConfig(
  config: TrainConfig,
  stored: TrainerState,
  options: { explicit: ReadonlySet<string>; statePath: string },
): TrainConfig {
  const merged: Record<string, unknown> = { ...config };
  for (const key of TRAJECTORY_KEYS) {
    const saved = stored.config[key];
    const given = merged[key];
    if (options.explicit.has(key) && given !== saved && !DATA_FILE_KEYS.includes(key)) {
      throw new InputError(
        `Cannot resume with --${key} ${show(given)}: the run in "${config.checkpoint_dir}" ` +
          `was trained with --${key} ${show(saved)} (see "${options.statePath}"); settings that ` +
          `shape training cannot change on resume, start a new --checkpoint_dir to change them`,
      );
    }
    if (!options.explicit.has(key)) {
      if (saved === undefined) delete merged[key];
      else merged[key] = saved;
    }
  }
  for (const key of FREE_KEYS) {
    const saved = stored.config[key];
    if (!options.explicit.has(key) && saved !== undefined) merged[key] = saved;
  }
  // The stored values are the ones this program wrote from a TrainConfig of the same table.
  return Object.freeze(merged as unknown as TrainConfig);
}

function firstN<T>(items: readonly T[], n: number | undefined): T[] {
  return n === undefined ? [...items] : items.slice(0, n);
}

function requireLabels(split: string, examples: readonly PairExample[]): void {
  if (examples.length === 0) throw new InputError(`The ${split} split is empty`);
  const i = examples.findIndex((e) => e.label === undefined);
  if (i !== -1) throw new InputError(`The ${split} split has no label on example ${i}`);
}

/** Reads a checkpoint's trainer state (validated) and checks its best checkpoint is there. */
async function readResumeState(path: string, checkpointDir: string): Promise<TrainerState> {
  const statePath = join(path, TRAINER_STATE_FILE);
  const state = validateTrainerState(await readJsonFile(statePath), statePath);
  const best = state.best_model_checkpoint;
  if (best !== null && !(await isCompleteCheckpoint(join(checkpointDir, basename(best))))) {
    throw new InputError(
      `Invalid "${statePath}": field "best_model_checkpoint" names "${basename(best)}", which is ` +
        `not a complete checkpoint in "${checkpointDir}"`,
    );
  }
  return state;
}

/**
 * Checks and locks the checkpoint dir, then loads the resume state, data, weights and tokenizer.
 * The lock is released when this throws, else by `runTraining`.
 */
export async function prepareTraining(
  requested: TrainConfig,
  options: PrepareOptions,
): Promise<TrainSetup> {
  const { log } = options;
  const undoDir = await checkWritableDir(requested.checkpoint_dir, { what: "--checkpoint_dir" });
  const lock = await acquireRunLock(requested.checkpoint_dir);
  try {
    const resumePath = await findResume(requested, log);
    const stored = resumePath ? await readResumeState(resumePath, requested.checkpoint_dir) : null;
    const config = stored
      ? resumeConfig(requested, stored, {
        explicit: options.explicit ?? new Set(),
        statePath: join(resumePath!, TRAINER_STATE_FILE),
      })
      : requested;
    const hub = options.hub;
    // Local data files are cheap to check: before any download.
    let trainRaw = options.data?.train ??
      (config.train_file === undefined
        ? null
        : await loadMrpcSplit("train", { file: config.train_file, hub: hub! }));
    let validationRaw = options.data?.validation ??
      (config.validation_file === undefined
        ? null
        : await loadMrpcSplit("validation", { file: config.validation_file, hub: hub! }));
    if (!hub && (trainRaw === null || validationRaw === null)) {
      throw new InputError("Cannot load MRPC: no --train_file/--validation_file and no hub access");
    }
    const modelDir = resumePath ?? await resolveModelDir(config.model, { hub });
    const { tokenizer, pretrained } = await withCacheHint(hub, async () => ({
      tokenizer: await loadTokenizer(modelDir, { maxSeqLength: config.max_seq_length }),
      pretrained: await loadPretrained(modelDir, { seed: config.seed, log }),
    }));
    trainRaw ??= await withCacheHint(hub, () => loadMrpcSplit("train", { hub: hub! }));
    validationRaw ??= await withCacheHint(hub, () => loadMrpcSplit("validation", { hub: hub! }));
    requireLabels("train", trainRaw);
    requireLabels("validation", validationRaw);
    const data = {
      train_sha256: examplesSha256(trainRaw),
      validation_sha256: examplesSha256(validationRaw),
    };
    if (stored?.data) checkSameData(stored.data, data, config.checkpoint_dir);
    const train = encodeExamples(firstN(trainRaw, config.max_train_samples), tokenizer);
    const validation = encodeExamples(firstN(validationRaw, config.max_eval_samples), tokenizer);
    let resume: TrainSetup["resume"] = null;
    if (resumePath) {
      const shapes = new Map(
        [...pretrained.weights].map(([n, w]) => [n, memoryShape(n, w.shape)] as const),
      );
      resume = { path: resumePath, ...(await loadCheckpointState(resumePath, shapes)) };
      log(`Resuming from "${resumePath}" at step ${resume.state.global_step}`);
    }
    const takeOver = describeTakeOver(lock);
    if (takeOver) log(takeOver);
    return {
      config,
      tokenizer,
      tokenizerFiles: await readTokenizerFiles(modelDir),
      pretrained,
      train,
      validation,
      data,
      resume,
      lock,
    };
  } catch (err) {
    lock.release();
    await undoDir();
    throw err;
  }
}

function checkSameData(
  stored: NonNullable<TrainerState["data"]>,
  now: TrainSetup["data"],
  dir: string,
): void {
  for (
    const [split, key] of [["training", "train_sha256"], [
      "validation",
      "validation_sha256",
    ]] as const
  ) {
    if (stored[key] !== now[key]) {
      throw new InputError(
        `Cannot resume the run in "${dir}": its ${split} data differ from the run's (sha256 ` +
          `${now[key].slice(0, 12)}… instead of ${stored[key].slice(0, 12)}…); resume with the ` +
          `same data, or start a new --checkpoint_dir`,
      );
    }
  }
}
