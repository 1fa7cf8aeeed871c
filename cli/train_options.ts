/**
 * The `train` option table (also the base of `tune` and `demo`) and its resolution into a
 * frozen {@linkcode TrainConfig}: defaults -> optional `--config run.json` -> flags.
 *
 * @module
 */
import { join } from "node:path";
import { readJsonFile } from "../io/mod.ts";
import { DEFAULT_WANDB_PROJECT, readSweepParams, WANDB_MODES } from "../tracking/mod.ts";
import { SCHEDULE_KINDS, type TrainConfig } from "../train/mod.ts";
import {
  BACKEND_OPTION,
  BLAS_OPTION,
  FORCE_DOWNLOAD_OPTION,
  MAX_SEQ_LENGTH_OPTION,
  MODEL_OPTION,
  SEED_OPTION,
} from "./common_options.ts";
import {
  convertValue,
  type OptionSpec,
  type OptionValues,
  type OptionValuesOf,
  UsageError,
} from "./options.ts";

/** Options shared by every command that trains. */
export const TRAIN_OPTIONS = [
  {
    name: "config",
    type: "string",
    metavar: "FILE",
    description: "JSON file of flag values (flags given on the command line win)",
  },
  MODEL_OPTION,
  {
    name: "checkpoint_dir",
    type: "string",
    default: "models",
    metavar: "DIR",
    description: "Where checkpoints and the final best model are written",
  },
  {
    name: "lr",
    type: "float",
    default: 3e-5,
    min: 0,
    minExclusive: true,
    description: "Peak learning rate",
  },
  {
    name: "batch_size",
    type: "int",
    default: 16,
    min: 1,
    description: "Training examples per optimizer step (per accumulation micro-step)",
  },
  {
    name: "eval_batch_size",
    type: "int",
    default: 64,
    min: 1,
    description: "Examples per evaluation batch",
  },
  {
    name: "epochs",
    type: "float",
    default: 3,
    min: 0,
    minExclusive: true,
    description: "Training epochs",
  },
  {
    name: "max_steps",
    type: "int",
    default: 0,
    min: 0,
    description: "Total optimizer steps; overrides --epochs when > 0",
  },
  MAX_SEQ_LENGTH_OPTION,
  {
    name: "warmup_steps",
    type: "int",
    default: 0,
    min: 0,
    description: "Linear warmup steps (wins over --warmup_ratio when > 0)",
  },
  {
    name: "warmup_ratio",
    type: "float",
    default: 0,
    min: 0,
    max: 1,
    description: "Warmup as a fraction of total steps",
  },
  {
    name: "lr_scheduler",
    type: "choice",
    choices: SCHEDULE_KINDS,
    default: "linear",
    description: "Learning-rate schedule",
  },
  {
    name: "weight_decay",
    type: "float",
    default: 0.01,
    min: 0,
    description: "AdamW decoupled weight decay (not on biases and LayerNorm)",
  },
  {
    name: "max_grad_norm",
    type: "float",
    default: 1.0,
    min: 0,
    description: "Clip the global gradient L2 norm; 0 disables",
  },
  {
    name: "gradient_accumulation_steps",
    type: "int",
    default: 1,
    min: 1,
    description: "Micro-batches summed per optimizer step",
  },
  SEED_OPTION,
  {
    name: "eval_steps",
    type: "int",
    default: 0,
    min: 0,
    description: "Evaluate (and checkpoint) every N optimizer steps; 0 = every epoch",
  },
  {
    name: "save_total_limit",
    type: "int",
    default: 2,
    min: 0,
    description: "Keep at most N newest checkpoints plus the best; 0 keeps all",
  },
  {
    name: "early_stopping_patience",
    type: "int",
    default: 0,
    min: 0,
    description: "Stop after N evaluations without improvement; 0 = off",
  },
  {
    name: "metric_for_best_model",
    type: "choice",
    choices: ["accuracy", "f1", "loss"],
    default: "accuracy",
    description: "Validation metric that picks the best model",
  },
  {
    name: "group_by_length",
    type: "boolean",
    default: false,
    description: "Batch examples of similar length together (less padding)",
  },
  {
    name: "resume",
    type: "string",
    metavar: "PATH|auto",
    description: "Resume from a checkpoint folder, or auto = the latest complete one",
  },
  {
    name: "overwrite_output_dir",
    type: "boolean",
    default: false,
    description: "Train into a --checkpoint_dir that holds an earlier run's model or checkpoints " +
      "(they are removed)",
  },
  FORCE_DOWNLOAD_OPTION,
  { ...BACKEND_OPTION, description: "TensorFlow.js backend" },
  BLAS_OPTION,
  {
    name: "max_train_samples",
    type: "int",
    min: 1,
    description: "Use only the first N training examples",
  },
  {
    name: "max_eval_samples",
    type: "int",
    min: 1,
    description: "Use only the first N validation examples",
  },
  {
    name: "train_file",
    type: "string",
    metavar: "FILE",
    description: "GLUE MRPC TSV for training (default: the Hub's nyu-mll/glue)",
  },
  {
    name: "validation_file",
    type: "string",
    metavar: "FILE",
    description: "GLUE MRPC TSV for validation (default: the Hub's nyu-mll/glue)",
  },
  {
    name: "logging_steps",
    type: "int",
    default: 10,
    min: 1,
    description: "Log train loss/lr every N optimizer steps",
  },
  {
    name: "max_consecutive_nonfinite",
    type: "int",
    default: 10,
    min: 1,
    description: "Stop after N consecutive steps with non-finite loss or gradient norm",
  },
  {
    name: "demo",
    type: "boolean",
    default: false,
    description: "Offline demo: a tiny random model on a generated paraphrase task",
  },
  {
    name: "wandb_mode",
    type: "choice",
    choices: WANDB_MODES,
    description: "Weights & Biases mode (default: WANDB_MODE, else online with an API key, " +
      "otherwise offline)",
  },
  {
    name: "wandb_project",
    type: "string",
    description: `Weights & Biases project (default: WANDB_PROJECT, else ${DEFAULT_WANDB_PROJECT})`,
  },
  {
    name: "wandb_entity",
    type: "string",
    description: "Weights & Biases entity, user or team (default: WANDB_ENTITY, else the key's)",
  },
  {
    name: "run_name",
    type: "string",
    description: "Display name of the run (default: WANDB_NAME, else the run id)",
  },
  {
    name: "wandb_group",
    type: "string",
    description: "Group of the run (default: WANDB_RUN_GROUP)",
  },
  {
    name: "wandb_tags",
    type: "string",
    metavar: "A,B",
    description: "Comma-separated tags of the run (default: WANDB_TAGS)",
  },
  {
    name: "wandb_job_type",
    type: "string",
    description: "Job type of the run, e.g. train or trial (default: WANDB_JOB_TYPE)",
  },
] as const satisfies readonly OptionSpec[];

