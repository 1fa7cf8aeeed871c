/**
 * A tuning worker: opens (or creates) the study in its journal, then runs trials until the study
 * has `nTrials` (counted across all workers), its grid is exhausted, or `timeout` passed. Each
 * trial's parameters are suggested in the search space's order and the trial is run by the
 * {@linkcode TrialRunner} it is handed (see trial_runner.ts for where the product's runner
 * lives); every evaluation is reported as an intermediate value at its optimizer step and the
 * pruner may stop it; a heartbeat is recorded while it runs. A trial that beats the study's best
 * has its model copied into `<study_dir>/best/` (best_model.ts); other trials' weights are
 * removed unless `keepTrials`. The summary is written to `<study_dir>/study_summary.json`.
 *
 * @module
 */
import { writeJsonAtomic } from "../io/mod.ts";
import {
  hasFinalModel,
  latestCheckpoint,
  readRunLock,
  removeWeights,
  runRecords,
} from "../train/mod.ts";
import { bestModelPath, recoverBestModel, saveBestModel } from "./best_model.ts";
import type { Distribution, ParamValue } from "./distributions.ts";
import { createPruner, type PrunerName } from "./pruners/mod.ts";
import { createSampler, GridSampler, type Sampler, type SamplerName } from "./samplers/mod.ts";
import type { SearchSpace } from "./search_space.ts";
import {
  isFinished,
  type JournalStorage,
  openStorage,
  StorageLost,
  type Trial,
} from "./storages/mod.ts";
import { Study, type StudyOptions, type TrialHandle } from "./study.ts";
import { ownTrialDir, summaryPath, TRIAL_DIR_ATTR, trialDir } from "./study_layout.ts";
import {
  bestTrial,
  directionValue,
  formatParams,
  formatSeconds,
  type StudySummary,
  summarize,
} from "./summary.ts";
import type { Objective, TrialOutcome, TrialRunner, TrialSpec } from "./trial_runner.ts";

/** A worker's settings (validated by the CLI). */
export interface TuneSettings {
  readonly studyName: string;
  /** A journal file path or `redis://HOST:PORT[/DB]`. */
  readonly storage: string;
  /** `<checkpoint_dir>/<study_name>`: trials, best/, the summary. */
  readonly studyDir: string;
  readonly nTrials: number;
  readonly timeoutSeconds: number | null;
  readonly sampler: SamplerName;
  /** TPE's constant liar (Optuna's `constant_liar`): other workers' running trials count as the worst. */
  readonly constantLiar: boolean;
  readonly pruner: PrunerName;
  readonly objective: Objective;
  readonly direction: "maximize" | "minimize";
  readonly seed: number;
  readonly space: SearchSpace;
  /** A grid's values of the parameters that have them (`--lr_grid`); the others use `space`'s. */
  readonly gridValues: ReadonlyMap<string, readonly ParamValue[]>;
  readonly retryFailed: number;
  readonly keepTrials: boolean;
  readonly heartbeatIntervalSeconds: number;
  readonly gracePeriodSeconds: number;
  /** Times a trial is resumed after its worker died before it becomes a plain FAIL. */
  readonly maxWorkerRetries: number;
  /** Seconds a lost Redis storage is retried before the worker stops (`--storage_timeout`). */
  readonly storageTimeoutSeconds: number;
}

/** The study user attribute naming the objective metric (`accuracy`, `f1`, `loss`). */
export const OBJECTIVE_ATTR = "objective";

/** Options of {@linkcode runTuning}. */
export interface RunTuningOptions {
  readonly runner: TrialRunner;
  readonly log: (line: string) => void;
  /** Called when a trial ends (the study's summary run logs it). */
  readonly onTrial?: (trial: Trial, summary: StudySummary) => Promise<void>;
  /** Whether the worker should stop starting trials (Ctrl-C, SIGTERM). */
  readonly stopRequested?: () => boolean;
}

/** Runs this worker's share of the study; returns the summary (also written to disk). */
export async function runTuning(s: TuneSettings, options: RunTuningOptions): Promise<StudySummary> {
  const { log } = options;
  // Before the storage is touched: a grid refused here (a float range without a step, say) must
  // not leave a study behind.
  const sampler = createSampler(s.sampler, {
    seed: s.seed,
    constantLiar: s.constantLiar,
    space: s.space,
    gridValues: s.gridValues,
  });
  const storage = await openStorage(s.storage, {
    timeoutSeconds: s.storageTimeoutSeconds,
    log,
  });
  try {
    const study = await openStudy(s, storage, sampler, log);
    const started = Date.now();
    await recoverBestModel(storage, s.studyDir, log);
    for (;;) {
      if (options.stopRequested?.()) break;
      if (s.timeoutSeconds !== null && (Date.now() - started) / 1000 >= s.timeoutSeconds) {
        log(`--timeout ${s.timeoutSeconds} s reached: no new trial starts`);
        break;
      }
      const handle = await study.ask();
      if (!handle) break;
      await runOneTrial(s, study, handle, options);
    }
    const summary = summarize(s, await study.trials(), await bestModelPath(s.studyDir));
    await writeJsonAtomic(summaryPath(s.studyDir), summary);
    return summary;
  } finally {
    await storage.close();
  }
}

