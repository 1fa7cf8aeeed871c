/**
 * `mrpc-tune tune`: a hyperparameter search over training runs, as Optuna would run it. Every
 * train flag given is fixed for every trial; the study (TPE, seed 42, 20 trials, lr log-uniform
 * on [1e-6, 1e-4], objective accuracy by default) lives in Optuna's journal format, in a file
 * (default `<checkpoint_dir>/<study_name>/journal.log`) or Redis, so many workers can share it
 * and Python Optuna can open it. Each trial runs as a child process; the best model so far is
 * kept in `<checkpoint_dir>/<study_name>/best/`.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { exitCodeOf, InputError, Interrupted, RunError } from "../core/mod.ts";
import { checkWritableDir, readJsonFile } from "../io/mod.ts";
import { writeStudyReport } from "../reports/mod.ts";
import { resolveWandbSettings } from "../tracking/mod.ts";
import {
  checkStorageSpec,
  defaultJournal,
  formatParams,
  gridPoints,
  IMPORTANCE_METHOD,
  isRedisStorage,
  type Objective,
  type ParamValue,
  parseLrGrid,
  parseSearchSpace,
  reportPath,
  runTuning,
  studyRunsDir,
  studySpace,
  type StudySummary,
  summaryPath,
  type Trial,
  type TuneSettings,
} from "../tune/mod.ts";
import { type CommandContext, defineCommand, type Env } from "./command.ts";
import { convertValue, UsageError } from "./options.ts";
import { TRAIN_OPTIONS } from "./train_options.ts";
import {
  PER_TRIAL,
  TUNE_DEMO_DEFAULTS,
  TUNE_ONLY_OPTIONS,
  TUNE_OPTIONS,
  type TuneValues,
} from "./tune_options.ts";
import { GracefulStop } from "./_signals.ts";
import { readNetrc, runMeta } from "./_tracking.ts";
import { ProcessTrialRunner } from "./_trial_runner.ts";
import { RunTracker } from "../tracking/mod.ts";

function parseFixed(text: string | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  if (!text) return out;
  for (const part of text.split(",").map((p) => p.trim()).filter((p) => p !== "")) {
    const eq = part.indexOf("=");
    const name = part.slice(0, eq), raw = part.slice(eq + 1);
    const spec = TRAIN_OPTIONS.find((o) => o.name === name);
    if (eq < 1 || !spec || PER_TRIAL.has(name)) {
      throw new UsageError(`Invalid value for --fixed: "${part}" is not k=v of a train flag`);
    }
    out[name] = convertValue(spec, raw);
  }
  return out;
}

function printSummary(s: StudySummary): void {
  const counts = Object.entries(s.states).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`)
    .join(", ");
  console.log(`Study "${s.study_name}": ${s.n_trials} trials (${counts})`);
  if (s.best_trial) {
    console.log(
      `Best trial ${s.best_trial.number}: ${s.objective} ${s.best_trial.value?.toFixed(4)} with ${
        formatParams(s.best_trial.params)
      }`,
    );
    if (s.best_model) console.log(`Best model: ${s.best_model}`);
  }
  if (s.top_trials.length > 0) {
    console.log("Top trials:");
    for (const t of s.top_trials) {
      console.log(
        `  ${t.number}  ${s.objective} ${t.value?.toFixed(4)}  ${formatParams(t.params)}`,
      );
    }
  }
  if (s.importances.length > 0) {
    console.log(
      `Parameter importances (${IMPORTANCE_METHOD.split(":")[0]}): ` +
        s.importances.map((i) => `${i.name} ${i.importance.toFixed(3)}`).join(", "),
    );
  }
}

/**
 * The worker's settings and the train flags fixed for every trial, from tune's flags: every
 * input is checked here, before the study is opened or any trial starts.
 */
