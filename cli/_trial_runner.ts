/**
 * Runs a tuning trial as a child process of this program (folder-private): `train` with the
 * study's fixed flags, the trial's parameters and its own checkpoint dir, in trial mode (see
 * `_trial_channel.ts`). Its stderr (progress) passes through; its evaluations come back on the
 * channel and get the pruner's answer. A crash, a non-finite loss or an out-of-memory fails this
 * trial alone; one stopped by a signal (exit 130/143, after saving a checkpoint) is interrupted and
 * resumes from that checkpoint when the study runs again. The child's stdin is held open for its life: when this worker dies, the child
 * sees it close and stops.
 *
 * @module
 */
import type { StopSignalName } from "../core/mod.ts";
import type { TrialMetrics, TrialOutcome, TrialRunner, TrialSpec } from "../tune/mod.ts";
import { CHANNEL_ENV, CHANNEL_MARK, splitLines, type TrialMessage } from "./_trial_channel.ts";
import { selfCommand } from "./_self.ts";

/** Flag values as `--name=value` arguments (booleans `--name=true`). */
export function flagArgs(values: Readonly<Record<string, unknown>>): string[] {
  return Object.entries(values).filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `--${k}=${v}`);
}

/** Variables that name one W&B run (an agent's), which trials must not inherit. */
const RUN_IDENTITY = ["WANDB_RUN_ID", "WANDB_SWEEP_ID", "WANDB_SWEEP_PARAM_PATH", "WANDB_NAME"];

function withoutRunIdentity(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !RUN_IDENTITY.includes(k)));
}

/** The child-process trial runner. */
export class ProcessTrialRunner implements TrialRunner {
  readonly #fixed: Readonly<Record<string, unknown>>;
  readonly #env: Readonly<Record<string, string>>;
  #child: Deno.ChildProcess | null = null;

  /**
   * `fixed` are the train flags every trial gets (the tune command's train flags and
   * `--fixed`); `env` the children's environment additions.
   */
  constructor(
    fixed: Readonly<Record<string, unknown>>,
    env: Readonly<Record<string, string>> = {},
  ) {
    this.#fixed = fixed;
    this.#env = env;
  }

  /** Passes a stop signal to the running trial (it saves a checkpoint and ends, interrupted). */
  signal(name: StopSignalName): void {
    try {
      this.#child?.kill(name);
    } catch { /* already gone */ }
  }

  /** Asks the running trial to save a checkpoint and end (SIGTERM). */
  stop(): void {
    this.signal("SIGTERM");
  }

  async run(
    spec: TrialSpec,
    report: (step: number, metrics: TrialMetrics) => Promise<boolean>,
  ): Promise<TrialOutcome> {
    const self = selfCommand();
    const flags = {
      ...this.#fixed,
      ...spec.params,
      checkpoint_dir: spec.dir,
      ...(spec.resume ? { resume: "auto" } : {}),
      ...(spec.overwrite ? { overwrite_output_dir: true } : {}),
      metric_for_best_model: spec.objective,
      // A trial that continues another's run keeps that run's name (and its W&B run id, from
      // the checkpoint), so its history goes on in one W&B run.
      run_name: `${spec.studyName}-trial-${spec.origin}`,
      wandb_group: spec.studyName,
      wandb_job_type: "trial",
    };
    const child = new Deno.Command(self.command, {
      args: [...self.args, "train", ...flagArgs(flags)],
      // A trial is its own run: one W&B run id or sweep of the worker's environment is not its.
      clearEnv: true,
      env: {
        ...withoutRunIdentity(Deno.env.toObject()),
        ...this.#env,
        [CHANNEL_ENV]: "stdio",
        MRPC_TUNE_TRIAL_NUMBER: String(spec.number),
      },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    const writer = child.stdin.getWriter();
    let tail: string[] = [];
    const stderr = (async () => {
      for await (
        const line of child.stderr.pipeThrough(new TextDecoderStream()).pipeThrough(splitLines())
      ) {
        console.error(line);
        tail = [...tail.slice(-4), line];
      }
    })();
    let result: Extract<TrialMessage, { type: "result" }> | null = null;
    for await (
      const line of child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(splitLines())
    ) {
      if (!line.startsWith(CHANNEL_MARK)) {
        console.error(line);
        continue;
      }
      const message = JSON.parse(line.slice(CHANNEL_MARK.length)) as TrialMessage;
      if (message.type === "report") {
        const prune = await report(message.step, message.metrics);
        await writer.write(new TextEncoder().encode(JSON.stringify({ prune }) + "\n")).catch(
          () => {},
        );
      } else {
        result = message;
      }
    }
    const status = await child.status;
    await stderr;
    await writer.close().catch(() => {});
    this.#child = null;
    if (status.success && result?.pruned) return { kind: "pruned", step: result.step };
    if (status.success && result?.best) {
      return { kind: "complete", best: result.best, globalStep: result.step };
    }
    // 130/143: the trial saved a checkpoint and stopped on a signal; it resumes next time.
    if (status.code === 130 || status.code === 143) return { kind: "interrupted" };
    const last = tail.filter((l) => l.trim() !== "").at(-1) ?? "";
    const why = status.signal ? `killed by ${status.signal}` : `exit code ${status.code}`;
    return { kind: "fail", reason: last ? `${why}: ${last.replace(/^error: /, "")}` : why };
  }
}