/** Gets or creates the study, names its objective, says what it searches, enqueues a grid. */
async function openStudy(
  s: TuneSettings,
  storage: JournalStorage,
  sampler: Sampler,
  log: (line: string) => void,
): Promise<Study> {
  const direction = directionValue(s.direction);
  const studyId = await storage.getOrCreateStudy(s.studyName, direction);
  if (storage.state.studies.get(studyId)?.userAttrs[OBJECTIVE_ATTR] === undefined) {
    // What the values are, for reports and for people opening the study in Python.
    await storage.setStudyUserAttr(studyId, OBJECTIVE_ATTR, s.objective);
  }
  const searched = [...s.space.keys()].join(", ");
  log(
    `Study "${s.studyName}" in ${s.storage}: ${s.sampler} sampler (seed ${s.seed}` +
      `${s.sampler === "tpe" && s.constantLiar ? ", constant liar" : ""}), ` +
      `${s.pruner} pruner, ${s.direction} ${s.objective}; searching ${searched}`,
  );
  const options: StudyOptions = {
    storage,
    studyId,
    name: s.studyName,
    direction,
    sampler,
    pruner: createPruner(s.pruner),
    nTrials: s.nTrials,
    queueOnly: sampler instanceof GridSampler,
    gracePeriodSeconds: s.gracePeriodSeconds,
    retryFailed: s.retryFailed,
    maxWorkerRetries: s.maxWorkerRetries,
    log,
  };
  const study = new Study(options);
  if (sampler instanceof GridSampler) await queueGrid(study, sampler, searched);
  return study;
}

/**
 * Queues the grid's points that no trial of the study holds yet, so that a rerun runs exactly
 * the missing ones (a wider grid adds its new points), and says when there are none to run.
 */
async function queueGrid(study: Study, grid: GridSampler, searched: string): Promise<void> {
  const { storage, studyId, log } = study.options;
  await storage.locked(async (state) => {
    const trials = state.trialsOf(studyId);
    const missing = grid.missing(trials);
    const size = `Grid of ${grid.points.length} points over ${searched}`;
    if (missing.length === grid.points.length) {
      log(size);
    } else if (missing.length > 0) {
      log(`${size}: ${missing.length} not run yet, queued`);
    } else if (!trials.some((t) => !isFinished(t.state))) {
      log(`${size} is complete: nothing to run`);
    }
    if (missing.length > 0) await study.enqueue(missing);
  });
}

/** Runs one claimed trial to its end and records how it ended. */
async function runOneTrial(
  s: TuneSettings,
  study: Study,
  handle: TrialHandle,
  options: RunTuningOptions,
): Promise<void> {
  const { log } = options;
  const params: Record<string, ParamValue> = {};
  for (const [name, d] of s.space as Map<string, Distribution>) {
    params[name] = await handle.suggest(name, d);
  }
  if (handle.trial.systemAttrs[TRIAL_DIR_ATTR] === undefined) {
    // Recorded, so that a retry after a crash finds this trial's checkpoints.
    await handle.setSystemAttr(TRIAL_DIR_ATTR, ownTrialDir(handle.number));
  }
  const dir = trialDir(s.studyDir, handle.trial);
  const start = await startOf(dir, s, log);
  const origin = (handle.trial.systemAttrs.failed_trial as number | undefined) ?? handle.number;
  log(
    `Trial ${handle.number} started: ${formatParams(params)}` +
      (start.resume
        ? ` (resuming trial ${origin} from "${start.resume}")`
        : start.overwrite
        ? ` (starting trial ${origin}'s run again in "${dir}": it saved no checkpoint)`
        : ""),
  );
  const t0 = performance.now();
  const { outcome, lost } = await runWithHeartbeat(s, handle, options.runner, {
    number: handle.number,
    origin: start.resume || start.overwrite ? origin : handle.number,
    params,
    dir,
    studyName: s.studyName,
    objective: s.objective,
    resume: start.resume !== null,
    overwrite: start.overwrite,
  });
  const seconds = (performance.now() - t0) / 1000;
  if (lost) {
    // The study cannot be told: the trial saved a checkpoint and stays RUNNING in the journal;
    // once the storage is back, the next worker finds it dead and resumes it from there.
    log(`Trial ${handle.number} stopped after saving a checkpoint: the study storage is lost`);
    throw lost;
  }
  await record(study, handle, outcome, s.objective);
  // Keep the study's best model: copy it when this trial is the new best.
  const trials = await study.trials();
  const best = bestTrial(trials, study.options.direction);
  if (outcome.kind === "complete" && best?.number === handle.number) {
    await saveBestModel(study.options.storage, s.studyDir, dir, {
      study_name: s.studyName,
      number: handle.number,
      value: outcome.best[s.objective],
      objective: s.objective,
      params,
    });
  }
  if (!s.keepTrials && outcome.kind !== "interrupted") await removeWeights(dir);
  const what = outcome.kind === "complete"
    ? `COMPLETE ${s.objective} ${outcome.best[s.objective].toFixed(4)}`
    : outcome.kind === "pruned"
    ? `PRUNED at step ${outcome.step}`
    : outcome.kind === "interrupted"
    ? "interrupted (it resumes from its checkpoint when the study runs again)"
    : `FAIL (${outcome.reason})`;
  const bestText = best
    ? `best so far: trial ${best.number}, ${s.objective} ${best.values![0].toFixed(4)}`
    : "no complete trial yet";
  log(`Trial ${handle.number} ${what} in ${formatSeconds(seconds)}; ${bestText}`);
  if (options.onTrial) await options.onTrial(trials[handle.number], summarize(s, trials, null));
}

