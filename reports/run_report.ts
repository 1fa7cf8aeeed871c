/**
 * The report of one run, from its local record (`config.json`, `metrics.jsonl`, `summary.json`,
 * `meta.json`): training loss, learning rate and gradient norm per optimizer step, the evaluation
 * curves, and the config and summary as tables — what the W&B run page shows, offline.
 *
 * @module
 */
import { InputError } from "../core/mod.ts";
import { isAbsolute, join } from "node:path";
import { exists, writeFileAtomic } from "../io/mod.ts";
import {
  type HistoryRow,
  readHistory,
  readRecordJson,
  RECORD_FILES,
  type RunMeta,
} from "../tracking/mod.ts";
import { EXPONENT_LABELS, linesSpec, renderSvg } from "./charts.ts";
import { empty, figure, page, type Section, table } from "./html.ts";

/** What a run report shows. */
export interface RunReportData {
  readonly dir: string;
  readonly name: string;
  readonly config: Readonly<Record<string, unknown>>;
  readonly summary: Readonly<Record<string, unknown>>;
  readonly meta: RunMeta | null;
  readonly rows: readonly HistoryRow[];
}

/** Reads the run record at `dir`; an `InputError` when it is none. */
export async function loadRunReport(dir: string): Promise<RunReportData> {
  if (!(await exists(join(dir, RECORD_FILES.config)))) {
    throw new InputError(
      `Invalid --run "${dir}": not a run record (no ${RECORD_FILES.config}; records are ` +
        `<checkpoint_dir>/runs/<run_id>)`,
    );
  }
  const config = await readRecordJson<Record<string, unknown>>(dir, RECORD_FILES.config) ?? {};
  const wandb = await readRecordJson<{ name?: string | null; runId?: string }>(
    dir,
    RECORD_FILES.wandb,
  );
  return {
    dir,
    name: wandb?.name ?? wandb?.runId ?? dir.split(/[/\\]/).filter(Boolean).at(-1) ?? dir,
    config,
    summary: await readRecordJson<Record<string, unknown>>(dir, RECORD_FILES.summary) ?? {},
    meta: await readRecordJson<RunMeta>(dir, RECORD_FILES.meta),
    rows: await readHistory(dir),
  };
}

function series(
  rows: readonly HistoryRow[],
  keys: readonly string[],
  format: (v: number) => string,
) {
  return rows.flatMap((r) =>
    keys.filter((k) => typeof r[k] === "number" && typeof r._step === "number").map((k) => ({
      step: r._step,
      value: r[k],
      series: k,
      label: `${k} at step ${r._step}: ${format(r[k])}`,
    }))
  );
}

function show(v: unknown): string {
  if (typeof v === "number") {
    if (Number.isInteger(v) || !Number.isFinite(v)) return String(v);
    return Math.abs(v) < 1e-3 ? v.toExponential(3) : String(Number(v.toPrecision(6)));
  }
  return typeof v === "string" ? v : JSON.stringify(v);
}

/**
 * A note for a config value that is a folder or file path no longer there (read when the report
 * is made): the demo's temporary model, or a path that was moved or removed since the run.
 */
async function pathNote(value: unknown): Promise<string> {
  if (typeof value !== "string" || !isAbsolute(value) || await exists(value)) return "";
  return value.split(/[\\/]/).some((part) => part.startsWith("mrpc-tune-demo-"))
    ? " (the demo's temporary model, removed when the demo ended)"
    : " (no longer there)";
}

/** The run report as one self-contained HTML page. */
export async function renderRunReport(d: RunReportData): Promise<string> {
  const charts: {
    id: string;
    heading: string;
    keys: string[];
    y: string;
    format?: string;
    labelExpr?: string;
    log?: boolean;
    fmt: (v: number) => string;
  }[] = [
    {
      id: "loss",
      heading: "Training loss",
      keys: ["train/loss"],
      y: "loss",
      fmt: (v) => v.toFixed(4),
    },
    {
      id: "lr",
      heading: "Learning rate",
      keys: ["train/lr"],
      y: "learning rate",
      labelExpr: EXPONENT_LABELS,
      fmt: (v) => v === 0 ? "0" : v.toExponential(2),
    },
    {
      id: "grad_norm",
      heading: "Gradient norm",
      keys: ["train/grad_norm"],
      y: "global L2 norm (before clipping)",
      fmt: (v) => v.toFixed(4),
    },
    {
      id: "eval",
      heading: "Evaluation",
      keys: ["eval/accuracy", "eval/f1"],
      y: "validation metric",
      format: ".3f",
      fmt: (v) => v.toFixed(4),
    },
    {
      id: "eval_loss",
      heading: "Evaluation loss",
      keys: ["eval/loss"],
      y: "validation loss",
      fmt: (v) => v.toFixed(4),
    },
  ];
  const sections: Section[] = [];
  for (const c of charts) {
    const rows = series(d.rows, c.keys, c.fmt);
    sections.push({
      id: c.id,
      heading: c.heading,
      html: rows.length === 0 ? empty(`No ${c.keys.join(" or ")} logged.`) : figure(
        await renderSvg(linesSpec({
          title: `${c.heading} — ${d.name}`,
          subtitle: c.keys.join(", ") + " per optimizer step",
          rows,
          yTitle: c.y,
          yFormat: c.format,
          yLabelExpr: c.labelExpr,
          seriesTitle: "metric",
        })),
      ),
    });
  }
  const entries = (o: Readonly<Record<string, unknown>>) =>
    Object.entries(o).filter(([k]) => !k.startsWith("_")).map(([k, v]) => [k, show(v)]);
  const config = await Promise.all(
    entries(d.config).map(async ([k, v]) => [k, v + await pathNote(d.config[k])]),
  );
  sections.push(
    { id: "summary", heading: "Summary", html: table(["key", "value"], entries(d.summary)) },
    { id: "config", heading: "Config", html: table(["key", "value"], config) },
  );
  const m = d.meta;
  return page({
    title: `Run ${d.name}`,
    meta: [
      `Record ${d.dir}; ${d.rows.length} logged steps.`,
      ...(m
        ? [
          `${m.command} with ${m.program} ${m.version} (${m.commit}), Deno ${m.deno}, tfjs ${m.tfjs} ` +
          `${m.backend}${m.gpu ? " (GPU)" : ""} on ${m.host}; started ${m.started}` +
          (m.ended ? `, ended ${m.ended} (exit ${m.exit_code})` : ", not ended"),
        ]
        : []),
      `Generated ${new Date().toISOString()}.`,
    ],
    sections,
  });
}

/** Reads the run record at `dir` and writes its report to `output` (default `<dir>/report.html`). */
export async function writeRunReport(
  dir: string,
  output = join(dir, "report.html"),
): Promise<string> {
  await writeFileAtomic(output, await renderRunReport(await loadRunReport(dir)));
  return output;
}
