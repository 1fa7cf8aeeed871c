/**
 * How a trial is run, as the tuning worker sees it: the worker hands a {@linkcode TrialSpec}
 * (number, parameters, checkpoint dir) to the {@linkcode TrialRunner} it was given, answers each
 * reported evaluation with the pruner's decision, and records the {@linkcode TrialOutcome}.
 *
 * Where the runner lives: tune/ only declares it, so that the study logic stays testable with an
 * in-process runner. The product's runner is `ProcessTrialRunner` in `cli/_trial_runner.ts`: each
 * trial is a `train` child process of this same program, so a crash, an out-of-memory kill or a
 * non-finite loss ends that trial alone. The child side is switched on by the environment
 * variable `MRPC_TUNE_TRIAL_CHANNEL=stdio` (`cli/_trial_channel.ts`): with it, `train` writes each
 * evaluation and its result as marked lines on stdout, reads the prune decisions from stdin, and
 * stops when stdin closes (its worker died).
 *
 * @module
 */
import type { ParamValue } from "./distributions.ts";

/** The objective metric of a study. */
export type Objective = "accuracy" | "f1" | "loss";

/** A trial's evaluation metrics. */
export interface TrialMetrics {
  readonly loss: number;
  readonly accuracy: number;
  readonly f1: number;
}

/** What the runner is asked to run. */
export interface TrialSpec {
  readonly number: number;
  /**
   * The trial whose run this is: its own number, or, for a trial that continues another's run
   * (resumed after its worker died or a signal), that trial's (its run keeps that name).
   */
  readonly origin: number;
  readonly params: Readonly<Record<string, ParamValue>>;
  /** The trial's checkpoint dir. */
  readonly dir: string;
  readonly studyName: string;
  readonly objective: Objective;
  /** Continue the run in `dir` from its latest complete checkpoint. */
  readonly resume: boolean;
  /** Start again in `dir`, replacing what an earlier attempt left there (it saved no checkpoint). */
  readonly overwrite: boolean;
}

/** How a trial ended. */
export type TrialOutcome =
  | { readonly kind: "complete"; readonly best: TrialMetrics; readonly globalStep: number }
  | { readonly kind: "pruned"; readonly step: number }
  | { readonly kind: "fail"; readonly reason: string }
  /** Stopped by a signal to the worker after saving a checkpoint: it resumes next time. */
  | { readonly kind: "interrupted" };

/** Runs one trial; `report` returns true when the trial must stop (pruned). */
export interface TrialRunner {
  run(
    spec: TrialSpec,
    report: (step: number, metrics: TrialMetrics) => Promise<boolean>,
  ): Promise<TrialOutcome>;
  /**
   * Asks the running trial to save a checkpoint and end (its outcome is then "interrupted"): the
   * worker lost its study storage and must stop without losing the trial's work.
   */
  stop?(): void;
}
