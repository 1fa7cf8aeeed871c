/**
 * The resolved training configuration that the CLI builds from defaults, `--config` and flags,
 * and passes down frozen. Keys mirror the CLI flags (snake_case, as HF's TrainingArguments); the
 * train option table (cli/train_options.ts) is its source, and a type-level test keeps the two
 * equal.
 *
 * @module
 */
import type { BackendChoice } from "../backend/mod.ts";
import type { ScheduleKind } from "./lr_schedule.ts";

/** Resolved, validated training configuration (frozen). Keys mirror the flags. */
export interface TrainConfig {
  readonly model: string;
  readonly checkpoint_dir: string;
  readonly lr: number;
  readonly batch_size: number;
  readonly eval_batch_size: number;
  readonly epochs: number;
  readonly max_steps: number;
  readonly max_seq_length: number;
  readonly warmup_steps: number;
  readonly warmup_ratio: number;
  readonly lr_scheduler: ScheduleKind;
  readonly weight_decay: number;
  readonly max_grad_norm: number;
  readonly gradient_accumulation_steps: number;
  readonly seed: number;
  readonly eval_steps: number;
  readonly save_total_limit: number;
  readonly early_stopping_patience: number;
  readonly metric_for_best_model: "accuracy" | "f1" | "loss";
  readonly group_by_length: boolean;
  readonly resume?: string;
  readonly backend: BackendChoice;
  /** `--blas`: native BLAS for the wasm matmuls (`auto`, `off` or a library); unset: auto. */
  readonly blas?: string;
  readonly max_train_samples?: number;
  readonly max_eval_samples?: number;
  readonly train_file?: string;
  readonly validation_file?: string;
  readonly logging_steps: number;
  readonly max_consecutive_nonfinite: number;
  readonly wandb_mode?: "online" | "offline" | "disabled";
  readonly wandb_project?: string;
  readonly wandb_entity?: string;
  readonly run_name?: string;
  readonly wandb_group?: string;
  readonly wandb_tags?: string;
  readonly wandb_job_type?: string;
  readonly overwrite_output_dir: boolean;
  readonly force_download: boolean;
}

/**
 * Settings that shape the trajectory of a run: a resumed run takes them from its checkpoint, and
 * a flag that gives one of them another value is an error. The data files may be given under
 * another path (a moved folder) as long as their content, checked by sha256, is the same.
 */
export const TRAJECTORY_KEYS = [
  "model",
  "train_file",
  "validation_file",
  "max_train_samples",
  "max_eval_samples",
  "max_seq_length",
  "batch_size",
  "gradient_accumulation_steps",
  "lr",
  "lr_scheduler",
  "warmup_steps",
  "warmup_ratio",
  "weight_decay",
  "max_grad_norm",
  "seed",
  "epochs",
  "max_steps",
  "group_by_length",
  "eval_steps",
  "metric_for_best_model",
  "early_stopping_patience",
] as const satisfies readonly (keyof TrainConfig)[];

/**
 * Settings that do not change the weights or the best model: a resumed run keeps the run's
 * values unless a flag gives another.
 */
export const FREE_KEYS = [
  "backend",
  "blas",
  "eval_batch_size",
  "logging_steps",
  "save_total_limit",
  "max_consecutive_nonfinite",
  "wandb_mode",
  "wandb_project",
  "wandb_entity",
  "run_name",
  "wandb_group",
  "wandb_tags",
  "wandb_job_type",
] as const satisfies readonly (keyof TrainConfig)[];

/** Settings of this invocation only: never taken from a checkpoint. */
export const INVOCATION_KEYS = [
  "checkpoint_dir",
  "resume",
  "overwrite_output_dir",
  "force_download",
] as const satisfies readonly (keyof TrainConfig)[];

/** The data files given under another path but with the same content may resume. */
export const DATA_FILE_KEYS: readonly (keyof TrainConfig)[] = ["train_file", "validation_file"];
