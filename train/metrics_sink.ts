/**
 * Where a run's metrics go besides its trainer state: the CLI hands the trainer a sink (the
 * tracking folder's run record and W&B upload); train/ needs nothing more of it than this.
 * Metric keys as docs/architecture.md names them: `train/loss`, `train/lr`, `train/grad_norm`,
 * `train/epoch`, `train/examples_per_second`, `eval/loss`, `eval/accuracy`, `eval/f1`.
 *
 * @module
 */

/** A receiver of a run's metrics, one row per optimizer step (rows of one step merge). */
export interface MetricsSink {
  /** Metrics logged at optimizer step `step` (1-based, after the step). */
  log(step: number, metrics: Readonly<Record<string, number>>): Promise<void>;
  /** The run's summary so far: best and latest values. */
  summary(values: Readonly<Record<string, number | string | null>>): Promise<void>;
}
