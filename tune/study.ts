/**
 * A study (Optuna's shape): a named, directed set of trials in journal storage, a sampler and a
 * pruner. `ask` starts the next trial — failing stale ones first (a RUNNING trial whose heartbeat
 * is older than the grace period, or whose worker process on this host is gone), re-enqueueing
 * failed ones to be retried, then claiming a
 * WAITING trial (an enqueued grid point or retry) or creating a new one — all inside the journal
 * lock, so that workers never start one trial twice, and only while finished + running trials
 * are fewer than `nTrials`. The `TrialHandle` it returns suggests parameters, reports
 * intermediate values and asks the pruner.
 *
 * @module
 */
import {
  categoricalDist,
  type Choice,
  type Distribution,
  floatDist,
  intDist,
  type ParamValue,
} from "./distributions.ts";
import {
  type DirectionValue,
  isFinished,
  type JournalState,
  Op,
  type Trial,
  TrialState,
} from "./storages/mod.ts";
import type { Pruner } from "./pruners/mod.ts";
import { parsePyDate, pyNow } from "./storages/mod.ts";
import type { Sampler } from "./samplers/mod.ts";
import { TRIAL_DIR_ATTR } from "./study_layout.ts";
import { WORKER_ATTR, workerDead, workerIdentity } from "./worker_identity.ts";
import { type JournalStorage, stateRecord, type TrialTemplate } from "./storages/mod.ts";

/** How a study starts and ends trials. */
export interface StudyOptions {
  readonly storage: JournalStorage;
  readonly studyId: number;
  readonly name: string;
  readonly direction: DirectionValue;
  readonly sampler: Sampler;
  readonly pruner: Pruner;
  /** Finished + running trials at which no new trial starts. */
  readonly nTrials: number;
  /** Trials come only from the WAITING queue (a grid study ends when it is empty). */
  readonly queueOnly?: boolean;
  /** Seconds without a heartbeat after which a RUNNING trial is failed. */
  readonly gracePeriodSeconds: number;
  /** Times a failed trial's parameters are enqueued again. */
  readonly retryFailed: number;
  /**
   * Times a trial is resumed after its worker died (the same trial's lineage); past that it
   * becomes a plain FAIL. Default 3.
   */
  readonly maxWorkerRetries?: number;
  readonly log: (line: string) => void;
}

/** The system attribute set on a trial that failed because its worker died (not on its own). */
export const WORKER_DIED_ATTR = "mrpc_tune_worker_died";

/** The `fail_reason` of a trial that a signal to its worker stopped after a checkpoint. */
export const INTERRUPTED = "interrupted";

/** Whether a FAIL trial failed on its own (not stopped by a signal, not its worker dying). */
export function failedOnItsOwn(t: Trial): boolean {
  return t.state === TrialState.FAIL && t.systemAttrs.fail_reason !== INTERRUPTED &&
    t.systemAttrs[WORKER_DIED_ATTR] !== true;
}

/** Whether a FAIL trial was enqueued again (a later trial names it in its retry history). */
function retried(t: Trial, trials: readonly Trial[]): boolean {
  return trials.some((o) =>
    ((o.systemAttrs.retry_history as number[] | undefined) ?? []).includes(t.number)
  );
}

/** Trials that count toward `nTrials`: finished, running, and failed ones not being retried. */
export function countedTrials(trials: readonly Trial[]): number {
  return trials.filter((t) =>
    t.state === TrialState.RUNNING || t.state === TrialState.COMPLETE ||
    t.state === TrialState.PRUNED || (t.state === TrialState.FAIL && !retried(t, trials))
  ).length;
}

/** A study in journal storage (see module docs). */
export class Study {
  readonly options: StudyOptions;

  constructor(options: StudyOptions) {
    this.options = options;
  }

  /** The study's trials as of a fresh read. */
  async trials(): Promise<Trial[]> {
    return (await this.options.storage.sync()).trialsOf(this.options.studyId);
  }

