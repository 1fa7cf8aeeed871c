/**
 * Charts as SVG without a browser: Vega-Lite specs compiled to Vega and rendered with Vega's
 * headless `toSVG()`. Each chart has a title naming its study or run, shapes (not colour alone)
 * for categories, and every mark an accessible description (its `aria-label`: the point's own
 * numbers), which the tests read back.
 *
 * @module
 */
import * as vega from "vega";
import * as vl from "vega-lite";

/** A Vega-Lite spec (the subset these reports use, kept loose on purpose). */
export type ChartSpec = Record<string, unknown>;

/** Shared look: readable sizes, no external fonts. */
const CONFIG = {
  font: "sans-serif",
  title: { fontSize: 14, anchor: "start", subtitleFontSize: 11 },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  view: { stroke: null },
};

const warnings: string[] = [];

/** A Vega-Lite logger that keeps warnings (for {@linkcode takeChartWarnings}) instead of printing. */
const logger = {
  level(): number {
    return 0;
  },
  warn(...args: readonly unknown[]) {
    warnings.push(args.join(" "));
    return this;
  },
  info() {
    return this;
  },
  debug() {
    return this;
  },
  error(...args: readonly unknown[]) {
    throw new Error(`Chart spec error: ${args.join(" ")}`);
  },
};

/** The Vega-Lite warnings of the charts rendered since the last call (the tests want none). */
export function takeChartWarnings(): string[] {
  return warnings.splice(0);
}

/** Renders a Vega-Lite spec to a standalone SVG string. */
export async function renderSvg(spec: ChartSpec): Promise<string> {
  const compiled = vl.compile(
    { width: 560, height: 300, config: CONFIG, ...spec } as never,
    { logger: logger as never },
  ).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The order, shapes and colours of trial states (shape first: readable in grey). */
export const STATE_STYLE = {
  domain: ["COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING"],
  shapes: ["circle", "triangle-down", "cross", "diamond", "square"],
  colors: ["#1f77b4", "#ff7f0e", "#d62728", "#7f7f7f", "#bcbd22"],
};

/** Number formats: `3e-5` for learning rates, 4 decimals for metrics. */
export const FORMATS = { lr: "~e", metric: ".4f" } as const;

/** An axis format for a parameter: exponent notation for log-scale ones. */
export function formatFor(log: boolean): string {
  return log ? FORMATS.lr : "~g";
}

/** A nominal channel (colour, shape, dash) of `field` with its legend title and scale. */
export function nominal(field: string, title: string, scale: Record<string, unknown>): ChartSpec {
  return { field, type: "nominal", title, scale };
}

/**
 * The shape and colour channels of a trial's state (shape first: readable in grey), for the
 * states that occur: the legend lists only those, each keeping its own shape and colour.
 */
export function stateChannels(occurring: readonly string[]): ChartSpec {
  const keep = STATE_STYLE.domain.map((s, i) => [s, i] as const)
    .filter(([s]) => occurring.includes(s));
  const domain = keep.map(([s]) => s);
  return {
    shape: nominal("state", "state", { domain, range: keep.map(([, i]) => STATE_STYLE.shapes[i]) }),
    color: nominal("state", "state", { domain, range: keep.map(([, i]) => STATE_STYLE.colors[i]) }),
  };
}

/**
 * Axis labels in exponent notation (`3e-5`) that read 0 as `0`, not `0e+0` (a learning rate
 * warms up from zero).
 */
export const EXPONENT_LABELS = 'datum.value === 0 ? "0" : format(datum.value, "~e")';

/** A line chart of several series over optimizer steps (one line and marker shape each). */
export function linesSpec(options: {
  title: string;
  subtitle?: string;
  rows: readonly { step: number; value: number; series: string; label: string }[];
  yTitle: string;
  yFormat?: string;
  /** A Vega expression for the y labels (overrides `yFormat`). */
  yLabelExpr?: string;
  yLog?: boolean;
  seriesTitle: string;
}): ChartSpec {
  const series = [...new Set(options.rows.map((r) => r.series))];
  return {
    title: { text: options.title, subtitle: options.subtitle ?? "" },
    data: { values: options.rows },
    mark: { type: "line", point: { filled: true, size: 40 }, strokeWidth: 1.5 },
    encoding: {
      x: { field: "step", type: "quantitative", title: "optimizer step", axis: { format: "d" } },
      y: {
        field: "value",
        type: "quantitative",
        title: options.yTitle,
        scale: options.yLog ? { type: "log" } : { zero: false },
        axis: options.yLabelExpr
          ? { labelExpr: options.yLabelExpr }
          : { format: options.yFormat ?? "~g" },
      },
      color: nominal("series", options.seriesTitle, { domain: series }),
      shape: nominal("series", options.seriesTitle, { domain: series }),
      strokeDash: nominal("series", options.seriesTitle, { domain: series }),
      description: { field: "label" },
    },
  };
}
