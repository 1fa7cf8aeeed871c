/**
 * Training progress for people: on a terminal a single redrawn bar (epoch, step, loss, lr,
 * examples/s, ETA); otherwise a plain line every logging interval.
 *
 * @module
 */

/** One progress sample. */
export interface ProgressSample {
  readonly step: number;
  readonly totalSteps: number;
  readonly epoch: number;
  readonly loss: number;
  readonly lr: number;
  readonly examplesPerSecond: number;
  readonly etaSeconds: number;
}

/** Formats seconds as `1h02m`, `3m05s` or `42s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m${String(r).padStart(2, "0")}s`;
  return `${r}s`;
}

/**
 * A loss or metric for people: 4 decimals in the usual range, 3 significant digits in exponent
 * form outside it (`1.87e9`, `3.20e-5`), `NaN` / `Infinity` as they are.
 */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return x.toExponential(2).replace("e+", "e");
  return x.toFixed(4);
}

/** The one-line text of a sample (shared by the bar and the plain lines). */
export function formatSample(p: ProgressSample): string {
  return `epoch ${p.epoch.toFixed(2)} step ${p.step}/${p.totalSteps} loss ${
    formatNumber(p.loss)
  } ` +
    `lr ${p.lr.toExponential(2)} ${p.examplesPerSecond.toFixed(1)} ex/s ETA ${
      formatDuration(p.etaSeconds)
    }`;
}

/** Draws progress on a terminal (`tty`) or prints plain lines through `log`. */
export class ProgressReporter {
  readonly #tty: boolean;
  readonly #log: (line: string) => void;
  readonly #write: (text: string) => void;
  #drawn = false;

  constructor(
    options: { tty: boolean; log: (line: string) => void; write: (text: string) => void },
  ) {
    this.#tty = options.tty;
    this.#log = options.log;
    this.#write = options.write;
  }

  /** Redraws the bar (terminal only). */
  update(p: ProgressSample): void {
    if (!this.#tty) return;
    const width = 24;
    const filled = Math.round((p.step / Math.max(1, p.totalSteps)) * width);
    const bar = "#".repeat(filled) + "-".repeat(width - filled);
    this.#write(`\r\x1b[2K[${bar}] ${formatSample(p)}`);
    this.#drawn = true;
  }

  /** A line that stays: clears the bar first on a terminal. */
  line(text: string): void {
    if (this.#drawn) {
      this.#write("\r\x1b[2K");
      this.#drawn = false;
    }
    this.#log(text);
  }

  /** Prints the sample as a plain line when not on a terminal (once per logging interval). */
  interval(p: ProgressSample): void {
    if (!this.#tty) this.#log(formatSample(p));
  }
}
