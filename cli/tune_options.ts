/**
 * The option table of `tune`: every train flag but the ones it sets per trial (fixed for every
 * trial when given), then the study's own flags; and what `tune --demo` fixes.
 *
 * @module
 */
import type { OptionSpec, OptionValuesOf } from "./options.ts";
import { TRAIN_OPTIONS } from "./train_options.ts";

/** The tune command's own rows (the train table's rows come first). */
export const TUNE_ONLY_OPTIONS = [
  {
    name: "study_name",
    type: "string",
    default: "mrpc-tune",
    description: "Name of the study (Optuna's study_name)",
  },
  {
    name: "storage",
    type: "string",
    metavar: "FILE|redis://HOST:PORT[/DB]",
    description: "Optuna journal: a file (shared folders work) or Redis for workers on many " +
      "machines (default: <checkpoint_dir>/<study_name>/journal.log)",
  },
  {
    name: "n_trials",
    type: "int",
    default: 20,
    min: 1,
    description:
      "Trials of the study across all workers (finished, running, and failed ones not retried)",
  },
  {
    name: "timeout",
    type: "float",
    min: 0,
    minExclusive: true,
    metavar: "SECONDS",
    description: "Start no new trial after this many seconds",
  },
  {
    name: "sampler",
    type: "choice",
    choices: ["tpe", "random", "grid"],
    default: "tpe",
    description: "TPE (Optuna 3.1's defaults), random, or a grid",
  },
  {
    name: "constant_liar",
    type: "boolean",
    default: true,
    description: "TPE counts other workers' running trials as the worst value, so parallel " +
      "workers do not pile onto one point (Optuna's constant_liar; no effect with one worker)",
  },
  {
    name: "pruner",
    type: "choice",
    choices: ["none", "median", "asha"],
    default: "none",
    description: "Stop poor trials early: median, or asha (successive halving)",
  },
  {
    name: "objective",
    type: "choice",
    choices: ["accuracy", "f1", "loss"],
    default: "accuracy",
    description: "The validation metric a trial is scored by (its best evaluation)",
  },
  {
    name: "direction",
    type: "choice",
    choices: ["maximize", "minimize"],
    description: "Default: maximize accuracy/f1, minimize loss",
  },
  {
    name: "search_space",
    type: "string",
    metavar: "FILE",
    description:
      'JSON of train flags: {"lr": {"type": "float", "low": 1e-6, "high": 1e-4, "log": true}, "batch_size": "default", ...}',
  },
  {
    name: "lr_grid",
    type: "string",
    metavar: "LOW:HIGH:FACTOR",
    description:
      "Exponential learning-rate grid: LOW, then ×FACTOR while <= HIGH (with --sampler grid)",
  },
  {
    name: "fixed",
    type: "string",
    metavar: "k=v,...",
    description: "Train flags pinned for every trial (removed from the search space)",
  },
  {
    name: "retry_failed",
    type: "int",
    default: 0,
    min: 0,
    description: "Enqueue the parameters of a trial that failed on its own (a crash, a " +
      "non-finite loss) again, at most N times",
  },
  {
    name: "max_worker_retries",
    type: "int",
    default: 3,
    min: 0,
    description: "Resume a trial whose worker died (kill -9, OOM, preemption) at most N times " +
      "before it is a plain FAIL; these retries do not count toward --n_trials",
  },
  {
    name: "keep_trials",
    type: "boolean",
    default: false,
    description: "Keep every trial's weights (default: only the best, in best/)",
  },
  {
    name: "storage_timeout",
    type: "float",
    default: 60,
    min: 0,
    minExclusive: true,
    metavar: "SECONDS",
    description: "Retry a lost Redis storage this long (a Redis restart is survived); then " +
      "stop, the running trial checkpointed",
  },
  {
    name: "heartbeat_interval",
    type: "float",
    default: 60,
    min: 0,
    minExclusive: true,
    metavar: "SECONDS",
    description: "A running trial records a heartbeat this often",
  },
  {
    name: "grace_period",
    type: "float",
    default: 300,
    min: 0,
    minExclusive: true,
    metavar: "SECONDS",
    description: "A RUNNING trial without a heartbeat for this long is marked FAIL",
  },
] as const satisfies readonly OptionSpec[];

/**
 * Train flags that `tune` sets for each trial itself (its checkpoint dir, run name, W&B group and
 * job type, the metric from `--objective`), or that do not apply to a study (a trial resumes only
 * when it was interrupted; `--config` files are per run). They are not in tune's table.
 */
const PER_TRIAL_FLAGS = [
  "resume",
  "config",
  "overwrite_output_dir",
  "metric_for_best_model",
  "run_name",
  "wandb_group",
  "wandb_job_type",
] as const;

type PerTrialFlag = typeof PER_TRIAL_FLAGS[number];
type TrainRow = typeof TRAIN_OPTIONS[number];
/** Every per-trial flag, the checkpoint dir included (each trial has its own). */
export const PER_TRIAL: ReadonlySet<string> = new Set([...PER_TRIAL_FLAGS, "checkpoint_dir"]);

/** The train rows `tune` takes: every train flag but the per-trial ones. */
const TUNE_TRAIN_OPTIONS = TRAIN_OPTIONS.filter((
  o,
): o is Exclude<TrainRow, { name: PerTrialFlag }> =>
  !(PER_TRIAL_FLAGS as readonly string[]).includes(o.name)
);

/** Every row of `tune`: the train flags (fixed for every trial), then the study's. */
export const TUNE_OPTIONS = [...TUNE_TRAIN_OPTIONS, ...TUNE_ONLY_OPTIONS];

/** The typed values of {@linkcode TUNE_OPTIONS}. */
export type TuneValues = OptionValuesOf<typeof TUNE_OPTIONS>;

/**
 * What `tune --demo` fixes unless given: a trial of the offline demo in about 20 s on 2 cores
 * (its 8000 generated pairs, 3 epochs of batch 32, a 200-pair validation set), long enough that
 * the tiny model learns at every rate of the demo's lr range (measured: 0.85 to 0.94 accuracy
 * over 5e-4 to 3.5e-3, against a majority baseline of 0.715).
 */
export const TUNE_DEMO_DEFAULTS = {
  max_eval_samples: 200,
  epochs: 3,
  batch_size: 32,
} as const;