  /** Starts the next trial, or returns null when the study has enough (or its queue is empty). */
  async ask(): Promise<TrialHandle | null> {
    const { storage, studyId } = this.options;
    const trial = await storage.locked(async (state) => {
      await this.#failStale(state);
      await this.#enqueueRetries(await storage.sync()); // the trials just failed included
      let trials = (await storage.sync()).trialsOf(studyId);
      if (countedTrials(trials) >= this.options.nTrials) return null;
      const waiting = trials.find((t) => t.state === TrialState.WAITING);
      const me = { [WORKER_ATTR]: workerIdentity() };
      if (waiting) {
        await storage.write([
          stateRecord(waiting.trialId, TrialState.RUNNING, null),
          { op_code: Op.SET_TRIAL_SYSTEM_ATTR, trial_id: waiting.trialId, system_attr: me },
        ]);
        trials = (await storage.sync()).trialsOf(studyId);
        const claimed = trials[waiting.number];
        return claimed.runningBy === storage.workerId ? claimed : null;
      }
      if (this.options.queueOnly) return null;
      const created = await storage.createTrials(studyId, [{
        state: TrialState.RUNNING,
        systemAttrs: me,
      }]);
      return created[0] ?? null;
    });
    return trial ? new TrialHandle(this, trial) : null;
  }

  /**
   * Optuna's `study.optimize(objective, n_trials)` in this process: asks, runs `objective`,
   * tells its value (a thrown error fails the trial, as `catch` would) until `ask` returns null.
   */
  async optimize(objective: (trial: TrialHandle) => Promise<number> | number): Promise<void> {
    for (;;) {
      const handle = await this.ask();
      if (!handle) return;
      let value: number;
      try {
        value = await objective(handle);
      } catch (err) {
        if (err instanceof TrialPruned) {
          await this.tell(handle.trial, { state: "pruned" });
          continue;
        }
        await this.tell(handle.trial, { state: "fail", reason: (err as Error).message });
        continue;
      }
      await this.tell(handle.trial, { state: "complete", value });
    }
  }

  /** Enqueues trials with fixed parameters (Optuna's `enqueue_trial`, `fixed_params`). */
  async enqueue(points: readonly Record<string, ParamValue>[]): Promise<void> {
    await this.options.storage.createTrials(
      this.options.studyId,
      points.map((p) => ({ state: TrialState.WAITING, systemAttrs: { fixed_params: p } })),
    );
  }

  /** Finishes a trial: COMPLETE with its value, PRUNED, or FAIL with the reason. */
  async tell(
    trial: Trial,
    outcome: { state: "complete"; value: number } | { state: "pruned" } | {
      state: "fail";
      reason: string;
    },
  ): Promise<void> {
    const { storage } = this.options;
    if (outcome.state === "fail") {
      await storage.setSystemAttr(trial, "fail_reason", outcome.reason);
      await storage.setState(trial, TrialState.FAIL);
    } else if (outcome.state === "pruned") {
      await storage.setState(trial, TrialState.PRUNED);
    } else {
      await storage.setState(trial, TrialState.COMPLETE, [outcome.value]);
    }
  }

  /**
   * Ends a trial that its worker's stop signal interrupted: FAIL ("interrupted"), and queued
   * again at once with the same parameters and `attrs` (Optuna's retry attributes), whatever
   * `retryFailed` says — an interruption is not the trial's failure, so it does not count.
   */
  async interrupt(trial: Trial): Promise<void> {
    const { storage, studyId } = this.options;
    await storage.locked(async () => {
      await this.tell(trial, { state: "fail", reason: INTERRUPTED });
      const fresh = (await storage.sync()).trialsOf(studyId)[trial.number];
      await storage.createTrials(studyId, [retryTemplate(fresh, { resume: true })]);
    });
  }