/**
 * How a trial starts in `dir`: from its latest complete checkpoint when it has one (a trial
 * taken over from a dead worker, or stopped by a signal), again from scratch over what an earlier
 * attempt left without any checkpoint, or fresh. A process of the dead attempt that still holds
 * the folder's lock on this host is waited for (it stops within a step once its worker is gone);
 * a lock from another host, whose worker was found dead by its heartbeat, is removed.
 */
async function startOf(
  dir: string,
  s: TuneSettings,
  log: (line: string) => void,
): Promise<{ resume: string | null; overwrite: boolean }> {
  const deadline = performance.now() + s.gracePeriodSeconds * 1000;
  for (
    let lock = await readRunLock(dir);
    lock?.alive !== false && lock;
    lock = await readRunLock(dir)
  ) {
    if (lock.alive === null) {
      log(
        `Removing the lock "${lock.path}" of process ${lock.pid} on "${lock.host}": the trial ` +
          `it ran lost its worker`,
      );
      await Deno.remove(lock.path).catch(() => {});
      break;
    }
    if (performance.now() > deadline) break; // train then names the holder
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const latest = await latestCheckpoint(dir);
  if (latest) return { resume: latest.path, overwrite: false };
  const earlier = (await hasFinalModel(dir)) || (await runRecords(dir)).length > 0;
  return { resume: null, overwrite: earlier };
}

/**
 * Runs the trial through `runner`, recording a heartbeat every interval while it runs. When the
 * study storage is lost for good (a heartbeat or a report fails with `StorageLost`), the trial is
 * asked to stop after a checkpoint, and `lost` says why.
 */
async function runWithHeartbeat(
  s: TuneSettings,
  handle: TrialHandle,
  runner: TrialRunner,
  spec: TrialSpec,
): Promise<{ outcome: TrialOutcome; lost: StorageLost | null }> {
  let lost: StorageLost | null = null;
  const storageLost = (err: unknown) => {
    if (!(err instanceof StorageLost)) return false;
    if (!lost) {
      lost = err;
      runner.stop?.();
    }
    return true;
  };
  const beat = setInterval(
    () => handle.heartbeat().catch(storageLost),
    s.heartbeatIntervalSeconds * 1000,
  );
  try {
    await handle.heartbeat();
    const outcome = await runner.run(spec, async (step, metrics) => {
      try {
        await handle.report(metrics[s.objective], step);
        return await handle.shouldPrune();
      } catch (err) {
        if (storageLost(err)) return false; // the trial is stopping: let it save
        throw err;
      }
    });
    return { outcome, lost };
  } catch (err) {
    if (err instanceof StorageLost) throw err; // lost before the trial started
    return { outcome: { kind: "fail", reason: (err as Error).message }, lost };
  } finally {
    clearInterval(beat);
  }
}

/** Tells the study how the trial ended (an interrupted one is queued again to resume). */
async function record(
  study: Study,
  handle: TrialHandle,
  outcome: TrialOutcome,
  objective: Objective,
): Promise<void> {
  if (outcome.kind === "complete") {
    await study.tell(handle.trial, { state: "complete", value: outcome.best[objective] });
  } else if (outcome.kind === "pruned") {
    await study.tell(handle.trial, { state: "pruned" });
  } else if (outcome.kind === "interrupted") {
    await study.interrupt(handle.trial);
  } else {
    await study.tell(handle.trial, { state: "fail", reason: outcome.reason });
  }
}