async function resolveTune(
  values: TuneValues,
  given: ReadonlySet<string>,
): Promise<{ settings: TuneSettings; fixed: Record<string, string | number | boolean> }> {
  const trainFlags = new Set<string>(TRAIN_OPTIONS.map((o) => o.name));
  const checkpointDir = String(values.checkpoint_dir);
  const studyName = String(values.study_name);
  if (!/^[\w.-]+$/.test(studyName)) {
    throw new UsageError(
      `Invalid value for --study_name: "${studyName}" (letters, digits, "_", "-", ".")`,
    );
  }
  const studyDir = join(checkpointDir, studyName);
  const storage = values.storage === undefined ? defaultJournal(studyDir) : String(values.storage);
  checkStorageSpec(storage);
  const fixed = parseFixed(values.fixed);
  // Train flags given to tune are fixed for every trial, like --fixed.
  for (const name of given) {
    if (trainFlags.has(name) && !PER_TRIAL.has(name)) {
      fixed[name] = (values as Readonly<Record<string, string | number | boolean>>)[name];
    }
  }
  const fromFile = values.search_space === undefined ? null : parseSearchSpace(
    await readJsonFile(String(values.search_space), { what: "--search_space" }),
    {
      file: String(values.search_space),
      flags: new Map(TRAIN_OPTIONS.filter((o) => !PER_TRIAL.has(o.name)).map((o) => [o.name, o])),
    },
  );
  if (values.demo) {
    for (const [name, value] of Object.entries(TUNE_DEMO_DEFAULTS)) {
      if (!(name in fixed) && !fromFile?.has(name)) fixed[name] = value;
    }
  }
  const lrGrid = values.lr_grid === undefined ? null : parseLrGrid(String(values.lr_grid));
  if (lrGrid && values.sampler !== "grid") throw new UsageError("--lr_grid needs --sampler grid");
  const space = studySpace({
    fromFile,
    lrGrid,
    fixed: new Set(Object.keys(fixed)),
    demo: values.demo,
  });
  if (space.size === 0) throw new InputError("Nothing to search: every parameter is fixed");
  const gridValues: Map<string, readonly ParamValue[]> = lrGrid && space.has("lr")
    ? new Map([["lr", lrGrid]])
    : new Map();
  if (values.sampler === "grid") gridPoints(space, gridValues); // a space with no grid: refused now
  // Where the study writes (its folder; its journal's, when a file): checked before any trial.
  const undo = await checkWritableDir(studyDir, { what: "--checkpoint_dir" });
  if (!isRedisStorage(storage)) {
    await checkWritableDir(dirname(storage), { what: "--storage" }).catch(async (err) => {
      await undo(); // the folders just made for the study, still empty
      throw err;
    });
  }
  const objective = values.objective;
  const settings: TuneSettings = {
    studyName,
    storage,
    studyDir,
    nTrials: values.n_trials,
    timeoutSeconds: values.timeout ?? null,
    sampler: values.sampler,
    constantLiar: values.constant_liar,
    pruner: values.pruner,
    objective,
    direction: values.direction ?? (objective === "loss" ? "minimize" : "maximize"),
    seed: values.seed,
    space,
    gridValues,
    retryFailed: values.retry_failed,
    keepTrials: values.keep_trials,
    heartbeatIntervalSeconds: values.heartbeat_interval,
    gracePeriodSeconds: values.grace_period,
    maxWorkerRetries: values.max_worker_retries,
    storageTimeoutSeconds: values.storage_timeout,
  };
  return { settings, fixed };
}

async function tune(values: TuneValues, { given, env }: CommandContext): Promise<number> {
  const { settings, fixed } = await resolveTune(values, given);
  const { studyName, studyDir, storage } = settings;
  const log = (line: string) => console.error(line);
  const runner = new ProcessTrialRunner(fixed, {});
  const stop = new GracefulStop({
    log,
    saving: "the running trial saves a checkpoint and no new trial starts",
  });
  stop.trainingStarted(); // a signal stops the study after the running trial saved and ended
  const forward = setInterval(() => {
    if (stop.signal) runner.signal(stop.signal);
  }, 200);
  const tracker = await startStudyRun(settings, env, log, fixed);
  let summary: StudySummary;
  let exitCode = 0;
  try {
    summary = await runTuning(settings, {
      runner,
      log,
      stopRequested: () => stop.signal !== null,
      onTrial: tracker ? (trial, s) => logTrial(tracker, settings.objective, trial, s) : undefined,
    });
  } catch (err) {
    exitCode = exitCodeOf(err);
    throw err;
  } finally {
    clearInterval(forward);
    stop.dispose();
    await tracker?.finish(exitCode || (stop.signal ? 130 : 0));
  }
  printSummary(summary);
  log(`Summary: ${summaryPath(studyDir)}`);
  await writeStudyReport({
    storage,
    studyName,
    studyDir,
    output: reportPath(studyDir),
    seed: settings.seed,
  }).then(
    (path) => log(`Report: ${path}`),
    (err) => log(`Could not write the study report: ${(err as Error).message}`),
  );
  const failed = summary.trials.filter((t) => t.state === "FAIL");
  if (!stop.signal && summary.best_trial === null && failed.length > 0) {
    const last = failed[failed.length - 1];
    throw new RunError(
      `No trial of study "${studyName}" completed: ${failed.length} failed (trial ${last.number}: ` +
        `${last.fail_reason})`,
    );
  }
  if (stop.signal) {
    throw new Interrupted(
      stop.signal,
      `Interrupted: the study continues when this command is run again`,
    );
  }
  return 0;
}

