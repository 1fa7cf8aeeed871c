/**
 * The report of a study, from its journal (any storage `tune` or Python Optuna writes) and its
 * trials' run records: the optimisation history (objective per trial, best so far), the learning
 * rate against the objective on a log axis, each trial's learning curve (its evaluations per
 * optimizer step), parameter importances, the top trials with their parameters, state counts,
 * durations and failures — what optuna-dashboard would show, offline, in one file.
 *
 * @module
 */
import { InputError } from "../core/mod.ts";
import { writeFileAtomic } from "../io/mod.ts";
import { findRecords, readHistory } from "../tracking/mod.ts";
import {
  Direction,
  type Distribution,
  formatParams,
  IMPORTANCE_METHOD,
  OBJECTIVE_ATTR,
  openStorage,
  paramImportances,
  STATE_NAMES,
  type Trial,
  trialDir,
  trialDuration,
  TrialState,
} from "../tune/mod.ts";
import { type ChartSpec, EXPONENT_LABELS, linesSpec, renderSvg, stateChannels } from "./charts.ts";
import { empty, figure, page, type Section, table } from "./html.ts";

/** One point of a learning curve. */
export interface CurvePoint {
  readonly step: number;
  readonly value: number;
}

/** What a study report shows. */
export interface StudyReportData {
  readonly studyName: string;
  readonly storage: string;
  readonly direction: "maximize" | "minimize";
  /** The metric the values are (the study's `objective` user attribute), or "objective". */
  readonly objective: string;
  readonly trials: readonly Trial[];
  /** Each trial's evaluations of the objective: from its run record, else its intermediate values. */
  readonly curves: ReadonlyMap<number, readonly CurvePoint[]>;
}

async function recordCurve(dir: string, objective: string): Promise<CurvePoint[]> {
  const records = await findRecords(dir).catch(() => []);
  const points: CurvePoint[] = [];
  for (const record of records) {
    for (const row of await readHistory(record)) {
      const v = row[`eval/${objective}`];
      if (typeof v === "number" && typeof row._step === "number") {
        points.push({ step: row._step, value: v });
      }
    }
  }
  return points.sort((a, b) => a.step - b.step);
}

/** Reads study `studyName` from `storage` and its trials' records under `studyDir`. */
export async function loadStudyReport(options: {
  storage: string;
  studyName: string;
  studyDir: string;
}): Promise<StudyReportData> {
  const journal = await openStorage(options.storage);
  try {
    const state = await journal.sync();
    const study = state.studyByName(options.studyName);
    if (!study) {
      const names = [...state.studies.values()].map((s) => `"${s.name}"`).join(", ");
      throw new InputError(
        `No study "${options.studyName}" in "${options.storage}"` +
          (names ? ` (it has ${names})` : " (it holds no study)"),
      );
    }
    const objective = String(study.userAttrs[OBJECTIVE_ATTR] ?? "objective");
    const trials = state.trialsOf(study.studyId);
    const curves = new Map<number, CurvePoint[]>();
    for (const t of trials) {
      const fromRecord = t.state === TrialState.FAIL
        ? []
        : await recordCurve(trialDir(options.studyDir, t), objective);
      curves.set(
        t.number,
        fromRecord.length > 0
          ? fromRecord
          : [...t.intermediateValues].sort((a, b) => a[0] - b[0]).map(([step, value]) => ({
            step,
            value,
          })),
      );
    }
    return {
      studyName: options.studyName,
      storage: options.storage,
      direction: study.directions[0] === Direction.MAXIMIZE ? "maximize" : "minimize",
      objective,
      trials,
      curves,
    };
  } finally {
    await journal.close();
  }
}

/** A trial's value for the charts: its objective, or its last intermediate value when pruned. */
function shownValue(t: Trial): number | null {
  if (t.state === TrialState.COMPLETE && t.values) return t.values[0];
  if (t.state === TrialState.PRUNED && t.intermediateValues.size > 0) {
    return t.intermediateValues.get(Math.max(...t.intermediateValues.keys()))!;
  }
  return null;
}

function fmt(v: number, format: "lr" | "metric" = "metric"): string {
  return format === "lr" ? v.toExponential(2) : v.toFixed(4);
}

/** The y axis of the objective's values. */
function objectiveAxis(d: StudyReportData): ChartSpec {
  return {
    field: "value",
    type: "quantitative",
    title: d.objective,
    scale: { zero: false },
    axis: { format: "~g" },
  };
}

