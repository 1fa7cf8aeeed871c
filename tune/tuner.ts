/**
 * A tuning worker: opens (or creates) the study in its journal, then runs trials until the study
 * has `nTrials` (counted across all workers), its grid is exhausted, or `timeout` passed. Each
 * trial's parameters are suggested in the search space's order and the trial is run by the
 * `TrialRunner` it is handed (the CLI runs each as a child process of the program, so a crash
 * fails that trial alone); every evaluation is reported as an intermediate value at its
 * optimizer step and the pruner may stop it; a heartbeat is recorded while it runs. A trial that
 * beats the study's best has its model copied atomically into `<study_dir>/best/`; other trials'
 * weights are removed unless `keepTrials`. The summary (top trials, best parameters, counts by
 * state, importances) is written to `<study_dir>/study_summary.json`.
 *
 * @module
 */
import { join } from "node:path";
import { InputError } from "../data/mod.ts";
import { exists, writeDirAtomic, writeJsonAtomic } from "../io/mod.ts";
import type { Distribution, ParamValue } from "./distributions.ts";
import { paramImportances } from "./importance.ts";
import { Direction, type DirectionValue, STATE_NAMES, type Trial, TrialState } from "./journal.ts";
import { JournalFile } from "./journal_file.ts";
import { JournalRedis } from "./journal_redis.ts";
import { MedianPruner, NopPruner, type Pruner, SuccessiveHalvingPruner } from "./pruners.ts";
import { parsePyDate } from "./py_json.ts";
import { RandomSampler, type Sampler } from "./sampler.ts";
import { gridPoints, type SearchSpace } from "./search_space.ts";
import { type JournalBackend, JournalStorage } from "./storage.ts";
import { Study, type TrialHandle } from "./study.ts";
import { TpeSampler } from "./tpe_sampler.ts";

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
  readonly params: Readonly<Record<string, ParamValue>>;
  /** The trial's checkpoint dir. */
  readonly dir: string;
  readonly studyName: string;
  readonly objective: Objective;
  /** Continue the interrupted run in `dir` from its latest checkpoint. */
  readonly resume: boolean;
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
}

/** A worker's settings (validated by the CLI). */
export interface TuneSettings {
  readonly studyName: string;
  /** A journal file path or `redis://HOST:PORT[/DB]`. */
  readonly storage: string;
  /** `<checkpoint_dir>/<study_name>`: trials, best/, the summary. */
  readonly studyDir: string;
  readonly nTrials: number;
  readonly timeoutSeconds: number | null;
  readonly sampler: "grid" | "random" | "tpe";
  readonly pruner: "none" | "median" | "asha";
  readonly objective: Objective;
  readonly direction: "maximize" | "minimize";
  readonly seed: number;
  readonly space: SearchSpace;
  readonly retryFailed: number;
  readonly keepTrials: boolean;
  readonly heartbeatIntervalSeconds: number;
  readonly gracePeriodSeconds: number;
}

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

/** The study user attribute naming the objective metric (`accuracy`, `f1`, `loss`). */
export const OBJECTIVE_ATTR = "objective";

/** The system attribute of a re-queued interrupted trial: the checkpoint dir it resumes. */
export const RESUME_DIR_ATTR = "mrpc_tune_resume_dir";

/** How importances are computed (in `--help`, the docs and the summary). */
export const IMPORTANCE_METHOD = "fANOVA-style: a 64-tree random forest on the COMPLETE trials, " +
  "each parameter's first-order marginal variance (under the trials' empirical distribution), " +
  "normalised to sum 1";

/** Opens the storage `spec` names (a file path, or a redis:// URL). */
export async function openStorage(spec: string): Promise<JournalStorage> {
  const backend: JournalBackend = spec.startsWith("redis://") || spec.startsWith("rediss://")
    ? await new JournalRedis(spec).open()
    : await new JournalFile(spec).open();
  return new JournalStorage(backend);
}

function directionOf(s: TuneSettings): DirectionValue {
  return s.direction === "maximize" ? Direction.MAXIMIZE : Direction.MINIMIZE;
}