  /**
   * Fails the RUNNING trials whose worker is gone (as Optuna's `fail_stale_trials` does) and
   * queues each again to resume from its checkpoint, in Optuna's retry form: a trial whose
   * worker died is not the trial's failure, so it does not count toward `nTrials` — until its
   * lineage has lost `maxWorkerRetries` workers, when it stays a plain FAIL.
   */
  async #failStale(state: JournalState): Promise<void> {
    const { storage, studyId, log } = this.options;
    const now = Date.now(), grace = this.options.gracePeriodSeconds * 1000;
    const bound = this.options.maxWorkerRetries ?? 3;
    for (const t of state.trialsOf(studyId)) {
      if (t.state !== TrialState.RUNNING) continue;
      const beat = (t.systemAttrs.heartbeat as string | undefined) ?? t.datetimeStart;
      const seconds = beat ? Math.round((now - parsePyDate(beat)) / 1000) : 0;
      let why: string;
      if (workerDead(t)) why = "its worker process ended without finishing it";
      else if (beat && seconds * 1000 > grace) why = `no heartbeat for ${seconds} s (stale)`;
      else continue;
      const trials = state.trialsOf(studyId);
      const lineage = [...((t.systemAttrs.retry_history as number[] | undefined) ?? []), t.number];
      const deaths = lineage.filter((n) =>
        n === t.number || trials[n]?.systemAttrs[WORKER_DIED_ATTR] === true
      ).length;
      const final = deaths >= bound;
      const reason = final
        ? `${why}; its worker died ${deaths} times (--max_worker_retries ${bound})`
        : why;
      // One attribute per record: Optuna's replay asserts it.
      const attr = (key: string, value: unknown) => ({
        op_code: Op.SET_TRIAL_SYSTEM_ATTR,
        trial_id: t.trialId,
        system_attr: { [key]: value },
      });
      await storage.write([
        attr("fail_reason", reason),
        attr(WORKER_DIED_ATTR, !final),
        stateRecord(t.trialId, TrialState.FAIL, null),
      ]);
      if (final) {
        log(`Trial ${t.number}: ${reason}; marking it FAIL`);
        continue;
      }
      const failed = (await storage.sync()).trialsOf(studyId)[t.number];
      const [retry] = await storage.createTrials(studyId, [
        retryTemplate(failed, { resume: true }),
      ]);
      log(
        `Trial ${t.number}: ${why}; marking it FAIL, and trial ${retry.number} resumes it from ` +
          `its last checkpoint`,
      );
    }
  }

  /** Optuna's RetryFailedTrialCallback: a failed trial's parameters again, as WAITING. */
  async #enqueueRetries(state: JournalState): Promise<void> {
    if (this.options.retryFailed <= 0) return;
    const trials = state.trialsOf(this.options.studyId);
    for (const t of trials) {
      // Interruptions and dead workers were queued again on their own: only a trial's own
      // failures use up retries.
      if (!failedOnItsOwn(t) || retried(t, trials)) continue;
      const history = [...((t.systemAttrs.retry_history as number[] | undefined) ?? []), t.number];
      const failures = history.filter((n) => trials[n] && failedOnItsOwn(trials[n]));
      if (failures.length > this.options.retryFailed) continue;
      this.options.log(
        `Retrying trial ${t.number} (retry ${failures.length} of ${this.options.retryFailed})`,
      );
      await this.options.storage.createTrials(this.options.studyId, [
        retryTemplate(t, { resume: false }),
      ]);
    }
  }
}

/**
 * A WAITING copy of a failed trial, with Optuna's `failed_trial` and `retry_history`. With
 * `resume`, it also carries the trial's checkpoint dir ({@linkcode TRIAL_DIR_ATTR}), so that it
 * continues that run; otherwise it starts again in its own.
 */
function retryTemplate(t: Trial, options: { resume: boolean }): TrialTemplate {
  const history = [...((t.systemAttrs.retry_history as number[] | undefined) ?? []), t.number];
  const fixed = (t.systemAttrs.fixed_params as Record<string, ParamValue> | undefined) ?? {};
  const dir = t.systemAttrs[TRIAL_DIR_ATTR];
  return {
    state: TrialState.WAITING,
    params: t.params,
    distributions: t.distributions,
    userAttrs: t.userAttrs,
    systemAttrs: {
      ...(options.resume && dir !== undefined ? { [TRIAL_DIR_ATTR]: dir } : {}),
      failed_trial: (t.systemAttrs.failed_trial as number | undefined) ?? t.number,
      retry_history: history,
      fixed_params: { ...fixed, ...t.params },
    },
  };
}