/**
 * Where trials without a value (FAIL, RUNNING, WAITING) are drawn: a little below the lowest value,
 * so that their marks show apart from every valued point (0 when no trial has a value).
 */
function noValueLevel(d: StudyReportData): number {
  const values = d.trials.map(shownValue).filter((v): v is number => v !== null);
  if (values.length === 0) return 0;
  const low = Math.min(...values), high = Math.max(...values);
  return low - 0.05 * (high - low || Math.abs(low) || 1);
}

/** The state names of `trials` (for legends that list only what occurs). */
function statesOf(trials: readonly Trial[]): string[] {
  return [...new Set(trials.map((t) => STATE_NAMES[t.state]))];
}

function historySpec(d: StudyReportData): ChartSpec {
  const maximize = d.direction === "maximize";
  const level = noValueLevel(d);
  let best: number | null = null;
  const rows = d.trials.map((t) => {
    const value = shownValue(t);
    if (t.state === TrialState.COMPLETE && value !== null) {
      best = best === null ? value : maximize ? Math.max(best, value) : Math.min(best, value);
    }
    const state = STATE_NAMES[t.state];
    return {
      trial: t.number,
      value: value ?? level,
      hasValue: value !== null,
      best: t.state === TrialState.COMPLETE ? best : null,
      state,
      label: `trial ${t.number}: ${state}` +
        (value === null ? ", no value" : `, ${d.objective} ${fmt(value)}`),
    };
  });
  const bests = rows.filter((r) => r.best !== null).map((r) => ({
    trial: r.trial,
    best: r.best,
    label: `best so far after trial ${r.trial}: ${fmt(r.best as number)}`,
  }));
  const x = { field: "trial", type: "quantitative", title: "trial", axis: { format: "d" } };
  const states = statesOf(d.trials);
  return {
    title: {
      text: `Optimisation history — ${d.studyName}`,
      subtitle: `${d.objective} per trial (${d.direction}); line: best so far; pruned trials at ` +
        "their last evaluation; trials without a value below the lowest one",
    },
    layer: [
      {
        data: { values: bests },
        mark: {
          type: "line",
          interpolate: "step-after",
          color: "#555",
          strokeDash: [4, 3],
          point: { filled: true, size: 12, color: "#555" },
        },
        encoding: {
          x,
          y: { field: "best", type: "quantitative" },
          description: { field: "label" },
        },
      },
      // Valued points first, then the ones without a value on top: none hides under another.
      ...pointLayers(rows, x, d, states),
    ],
  };
}

/** The parameter drawn against the objective: `lr` when searched, else the first float one. */
function paramToPlot(trials: readonly Trial[]): { name: string; d: Distribution } | null {
  const withParam = (name: string) => trials.find((t) => name in t.distributions);
  const lr = withParam("lr");
  if (lr) return { name: "lr", d: lr.distributions.lr };
  for (const t of trials) {
    for (const [name, d] of Object.entries(t.distributions)) {
      if (d.kind !== "categorical") return { name, d };
    }
  }
  return null;
}

/**
 * Whether a parameter's axis is logarithmic: a log-scale range; a learning rate, however it was
 * recorded (an exponential grid as categorical choices, say); or positive values over a decade
 * or more.
 */
function logAxis(p: { name: string; d: Distribution }, values: readonly number[]): boolean {
  if (p.d.kind !== "categorical" && p.d.log) return true;
  const positive = values.filter((v) => v > 0);
  if (positive.length !== values.length || positive.length === 0) return false;
  return p.name === "lr" || Math.max(...positive) / Math.min(...positive) >= 10;
}

function paramSpec(d: StudyReportData, p: { name: string; d: Distribution }): ChartSpec {
  const level = noValueLevel(d);
  const withParam = d.trials.filter((t) => typeof t.params[p.name] === "number");
  const log = logAxis(p, withParam.map((t) => t.params[p.name] as number));
  const rows = withParam.map((t) => {
    const value = shownValue(t);
    const x = t.params[p.name] as number;
    const state = STATE_NAMES[t.state];
    return {
      x,
      value: value ?? level,
      hasValue: value !== null,
      state,
      label: `trial ${t.number}: ${p.name} ${fmt(x, log ? "lr" : "metric")}, ` +
        (value === null ? `${state}, no value` : `${d.objective} ${fmt(value)} (${state})`),
    };
  });
  const x = {
    field: "x",
    type: "quantitative",
    title: p.name,
    scale: log ? { type: "log" } : { zero: false },
    axis: log ? { labelExpr: EXPONENT_LABELS } : { format: "~g" },
  };
  const states = statesOf(withParam);
  return {
    title: {
      text: `${p.name} against ${d.objective} — ${d.studyName}`,
      subtitle: (log ? "log scale; " : "") +
        "trials without a value (failed, running) below the lowest value, drawn on top",
    },
    layer: pointLayers(rows, x, d, states),
  };
}