function makeSampler(s: TuneSettings): Sampler {
  return s.sampler === "tpe"
    ? new TpeSampler({ seed: s.seed })
    : new RandomSampler({ seed: s.seed });
}

function makePruner(s: TuneSettings): Pruner {
  return s.pruner === "median"
    ? new MedianPruner()
    : s.pruner === "asha"
    ? new SuccessiveHalvingPruner()
    : new NopPruner();
}

function durationOf(t: Trial): number | null {
  if (!t.datetimeStart || !t.datetimeComplete) return null;
  return (parsePyDate(t.datetimeComplete) - parsePyDate(t.datetimeStart)) / 1000;
}

function summarizeTrial(t: Trial): TrialSummary {
  return {
    number: t.number,
    state: STATE_NAMES[t.state],
    value: t.values?.[0] ?? null,
    params: t.params,
    duration_seconds: durationOf(t),
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

function formatSeconds(s: number): string {
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

/** The summary of a study's trials. */
export function summarize(
  s: TuneSettings,
  trials: readonly Trial[],
  bestModel: string | null,
): StudySummary {
  const direction = directionOf(s);
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

/** The files of a trial's final model that `best/` holds. */
const MODEL_FILES = [
  "config.json",
  "model.safetensors",
  "tokenizer.json",
  "tokenizer_config.json",
  "vocab.txt",
  "special_tokens_map.json",
  "eval_results.json",
  "trainer_state.json",
];

/**
 * Puts back a best/ folder that a crash left renamed aside (`.best.old-<pid>`, between the two
 * renames of its atomic replacement), so that best/ survives any crash.
 */
async function recoverBest(bestDir: string, log: (line: string) => void): Promise<void> {
  if (await exists(bestDir)) return;
  const parent = join(bestDir, "..");
  const aside = (await Array.fromAsync(Deno.readDir(parent)).catch(() => []))
    .find((e) => e.isDirectory && /^\.best\.old-\d+$/.test(e.name));
  if (!aside) return;
  await Deno.rename(join(parent, aside.name), bestDir);
  log(`Restored the best model in "${bestDir}" (a worker stopped while replacing it)`);
}

/** Removes a finished trial's weights (its record, state and results stay). */
async function removeWeights(dir: string): Promise<void> {
  const entries = await Array.fromAsync(Deno.readDir(dir)).catch(() => []);
  for (const e of entries) {
    if (/^checkpoint-\d+$/.test(e.name) || e.name === "model.safetensors") {
      await Deno.remove(join(dir, e.name), { recursive: true }).catch(() => {});
    }
  }
}

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
  const storage = await openStorage(s.storage);
  try {
    const direction = directionOf(s);
    const studyId = await storage.getOrCreateStudy(s.studyName, direction);
    const study0 = storage.state.studies.get(studyId);
    if (study0 && study0.userAttrs[OBJECTIVE_ATTR] === undefined) {
      // What the values are, for reports and for people opening the study in Python.
      await storage.setStudyUserAttr(studyId, OBJECTIVE_ATTR, s.objective);
    }
    log(
      `Study "${s.studyName}" in ${s.storage}: ${s.sampler} sampler (seed ${s.seed}), ` +
        `${s.pruner} pruner, ${s.direction} ${s.objective}; searching ${
          [...s.space.keys()].join(", ")
        }`,
    );
    const queueOnly = s.sampler === "grid";
    if (queueOnly) {
      await storage.locked(async (state) => {
        if (state.trialsOf(studyId).length > 0) return;
        const points = gridPoints(s.space);
        log(`Grid of ${points.length} points over ${[...s.space.keys()].join(", ")}`);
        await new Study({ ...studyOptions(s, storage, studyId, log), queueOnly }).enqueue(points);
      });
    }
    const study = new Study({ ...studyOptions(s, storage, studyId, log), queueOnly });
    const started = Date.now();
    const bestDir = join(s.studyDir, "best");
    // Under the journal lock, as replacements are: never in the middle of another worker's.
    await storage.locked(() => recoverBest(bestDir, log));
    for (;;) {
      if (options.stopRequested?.()) break;
      if (s.timeoutSeconds !== null && (Date.now() - started) / 1000 >= s.timeoutSeconds) {
        log(`--timeout ${s.timeoutSeconds} s reached: no new trial starts`);
        break;
      }
      const handle = await study.ask();
      if (!handle) break;
      await runOneTrial(s, study, handle, { ...options, bestDir });
    }
    const trials = await study.trials();
    const summary = summarize(
      s,
      trials,
      await exists(join(bestDir, "model.safetensors")) ? bestDir : null,
    );
    await writeJsonAtomic(join(s.studyDir, "study_summary.json"), summary);
    return summary;
  } finally {
    await storage.close();
  }
}

function studyOptions(
  s: TuneSettings,
  storage: JournalStorage,
  studyId: number,
  log: (l: string) => void,
) {
  return {
    storage,
    studyId,
    name: s.studyName,
    direction: directionOf(s),
    sampler: makeSampler(s),
    pruner: makePruner(s),
    nTrials: s.nTrials,
    gracePeriodSeconds: s.gracePeriodSeconds,
    retryFailed: s.retryFailed,
    log,
  };
}

async function runOneTrial(
  s: TuneSettings,
  study: Study,
  handle: TrialHandle,
  options: RunTuningOptions & { bestDir: string },
): Promise<void> {
  const { log } = options;
  const params: Record<string, ParamValue> = {};
  for (const [name, d] of s.space as Map<string, Distribution>) {
    params[name] = await handle.suggest(name, d);
  }
  const resumeDir = handle.trial.systemAttrs[RESUME_DIR_ATTR] as string | undefined;
  const dir = resumeDir ?? join(s.studyDir, "trials", `trial-${handle.number}`);
  log(
    `Trial ${handle.number} started: ${formatParams(params)}` +
      (resumeDir ? ` (resuming the interrupted run in "${resumeDir}")` : ""),
  );
  const t0 = performance.now();
  const beat = setInterval(
    () => handle.heartbeat().catch(() => {}),
    s.heartbeatIntervalSeconds * 1000,
  );
  let outcome: TrialOutcome;
  try {
    await handle.heartbeat();
    outcome = await options.runner.run(
      {
        number: handle.number,
        params,
        dir,
        studyName: s.studyName,
        objective: s.objective,
        resume: resumeDir !== undefined,
      },
      async (step, metrics) => {
        await handle.report(metrics[s.objective], step);
        return await handle.shouldPrune();
      },
    );
  } catch (err) {
    outcome = { kind: "fail", reason: (err as Error).message };
  } finally {
    clearInterval(beat);
  }
  const seconds = (performance.now() - t0) / 1000;
  if (outcome.kind === "complete") {
    await study.tell(handle.trial, { state: "complete", value: outcome.best[s.objective] });
  } else if (outcome.kind === "pruned") {
    await study.tell(handle.trial, { state: "pruned" });
  } else if (outcome.kind === "interrupted") {
    await study.interrupt(handle.trial, { [RESUME_DIR_ATTR]: dir });
  } else {
    await study.tell(handle.trial, { state: "fail", reason: outcome.reason });
  }
  // Keep the study's best model: copy it when this trial is the new best.
  const trials = await study.trials();
  const best = bestTrial(trials, study.options.direction);
  if (outcome.kind === "complete" && best?.number === handle.number) {
    await study.options.storage.locked(async () => {
      await writeDirAtomic(options.bestDir, async (tmp) => {
        for (const f of MODEL_FILES) {
          const bytes = await Deno.readFile(join(dir, f)).catch(() => null);
          if (bytes) await Deno.writeFile(join(tmp, f), bytes);
        }
        await writeJsonAtomic(join(tmp, "trial.json"), {
          study_name: s.studyName,
          number: handle.number,
          value: outcome.best[s.objective],
          objective: s.objective,
          params,
        });
      });
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

/** An `InputError` unless `spec` names a storage the worker can use. */
export function checkStorageSpec(spec: string): void {
  if (spec.includes("://") && !/^rediss?:\/\//.test(spec)) {
    throw new InputError(
      `Invalid --storage "${spec}": expected a file path or redis://HOST:PORT[/DB]`,
    );
  }
}
