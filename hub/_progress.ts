/**
 * A one-line download progress bar on stderr, drawn only when stderr is a terminal (so logs and
 * pipes never fill with carriage returns).
 *
 * @module
 */

/** Receives byte counts as a download proceeds. */
export interface Progress {
  /** Sets the number of bytes on disk so far (a resumed download starts above zero). */
  update(bytes: number): void;
  /** Draws the final state and ends the line. */
  finish(): void;
}

const UNITS = ["B", "kB", "MB", "GB", "TB"];

/** `1.5 MB`: a byte count in decimal units, as Python's tqdm shows them. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/**
 * One progress line: `train.parquet  42% |########            | 1.2 MB/2.9 MB 3.1 MB/s`.
 * `total` is null when the server did not say; `rate` is bytes per second.
 */
export function formatProgress(
  label: string,
  bytes: number,
  total: number | null,
  rate: number,
): string {
  const speed = `${formatBytes(Math.round(rate))}/s`;
  if (total === null || total <= 0) return `${label}  ${formatBytes(bytes)} ${speed}`;
  const fraction = Math.min(1, bytes / total);
  const width = 20;
  const filled = Math.round(fraction * width);
  const bar = "#".repeat(filled) + " ".repeat(width - filled);
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  return `${label} ${percent} |${bar}| ${formatBytes(bytes)}/${formatBytes(total)} ${speed}`;
}

const NO_PROGRESS: Progress = { update() {}, finish() {} };

/**
 * Starts a progress bar for `label`, or a silent one when `enabled` is false or stderr is not a
 * terminal. Redraws at most ten times a second.
 */
export function startProgress(label: string, total: number | null, enabled: boolean): Progress {
  if (!enabled || !Deno.stderr.isTerminal()) return NO_PROGRESS;
  const encoder = new TextEncoder();
  const start = performance.now();
  let startBytes: number | null = null;
  let lastDraw = 0;
  let current = 0;
  function draw(): void {
    const seconds = (performance.now() - start) / 1000;
    const rate = seconds > 0 ? (current - (startBytes ?? 0)) / seconds : 0;
    const line = formatProgress(label, current, total, rate);
    Deno.stderr.writeSync(encoder.encode(`\r${line}\x1b[K`));
  }
  return {
    update(bytes: number): void {
      startBytes ??= bytes;
      current = bytes;
      const now = performance.now();
      if (now - lastDraw >= 100) {
        lastDraw = now;
        draw();
      }
    },
    finish(): void {
      draw();
      Deno.stderr.writeSync(encoder.encode("\n"));
    },
  };
}