/**
 * The trials as points, coloured by state: the valued ones first, then those without a value (at
 * the no-value level) on top, so that none hides under another.
 */
function pointLayers(
  rows: readonly { hasValue: boolean }[],
  x: Record<string, unknown>,
  d: StudyReportData,
  states: ReturnType<typeof statesOf>,
): Record<string, unknown>[] {
  return [true, false].filter((valued) => rows.some((r) => r.hasValue === valued)).map((
    valued,
  ) => ({
    data: { values: rows.filter((r) => r.hasValue === valued) },
    mark: { type: "point", filled: true, size: 70 },
    encoding: {
      x,
      y: objectiveAxis(d),
      ...stateChannels(states),
      description: { field: "label" },
    },
  }));
}

function curvesSpec(d: StudyReportData): ChartSpec | null {
  const rows = [...d.curves].flatMap(([n, points]) =>
    points.map((p) => ({
      step: p.step,
      value: p.value,
      series: `trial ${n}`,
      label: `trial ${n} at step ${p.step}: ${d.objective} ${fmt(p.value)}`,
    }))
  );
  if (rows.length === 0) return null;
  return linesSpec({
    title: `Learning curves — ${d.studyName}`,
    subtitle: `${d.objective} at each evaluation of each trial`,
    rows,
    yTitle: d.objective,
    seriesTitle: "trial",
  });
}

function importanceSpec(
  d: StudyReportData,
  importances: readonly { name: string; importance: number }[],
): ChartSpec {
  const order = [...importances].sort((a, b) => b.importance - a.importance).map((i) => i.name);
  return {
    title: {
      text: `Parameter importances — ${d.studyName}`,
      subtitle: "random-forest marginal variance (fANOVA-style), normalised to 1",
    },
    height: Math.max(60, 28 * importances.length),
    data: {
      values: importances.map((i) => ({
        ...i,
        label: `${i.name}: importance ${i.importance.toFixed(3)}`,
        text: i.importance.toFixed(3),
      })),
    },
    layer: [
      {
        mark: { type: "bar", color: "#1f77b4" },
        encoding: {
          y: { field: "name", type: "nominal", title: "parameter", sort: order },
          x: {
            field: "importance",
            type: "quantitative",
            title: "importance",
            scale: { domain: [0, 1] },
            axis: { format: ".1f" },
          },
          description: { field: "label" },
        },
      },
      {
        mark: { type: "text", align: "left", dx: 4 },
        encoding: {
          y: { field: "name", type: "nominal", sort: order },
          x: { field: "importance", type: "quantitative" },
          text: { field: "text" },
        },
      },
    ],
  };
}

/** The study report as one self-contained HTML page. */
export async function renderStudyReport(
  d: StudyReportData,
  options: { seed?: number } = {},
): Promise<string> {
  const { trials } = d;
  const maximize = d.direction === "maximize";
  const complete = trials.filter((t) => t.state === TrialState.COMPLETE && t.values)
    .sort((a, b) => maximize ? b.values![0] - a.values![0] : a.values![0] - b.values![0]);
  const importances = paramImportances(trials, { seed: options.seed ?? 42 });
  const chart = async (spec: ChartSpec | null, none: string) =>
    spec ? figure(await renderSvg(spec)) : empty(none);
  const plotted = paramToPlot(trials);
  const sections: Section[] = [
    {
      id: "history",
      heading: "Optimisation history",
      html: await chart(
        trials.length > 0 ? historySpec(d) : null,
        "No trial yet.",
      ),
    },
    {
      id: "parameter",
      heading: plotted ? `${plotted.name} against ${d.objective}` : "Parameter against objective",
      html: await chart(plotted ? paramSpec(d, plotted) : null, "No searched number parameter."),
    },
    {
      id: "curves",
      heading: "Learning curves",
      html: await chart(curvesSpec(d), "No trial has reported an evaluation yet."),
    },
    {
      id: "importances",
      heading: "Parameter importances",
      html:
        (importances.length > 0
          ? figure(await renderSvg(importanceSpec(d, importances)))
          : empty("Importances need at least two COMPLETE trials.")) +
        `\n<p class="meta">${IMPORTANCE_METHOD}.</p>`,
    },
    topTrialsSection(d, complete),
    statesSection(trials),
  ];
  const failures = failuresSection(trials);
  if (failures) sections.push(failures);
  const best = complete[0];
  return page({
    title: `Study ${d.studyName}`,
    meta: [
      `${trials.length} trials, ${d.direction} ${d.objective}; storage ${d.storage}`,
      best
        ? `Best: trial ${best.number}, ${d.objective} ${fmt(best.values![0])} with ${
          formatParams(best.params)
        }`
        : "No COMPLETE trial yet.",
      `Generated ${new Date().toISOString()}.`,
    ],
    sections,
  });
}

