/**
 * Learning-rate schedules with Hugging Face's definitions (`transformers/optimization.py`), as pure
 * functions of the optimizer step.
 *
 * Step `k` is the k-th optimizer step, 0-based: the first step uses `baseLr × multiplier(0)`, exactly
 * as a PyTorch `LambdaLR` right after construction, and `scheduler.step()` after every optimizer step
 * moves on to `k + 1`. All arithmetic is in float64, like the Python lambdas.
 *
 * @example
 * ```ts
 * const schedule = { kind: "linear", baseLr: 2e-5, warmupSteps: 10, totalSteps: 100 } as const;
 * lrAt(0, schedule); // 0 (warmup starts at zero)
 * lrAt(10, schedule); // 2e-5
 * lrAt(55, schedule); // 1e-5
 * ```
 * @module
 */

/** The schedule names, spelled as Hugging Face's `SchedulerType` values (`--lr_scheduler_type`). */
export const SCHEDULE_KINDS = [
  "linear",
  "cosine",
  "constant",
  "constant_with_warmup",
  "polynomial",
] as const;

/** One of {@link SCHEDULE_KINDS}. */
export type ScheduleKind = typeof SCHEDULE_KINDS[number];

/** Default `num_cycles` of `get_cosine_schedule_with_warmup` (a half cosine from 1 down to 0). */
export const DEFAULT_NUM_CYCLES = 0.5;
/** Default `lr_end` of `get_polynomial_decay_schedule_with_warmup` (an absolute learning rate). */
export const DEFAULT_LR_END = 1e-7;
/** Default `power` of `get_polynomial_decay_schedule_with_warmup`. */
export const DEFAULT_POWER = 1.0;

/** A learning-rate schedule: its kind, the peak learning rate and the step counts it needs. */
export interface LrSchedule {
  /** Which Hugging Face schedule. */
  readonly kind: ScheduleKind;
  /** The optimizer's initial learning rate (`--lr`); every schedule is a multiple of it. */
  readonly baseLr: number;
  /** Linear warmup steps from 0 to `baseLr`; ignored by `constant` (HF's has no warmup). */
  readonly warmupSteps: number;
  /** Total optimizer steps of the run (`num_training_steps`); the decaying schedules reach their end here. */
  readonly totalSteps: number;
  /** `cosine` only: number of cosine waves (default {@link DEFAULT_NUM_CYCLES}). */
  readonly numCycles?: number;
  /** `polynomial` only: final absolute learning rate, below `baseLr` (default {@link DEFAULT_LR_END}). */
  readonly lrEnd?: number;
  /** `polynomial` only: decay exponent (default {@link DEFAULT_POWER}). */
  readonly power?: number;
}

/**
 * The multiplier of `baseLr` at optimizer step `step` (0-based), i.e. the value of the Hugging Face
 * `lr_lambda(step)`.
 *
 * Throws a `RangeError` for a negative or fractional step, inconsistent step counts, or a polynomial
 * schedule whose `lrEnd` is not below `baseLr` (Hugging Face raises there too).
 */
export function lrMultiplier(step: number, schedule: LrSchedule): number {
  checkSchedule(schedule);
  if (!Number.isInteger(step) || step < 0) {
    throw new RangeError(`Learning-rate step must be a non-negative integer, got "${step}"`);
  }
  const { kind, warmupSteps: warmup, totalSteps: total } = schedule;
  if (kind === "constant") return 1;
  if (step < warmup) return step / Math.max(1, warmup);
  switch (kind) {
    case "constant_with_warmup":
      return 1;
    case "linear":
      return Math.max(0, (total - step) / Math.max(1, total - warmup));
    case "cosine": {
      const cycles = schedule.numCycles ?? DEFAULT_NUM_CYCLES;
      const progress = (step - warmup) / Math.max(1, total - warmup);
      return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * cycles * 2 * progress)));
    }
    case "polynomial":
      return polynomialMultiplier(step, schedule);
  }
}

/** The learning rate at optimizer step `step` (0-based): `baseLr × lrMultiplier(step, schedule)`. */
export function lrAt(step: number, schedule: LrSchedule): number {
  return schedule.baseLr * lrMultiplier(step, schedule);
}

/** How the warmup length is given: an explicit step count, or a fraction of all steps. */
export interface WarmupOptions {
  /** `--warmup_steps`: used when greater than 0 (default 0). */
  readonly warmupSteps?: number;
  /** `--warmup_ratio`: fraction of `totalSteps`, used when `warmupSteps` is 0 (default 0). */
  readonly warmupRatio?: number;
}

/**
 * Hugging Face's `TrainingArguments.get_warmup_steps`: `warmupSteps` when it is greater than 0, else
 * `ceil(totalSteps × warmupRatio)` (float64 as in Python, so 100 steps × 0.07 gives 8).
 */
export function resolveWarmupSteps(totalSteps: number, options: WarmupOptions = {}): number {
  const { warmupSteps = 0, warmupRatio = 0 } = options;
  if (!Number.isInteger(totalSteps) || totalSteps < 0) {
    throw new RangeError(`Total steps must be a non-negative integer, got "${totalSteps}"`);
  }
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0) {
    throw new RangeError(`Warmup steps must be a non-negative integer, got "${warmupSteps}"`);
  }
  if (!(warmupRatio >= 0 && warmupRatio <= 1)) {
    throw new RangeError(`Warmup ratio must be between 0 and 1, got "${warmupRatio}"`);
  }
  return warmupSteps > 0 ? warmupSteps : Math.ceil(totalSteps * warmupRatio);
}

/** `_get_polynomial_decay_schedule_with_warmup_lr_lambda` after the warmup branch. */
function polynomialMultiplier(step: number, schedule: LrSchedule): number {
  const { baseLr: lrInit, warmupSteps: warmup, totalSteps: total } = schedule;
  const lrEnd = schedule.lrEnd ?? DEFAULT_LR_END;
  const power = schedule.power ?? DEFAULT_POWER;
  const decaySteps = total - warmup;
  // HF divides by zero when step == warmup == total; the limit value lrEnd is used instead.
  if (step > total || decaySteps <= 0) return lrEnd / lrInit;
  const pctRemaining = 1 - (step - warmup) / decaySteps;
  const decay = (lrInit - lrEnd) * pctRemaining ** power + lrEnd;
  return decay / lrInit;
}

function checkSchedule(schedule: LrSchedule): void {
  const { kind, baseLr, warmupSteps, totalSteps } = schedule;
  if (!SCHEDULE_KINDS.includes(kind)) {
    throw new RangeError(
      `Unknown learning-rate schedule "${kind}": expected one of ${SCHEDULE_KINDS.join(", ")}`,
    );
  }
  if (!(Number.isFinite(baseLr) && baseLr >= 0)) {
    throw new RangeError(`Learning rate must be a finite number >= 0, got "${baseLr}"`);
  }
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0) {
    throw new RangeError(`Warmup steps must be a non-negative integer, got "${warmupSteps}"`);
  }
  if (!Number.isInteger(totalSteps) || totalSteps < 0) {
    throw new RangeError(`Total steps must be a non-negative integer, got "${totalSteps}"`);
  }
  if (kind === "polynomial") {
    const lrEnd = schedule.lrEnd ?? DEFAULT_LR_END;
    if (!(baseLr > lrEnd)) {
      throw new RangeError(
        `Polynomial lr_end "${lrEnd}" must be smaller than the learning rate "${baseLr}"`,
      );
    }
  }
}