/** Thrown by an objective to end its trial as PRUNED (Optuna's `TrialPruned`). */
export class TrialPruned extends Error {
  constructor() {
    super("Trial pruned");
    this.name = "TrialPruned";
  }
}

/** A running trial of this worker (Optuna's `Trial`). */
export class TrialHandle {
  readonly study: Study;
  #trial: Trial;

  constructor(study: Study, trial: Trial) {
    this.study = study;
    this.#trial = trial;
  }

  /** The trial as last read. */
  get trial(): Trial {
    return this.#trial;
  }

  get number(): number {
    return this.#trial.number;
  }

  /** The trial's parameters so far. */
  get params(): Readonly<Record<string, ParamValue>> {
    return this.#trial.params;
  }

  /** A float parameter (Optuna's `suggest_float(name, low, high, log=, step=)`). */
  suggestFloat(
    name: string,
    o: { low: number; high: number; log?: boolean; step?: number | null },
  ) {
    return this.suggest(name, floatDist(o.low, o.high, { log: o.log, step: o.step }));
  }

  /** An int parameter. */
  suggestInt(name: string, o: { low: number; high: number; log?: boolean; step?: number }) {
    return this.suggest(name, intDist(o.low, o.high, { log: o.log, step: o.step }));
  }

  /** A categorical parameter. */
  suggestCategorical(name: string, choices: readonly Choice[]) {
    return this.suggest(name, categoricalDist(choices));
  }

  /** The value of `name` under `d`: fixed (enqueued), already set, or sampled; recorded. */
  async suggest(name: string, d: Distribution): Promise<ParamValue> {
    if (name in this.#trial.params) return this.#trial.params[name];
    const { storage, studyId, direction, sampler } = this.study.options;
    const fixed = this.#trial.systemAttrs.fixed_params as Record<string, ParamValue> | undefined;
    const trials = (await storage.sync()).trialsOf(studyId);
    const value = fixed && name in fixed
      ? fixed[name]
      : sampler.sample({ trials, direction, trial: this.#trial }, name, d);
    await storage.setParam(this.#trial, name, value, d);
    await this.#refresh();
    return value;
  }

  /** Reports the objective at optimizer step `step` (an intermediate value). */
  async report(value: number, step: number): Promise<void> {
    await this.study.options.storage.setIntermediate(this.#trial, step, value);
    await this.#refresh();
  }

  /** Whether the pruner stops the trial after its latest report. */
  async shouldPrune(): Promise<boolean> {
    const { storage, studyId, direction, pruner } = this.study.options;
    const trials = (await storage.sync()).trialsOf(studyId);
    this.#trial = trials[this.#trial.number];
    return await pruner.prune({
      trials,
      direction,
      trial: this.#trial,
      setSystemAttr: async (key, value) => {
        await storage.setSystemAttr(this.#trial, key, value);
        await this.#refresh();
      },
    });
  }

  /** Sets a system attribute of this trial (Optuna's `storage.set_trial_system_attr`). */
  async setSystemAttr(key: string, value: unknown): Promise<void> {
    await this.study.options.storage.setSystemAttr(this.#trial, key, value);
    await this.#refresh();
  }

  /** Records a heartbeat (a system attribute), as the stale check reads it. */
  async heartbeat(): Promise<void> {
    if (isFinished(this.#trial.state)) return;
    await this.study.options.storage.setSystemAttr(this.#trial, "heartbeat", pyNow());
  }

  async #refresh(): Promise<void> {
    const { storage, studyId } = this.study.options;
    this.#trial = (await storage.sync()).trialsOf(studyId)[this.#trial.number];
  }
}
