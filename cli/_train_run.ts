/**
 * Runs one training (train, demo): prepare, pick the backend, run the loop with a graceful stop,
 * print the best model (folder-private to cli/).
 *
 * @module
 */
import { hubOptionsFromEnv } from "../hub/mod.ts";
import { exitCodeOf } from "../core/mod.ts";
import { initBackend } from "../backend/mod.ts";
import {
  formatNumber,
  type InlineData,
  prepareTraining,
  ProgressReporter,
  runTraining,
  type TrainConfig,
  type TrainResult,
} from "../train/mod.ts";
import type { Env } from "./command.ts";
import { writeRunReport } from "../reports/mod.ts";
import { blasChoice } from "./common_options.ts";
import { GracefulStop } from "./_signals.ts";
import { startTracking, wandbSettings } from "./_tracking.ts";
import { inTrialMode, TrialChannel } from "./_trial_channel.ts";
import { withOfflineAdvice } from "./_offline.ts";

/** Progress and notes go to stderr; results to stdout. */
export function log(line: string): void {
  console.error(line);
}

/** Options of {@linkcode trainWith}. */
export interface TrainWithOptions {
  /** Splits given directly (the demo) instead of files or the Hub. */
  readonly data?: InlineData;
  /** Keys the user set (flags, `--config`): on resume they must match the run's. */
  readonly explicit?: ReadonlySet<string>;
  /** The command's graceful stop (one is made when absent). */
  readonly stop?: GracefulStop;
  /** A line printed once the inputs are checked, before training starts. */
  readonly banner?: string;
  /** The command, for the run record (`train`, `demo`, `tune trial 3`). */
  readonly command?: string;
}

/**
 * Trains as `config` says, prints the best model line, and returns the result. Bad input is
 * reported before the backend's log line; Ctrl-C / SIGTERM stop after a saved checkpoint.
 */
export async function trainWith(
  config: TrainConfig,
  env: Env,
  options: TrainWithOptions = {},
): Promise<TrainResult> {
  const stop = options.stop ?? new GracefulStop({ log, repeatExits: !inTrialMode(env) });
  try {
    await wandbSettings(config, env); // bad W&B settings are input errors, found before downloads
    const hub = { ...hubOptionsFromEnv(env), forceDownload: config.force_download };
    const setup = await withOfflineAdvice(
      () => prepareTraining(config, { hub, data: options.data, explicit: options.explicit, log }),
      {
        command: "train",
        hub,
        model: config.resume === undefined ? config.model : "", // a resumed run's is its own
        splits: options.data
          ? {}
          : { train: config.train_file, validation: config.validation_file },
      },
    );
    const unregister = stop.onExit(() => setup.lock.release());
    try {
      if (options.banner) log(options.banner);
      const backend = await initBackend(setup.config.backend, {
        log,
        blas: blasChoice(setup.config.blas, env),
      });
      const progress = new ProgressReporter({
        tty: Deno.stderr.isTerminal(),
        log,
        write: (text) => Deno.stderr.writeSync(new TextEncoder().encode(text)),
      });
      stop.log = (line) => progress.line(line);
      const tracker = await startTracking(setup, {
        settings: await wandbSettings(setup.config, env),
        backend,
        env,
        command: options.command ?? "train",
        log: (line) => progress.line(line),
      });
      const channel = TrialChannel.fromEnv(env);
      let exitCode = 0;
      try {
        const result = await runTraining(setup, {
          log,
          progress,
          backend: backend.name,
          stop,
          sink: tracker,
          runId: tracker.wandb.runId,
          onEvaluation: channel ? (step, metrics) => channel.report(step, metrics) : undefined,
        });
        channel?.send({
          type: "result",
          pruned: result.stoppedBy === "pruned",
          step: result.globalStep,
          best: result.bestEval,
        });
        const best = result.bestEval;
        console.log(
          best
            ? `Best model: accuracy ${formatNumber(best.accuracy)} f1 ${formatNumber(best.f1)} ` +
              `eval loss ${formatNumber(best.loss)} (${result.bestCheckpoint}); saved to ` +
              `"${setup.config.checkpoint_dir}"`
            : `Training ended at step ${result.globalStep} without an evaluation`,
        );
        return result;
      } catch (err) {
        exitCode = exitCodeOf(err);
        throw err;
      } finally {
        await tracker.finish(exitCode);
        // The run's page next to its record (best effort: a report never fails a run).
        await writeRunReport(tracker.record.dir).then(
          (path) => progress.line(`Report: ${path}`),
          (err) => progress.line(`Could not write the run report: ${(err as Error).message}`),
        );
      }
    } finally {
      unregister();
      setup.lock.release();
    }
  } finally {
    if (!options.stop) stop.dispose();
  }
}