/** One history row of the study's W&B run per ended trial, and the study's best in its summary. */
async function logTrial(
  tracker: RunTracker,
  objective: Objective,
  trial: Trial,
  s: StudySummary,
): Promise<void> {
  await tracker.log(trial.number + 1, {
    "trial/number": trial.number,
    "trial/state": trial.state,
    ...(trial.values ? { [`trial/${objective}`]: trial.values[0] } : {}),
    ...Object.fromEntries(
      Object.entries(trial.params).filter(([, v]) => typeof v === "number")
        .map(([k, v]) => [`trial/${k}`, v as number]),
    ),
  });
  await tracker.summary({
    [`best/${objective}`]: s.best_trial?.value ?? null,
    "best/trial": s.best_trial?.number ?? null,
    ...Object.fromEntries(Object.entries(s.best_params ?? {}).map(([k, v]) => [`best/${k}`, v])),
    ...Object.fromEntries(
      Object.entries(s.states).map(([k, n]) => [`trials/${k.toLowerCase()}`, n]),
    ),
  });
}

/** The study's own W&B run (job type "study", grouped with its trials); null when disabled. */
async function startStudyRun(
  s: TuneSettings,
  env: Env,
  log: (line: string) => void,
  fixed: Record<string, unknown>,
): Promise<RunTracker | null> {
  const settings = resolveWandbSettings(
    {
      group: s.studyName,
      jobType: "study",
      name: `${s.studyName}-study`,
      mode: fixed.wandb_mode as "online" | "offline" | "disabled" | undefined,
      project: fixed.wandb_project as string | undefined,
      entity: fixed.wandb_entity as string | undefined,
    },
    env,
    { netrc: await readNetrc(env) },
  );
  if (settings.mode === "disabled") return null;
  return await RunTracker.start({
    runsDir: studyRunsDir(s.studyDir),
    // One summary run per worker session: workers and resumed sessions never share a run.
    runId: `${s.studyName.replace(/[^\w-]/g, "-").slice(0, 40)}-study-${Date.now().toString(36)}`,
    config: {
      study_name: s.studyName,
      sampler: s.sampler,
      constant_liar: s.constantLiar,
      pruner: s.pruner,
      objective: s.objective,
      direction: s.direction,
      n_trials: s.nTrials,
      seed: s.seed,
      storage: s.storage,
      search_space: Object.fromEntries([...s.space].map(([k, d]) => [k, d])),
      fixed,
    },
    meta: await runMeta(env, { backend: "", gpu: false, command: "tune" }),
    settings,
    log,
  });
}

/** `mrpc-tune tune`. */
export const TUNE_COMMAND = defineCommand({
  name: "tune",
  summary: "Search hyperparameters (TPE, log-scale lr) over training runs; Optuna-readable studies",
  options: TUNE_OPTIONS,
  documentedOptions: TUNE_ONLY_OPTIONS,
  details: "Every train flag given is fixed for all trials; each trial is a train run in " +
    "<checkpoint_dir>/<study_name>/trials/trial-N, and best/ holds the best model so far. " +
    "Workers on many machines share a study through --storage (a shared file or Redis). " +
    `Importances in study_summary.json: ${IMPORTANCE_METHOD}.`,
  run: tune,
});
