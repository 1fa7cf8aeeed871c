/**
 * `study_summary.json` and the lines a worker prints: each trial's state, value, parameters,
 * duration and failure reason, the best trial for the study's direction, the top trials, counts
 * by state and the parameter importances.
 *
 * @module
 */
import type { ParamValue } from "./distributions.ts";
import { paramImportances } from "./importance.ts";
import {
  Direction,
  type DirectionValue,
  parsePyDate,
  STATE_NAMES,
  type Trial,
  TrialState,
} from "./storages/mod.ts";
import type { Objective } from "./trial_runner.ts";

/** One trial in the summary. */
export interface TrialSummary {
  readonly number: number;
  readonly state: string;
  readonly value: number | null;
  readonly params: Record<string, ParamValue>;
  readonly duration_seconds: number | null;
  /** Why a FAIL trial failed (its `fail_reason` attribute); null otherwise. */
  readonly fail_reason: string | null;
}

/** `study_summary.json`. */
export interface StudySummary {
  readonly study_name: string;
  readonly storage: string;
  readonly direction: string;
  readonly objective: Objective;
  readonly sampler: string;
  readonly pruner: string;
  readonly n_trials: number;
  readonly states: Record<string, number>;
  readonly best_trial: TrialSummary | null;
  readonly best_params: Record<string, ParamValue> | null;
  readonly best_model: string | null;
  readonly top_trials: TrialSummary[];
  readonly importances: { name: string; importance: number }[];
  readonly importance_method: string;
  readonly trials: TrialSummary[];
}

/** How importances are computed (in `--help`, the docs and the summary). */
export const IMPORTANCE_METHOD = "fANOVA-style: a 64-tree random forest on the COMPLETE trials, " +
  "each parameter's first-order marginal variance (under the trials' empirical distribution), " +
  "normalised to sum 1";

/** Seconds from a trial's start to its end, or null while it has not ended. */
export function trialDuration(t: Trial): number | null {
  if (!t.datetimeStart || !t.datetimeComplete) return null;
  return (parsePyDate(t.datetimeComplete) - parsePyDate(t.datetimeStart)) / 1000;
}

function summarizeTrial(t: Trial): TrialSummary {
  return {
    number: t.number,
    state: STATE_NAMES[t.state],
    value: t.values?.[0] ?? null,
    params: t.params,
    duration_seconds: trialDuration(t),
    fail_reason: t.state === TrialState.FAIL
      ? String(t.systemAttrs.fail_reason ?? "no reason recorded")
      : null,
  };
}

/** Formats parameters for one line: `lr=3.00e-5 batch_size=16`. */
export function formatParams(params: Readonly<Record<string, ParamValue>>): string {
  return Object.entries(params).map(([k, v]) =>
    `${k}=${
      typeof v === "number" && !Number.isInteger(v)
        ? (Math.abs(v) < 1e-2 ? v.toExponential(2) : v.toPrecision(4))
        : v
    }`
  ).join(" ");
}

/** A duration for one line: `42.0s`, `3m07s`. */
export function formatSeconds(s: number): string {
  return s >= 60
    ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`
    : `${s.toFixed(1)}s`;
}

/** The best COMPLETE trial of `trials` for `direction`, or null. */
export function bestTrial(trials: readonly Trial[], direction: DirectionValue): Trial | null {
  let best: Trial | null = null;
  for (const t of trials) {
    if (t.state !== TrialState.COMPLETE || t.values === null) continue;
    const v = t.values[0];
    if (!best || (direction === Direction.MAXIMIZE ? v > best.values![0] : v < best.values![0])) {
      best = t;
    }
  }
  return best;
}

/** What a summary names of its study (a worker's settings have it all). */
export interface SummaryHeader {
  readonly studyName: string;
  readonly storage: string;
  readonly direction: "maximize" | "minimize";
  readonly objective: Objective;
  readonly sampler: string;
  readonly pruner: string;
  /** Seeds the importances' forest. */
  readonly seed: number;
}

/** Optuna's direction value of `"maximize"` / `"minimize"`. */
export function directionValue(direction: "maximize" | "minimize"): DirectionValue {
  return direction === "maximize" ? Direction.MAXIMIZE : Direction.MINIMIZE;
}

/** The summary of a study's trials; `bestModel` is the best/ folder, when it holds a model. */
export function summarize(
  s: SummaryHeader,
  trials: readonly Trial[],
  bestModel: string | null,
): StudySummary {
  const direction = directionValue(s.direction);
  const states: Record<string, number> = {};
  for (const name of Object.values(STATE_NAMES)) states[name] = 0;
  for (const t of trials) states[STATE_NAMES[t.state]]++;
  const complete = trials.filter((t) => t.state === TrialState.COMPLETE && t.values !== null)
    .sort((a, b) =>
      direction === Direction.MAXIMIZE ? b.values![0] - a.values![0] : a.values![0] - b.values![0]
    );
  const best = complete[0] ?? null;
  return {
    study_name: s.studyName,
    storage: s.storage,
    direction: s.direction,
    objective: s.objective,
    sampler: s.sampler,
    pruner: s.pruner,
    n_trials: trials.length,
    states,
    best_trial: best ? summarizeTrial(best) : null,
    best_params: best ? best.params : null,
    best_model: best ? bestModel : null,
    top_trials: complete.slice(0, 10).map(summarizeTrial),
    importances: paramImportances(trials, { seed: s.seed }),
    importance_method: IMPORTANCE_METHOD,
    trials: trials.map(summarizeTrial),
  };
}