/** The ten best COMPLETE trials (`complete` is sorted best first) with their parameters. */
function topTrialsSection(d: StudyReportData, complete: readonly Trial[]): Section {
  const paramNames = [...new Set(d.trials.flatMap((t) => Object.keys(t.params)))];
  const retries = complete.some((t) => retryChain(t) !== "");
  return {
    id: "top",
    heading: "Top trials",
    html: complete.length === 0 ? empty("No COMPLETE trial yet.") : table(
      ["rank", "trial", d.objective, ...paramNames, "duration", ...(retries ? ["retry"] : [])],
      complete.slice(0, 10).map((t, i) => [
        String(i + 1),
        String(t.number),
        fmt(t.values![0]),
        ...paramNames.map((p) =>
          p in t.params ? formatParams({ [p]: t.params[p] }).slice(p.length + 1) : ""
        ),
        trialDuration(t) === null ? "" : `${trialDuration(t)!.toFixed(1)} s`,
        ...(retries ? [retryChain(t)] : []),
      ]),
    ),
  };
}

/** Counts by state, and the trials' durations. */
function statesSection(trials: readonly Trial[]): Section {
  const counts = Object.values(STATE_NAMES).map((name) =>
    [name, trials.filter((t) => STATE_NAMES[t.state] === name).length] as const
  );
  const durations = trials.map(trialDuration).filter((s): s is number => s !== null);
  return {
    id: "states",
    heading: "Trials by state",
    html: table(["state", "trials"], counts.map(([name, n]) => [name, String(n)])) +
      (durations.length === 0 ? "" : table(["durations", "seconds"], [
        ["total", durations.reduce((a, b) => a + b, 0).toFixed(1)],
        ["mean", (durations.reduce((a, b) => a + b, 0) / durations.length).toFixed(1)],
        ["shortest", Math.min(...durations).toFixed(1)],
        ["longest", Math.max(...durations).toFixed(1)],
      ])),
  };
}

/** The trial that retried `t` (Optuna's `retry_history` names it), or null. */
function retriedAs(t: Trial, trials: readonly Trial[]): Trial | null {
  return trials.find((o) =>
    ((o.systemAttrs.retry_history as number[] | undefined) ?? []).includes(t.number) &&
    ((o.systemAttrs.retry_history as number[]).at(-1) === t.number)
  ) ?? null;
}

/** A retry's chain, oldest first: `retry of trial 0 (0 → 2 → 5)`, or "". */
function retryChain(t: Trial): string {
  const history = t.systemAttrs.retry_history as number[] | undefined;
  if (!history || history.length === 0) return "";
  return `retry of trial ${t.systemAttrs.failed_trial ?? history[0]} (${
    [...history, t.number].join(" → ")
  })`;
}

/** The FAIL trials with their reasons and what became of them, or null when none failed. */
function failuresSection(trials: readonly Trial[]): Section | null {
  const failed = trials.filter((t) => t.state === TrialState.FAIL);
  if (failed.length === 0) return null;
  return {
    id: "failures",
    heading: "Failed trials",
    html: table(
      ["trial", "parameters", "reason", "retried as"],
      failed.map((t) => {
        const retry = retriedAs(t, trials);
        return [
          String(t.number),
          formatParams(t.params),
          String(t.systemAttrs.fail_reason ?? "no reason recorded"),
          retry ? `trial ${retry.number} (${STATE_NAMES[retry.state]})` : "",
        ];
      }),
    ),
  };
}

/** Reads the study and writes its report to `output` (atomically); returns the path. */
export async function writeStudyReport(options: {
  storage: string;
  studyName: string;
  studyDir: string;
  output: string;
  seed?: number;
}): Promise<string> {
  const html = await renderStudyReport(await loadStudyReport(options), { seed: options.seed });
  await writeFileAtomic(options.output, html);
  return options.output;
}