/** The typed values of {@linkcode TRAIN_OPTIONS}. */
export type TrainOptionValues = OptionValuesOf<typeof TRAIN_OPTIONS>;

/** The train config derived from the table: every row but `--config` and the `--demo` mode. */
export type TrainConfigOf<V extends TrainOptionValues> = Omit<V, "config" | "demo">;

/**
 * Merges a `--config` JSON object under the command-line flags. `explicit` holds the names of
 * flags given on the command line; the config file's keys must be known flags and are
 * validated like flags (errors name the file and the key).
 */
export function mergeConfigFile<V extends OptionValues>(
  table: readonly OptionSpec[],
  values: V,
  options: {
    explicit: ReadonlySet<string>;
    file: string;
    json: unknown;
    /** How messages name the file (default `config "FILE"`). */
    what?: string;
  },
): V {
  const { file, json } = options;
  const what = options.what ?? `config "${file}"`;
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new UsageError(`Invalid ${what}: expected a JSON object`);
  }
  const merged: OptionValues = { ...values };
  for (const [key, raw] of Object.entries(json)) {
    const spec = table.find((s) => s.name === key);
    if (!spec || key === "config") {
      throw new UsageError(`Invalid ${what}: unknown key "${key}"`);
    }
    if (options.explicit.has(key)) continue;
    if (raw === null || typeof raw === "object") {
      throw new UsageError(
        `Invalid ${what}: key "${key}" must be a string, number or boolean`,
      );
    }
    try {
      merged[key] = convertValue(spec, String(raw));
    } catch (err) {
      throw new UsageError(`Invalid ${what}: ${(err as Error).message}`);
    }
  }
  // Each key was converted by its own row, so the merged values keep the table's types.
  return merged as V;
}

/** A resolved run: its config and the keys the user set (flags and `--config` keys). */
export interface ResolvedTrain {
  readonly config: TrainConfig;
  /** Keys set on the command line or in the `--config` file (not defaults). */
  readonly explicit: ReadonlySet<string>;
}

/**
 * Applies the W&B sweep agent's parameters file (`WANDB_SWEEP_PARAM_PATH` in `env`) and then
 * `--config` where no flag was given (flags win, then the sweep's parameters, then the config
 * file), and freezes the values into a {@linkcode TrainConfig} (the `--config` path and the
 * `--demo` mode are not part of it); also says which keys the user set. Under a sweep agent
 * (`WANDB_SWEEP_ID` and `WANDB_RUN_ID` set) the checkpoint dir is
 * `<checkpoint_dir>/sweep-<sweep id>/<run id>`.
 */
export async function resolveTrainRun(
  values: TrainOptionValues,
  given: ReadonlySet<string>,
  env: Readonly<Record<string, string | undefined>> = {},
): Promise<ResolvedTrain> {
  let merged = values;
  const explicit = new Set(given);
  // A W&B sweep agent's parameters file: its values apply where no flag was given.
  const paramPath = env.WANDB_SWEEP_PARAM_PATH;
  if (paramPath) {
    const params = await readSweepParams(paramPath);
    merged = mergeConfigFile(TRAIN_OPTIONS, merged, {
      explicit: given,
      file: paramPath,
      json: params,
      what: `sweep parameters "${paramPath}" (WANDB_SWEEP_PARAM_PATH)`,
    });
    for (const key of Object.keys(params)) explicit.add(key);
  }
  const file = values.config;
  if (file !== undefined) {
    const json = await readJsonFile(file, { what: "--config" }).catch((err: Error) => {
      throw new UsageError(err.message.replace(/^Invalid --config/, "Invalid config"));
    });
    merged = mergeConfigFile(TRAIN_OPTIONS, merged, { explicit, file, json });
    for (const key of Object.keys(json as object)) explicit.add(key);
  }
  const { config: _config, demo: _demo, ...rest } = merged;
  let config: TrainConfig = rest;
  // Under a W&B sweep agent every run gets its own folder: runs of one sweep share the flags.
  const sweep = env.WANDB_SWEEP_ID, run = env.WANDB_RUN_ID;
  if (sweep && run) {
    const safe = (id: string) => id.replace(/[^\w.-]/g, "_");
    config = {
      ...config,
      checkpoint_dir: join(config.checkpoint_dir, `sweep-${safe(sweep)}`, safe(run)),
    };
  }
  return { config: Object.freeze(config), explicit };
}

/** {@linkcode resolveTrainRun}'s config alone. */
export async function resolveTrainConfig(
  values: TrainOptionValues,
  given: ReadonlySet<string>,
): Promise<TrainConfig> {
  return (await resolveTrainRun(values, given)).config;
}
