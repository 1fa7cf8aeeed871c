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
  readonly max_train_samples?: number;
  readonly max_eval_samples?: number;
  readonly train_file?: string;
  readonly validation_file?: string;
  readonly logging_steps: number;
  readonly max_consecutive_nonfinite: number;
  readonly wandb_mode: "online" | "offline" | "disabled";
  readonly wandb_project: string;
  readonly wandb_entity?: string;
  readonly run_name?: string;
}
