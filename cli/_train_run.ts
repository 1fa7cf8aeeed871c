/**
 * Runs one training (train, demo): prepare, pick the backend, run the loop, print the best model
 * (folder-private to cli/).
 *
 * @module
 */
import { hubOptionsFromEnv } from "../data/mod.ts";
import { initBackend } from "../backend/mod.ts";
import {
  type InlineData,
  prepareTraining,
  ProgressReporter,
  runTraining,
  type TrainConfig,
  type TrainResult,
} from "../train/mod.ts";
import type { Env } from "./command.ts";

/** Progress and notes go to stderr; results to stdout. */
export function log(line: string): void {
  console.error(line);
}

/**
 * Trains as `config` says (with `data` instead of files or the Hub when given), prints the best
 * model line, and returns the result. Bad input is reported before the backend's log line.
 */
export async function trainWith(
  config: TrainConfig,
  env: Env,
  options: { data?: InlineData } = {},
): Promise<TrainResult> {
  const setup = await prepareTraining(config, {
    hub: hubOptionsFromEnv(env),
    data: options.data,
    log,
  });
  const backend = await initBackend(config.backend, { log });
  const progress = new ProgressReporter({
    tty: Deno.stderr.isTerminal(),
    log,
    write: (text) => Deno.stderr.writeSync(new TextEncoder().encode(text)),
  });
  const result = await runTraining(config, setup, { log, progress, backend: backend.name });
  const best = result.bestEval;
  console.log(
    best
      ? `Best model: accuracy ${best.accuracy.toFixed(4)} f1 ${best.f1.toFixed(4)} eval loss ` +
        `${best.loss.toFixed(4)} (${result.bestCheckpoint}); saved to "${config.checkpoint_dir}"`
      : `Training ended at step ${result.globalStep} without an evaluation`,
  );
  return result;
}
