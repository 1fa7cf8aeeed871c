/**
 * Everything a training run needs before its first step: the tokenizer, the encoded splits, the
 * starting weights (pretrained folder, hub id, or a checkpoint to resume), and the optimizer state.
 *
 * @module
 */
import {
  type EncodedExample,
  encodeExamples,
  type HubOptions,
  InputError,
  loadMrpcSplit,
  loadTokenizer,
  type PairExample,
  type PairTokenizer,
} from "../data/mod.ts";
import { exists } from "../io/mod.ts";
import {
  loadPretrained,
  memoryShape,
  type PretrainedModel,
  resolveModelDir,
} from "../model/mod.ts";
import { isCompleteCheckpoint, loadCheckpointState, type LoadedCheckpoint } from "./checkpoint.ts";
import { latestCheckpoint, listCheckpoints } from "./checkpoint_rotation.ts";
import type { TrainConfig } from "./train_config.ts";

/** Splits given directly (the demo) instead of files or the Hub. */
export interface InlineData {
  readonly train: readonly PairExample[];
  readonly validation: readonly PairExample[];
}

/** What a run starts from. */
export interface TrainSetup {
  readonly tokenizer: PairTokenizer;
  /** Folder whose tokenizer files are copied into every saved model. */
  readonly tokenizerDir: string;
  readonly pretrained: PretrainedModel;
  readonly train: EncodedExample[];
  readonly validation: EncodedExample[];
  /** The checkpoint being resumed, with its optimizer and trainer state. */
  readonly resume: (LoadedCheckpoint & { path: string }) | null;
}

async function findResume(config: TrainConfig, log: (l: string) => void): Promise<string | null> {
  if (config.resume === undefined) {
    const earlier = await listCheckpoints(config.checkpoint_dir);
    if (earlier.length > 0) {
      throw new InputError(
        `Checkpoint dir "${config.checkpoint_dir}" already holds checkpoints ` +
          `(${earlier.map((c) => `checkpoint-${c.step}`).join(", ")}): pass --resume auto to ` +
          `continue that run, or choose another --checkpoint_dir`,
      );
    }
    return null;
  }
  if (config.resume === "auto") {
    const latest = await latestCheckpoint(config.checkpoint_dir);
    if (!latest) log(`No complete checkpoint in "${config.checkpoint_dir}": starting from scratch`);
    return latest?.path ?? null;
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

function firstN<T>(items: readonly T[], n: number | undefined): T[] {
  return n === undefined ? [...items] : items.slice(0, n);
}

/** Loads tokenizer, data, weights and (when resuming) the checkpoint state. */
export async function prepareTraining(
  config: TrainConfig,
  options: { hub?: HubOptions; data?: InlineData; log: (line: string) => void },
): Promise<TrainSetup> {
  const { log } = options;
  const resumePath = await findResume(config, log);
  const modelDir = resumePath ?? await resolveModelDir(config.model, { hub: options.hub });
  const tokenizer = await loadTokenizer(modelDir, { maxSeqLength: config.max_seq_length });
  const pretrained = await loadPretrained(modelDir, { seed: config.seed, log });
  let trainRaw: readonly PairExample[], validationRaw: readonly PairExample[];
  if (options.data) {
    ({ train: trainRaw, validation: validationRaw } = options.data);
  } else {
    if (!options.hub && (!config.train_file || !config.validation_file)) {
      throw new InputError("Cannot load MRPC: no --train_file/--validation_file and no hub access");
    }
    const hub = options.hub!;
    trainRaw = await loadMrpcSplit("train", { file: config.train_file, hub });
    validationRaw = await loadMrpcSplit("validation", { file: config.validation_file, hub });
  }
  const requireLabels = (split: string, examples: readonly PairExample[]) => {
    if (examples.length === 0) throw new InputError(`The ${split} split is empty`);
    const i = examples.findIndex((e) => e.label === undefined);
    if (i !== -1) throw new InputError(`The ${split} split has no label on example ${i}`);
  };
  requireLabels("train", trainRaw);
  requireLabels("validation", validationRaw);
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
  return {
    tokenizer,
    tokenizerDir: modelDir,
    pretrained,
    train,
    validation,
    resume,
  };
}
