/**
 * The channel between a tuning worker and a trial it runs as a child process (folder-private).
 * The worker starts the child with `MRPC_TUNE_TRIAL_CHANNEL=stdio`; the child writes each
 * evaluation and its result as marked lines on stdout and reads the prune decisions from stdin.
 * When stdin closes (the worker died), the child exits at once without a result, so a trial
 * never outlives its worker.
 *
 * @module
 */
import type { EvalMetrics } from "../train/mod.ts";

/** The mark that starts a channel line on the child's stdout (other stdout lines are output). */
export const CHANNEL_MARK = "\u001eMRPC-TUNE-TRIAL ";

/** The environment variable that puts `train` into trial mode. */
export const CHANNEL_ENV = "MRPC_TUNE_TRIAL_CHANNEL";

/** Whether this process runs as a tuning trial (its worker set the channel). */
export function inTrialMode(env: Readonly<Record<string, string | undefined>>): boolean {
  return env[CHANNEL_ENV] === "stdio";
}

/** What a trial sends. */
export type TrialMessage =
  | { readonly type: "report"; readonly step: number; readonly metrics: EvalMetrics }
  | {
    readonly type: "result";
    readonly pruned: boolean;
    readonly step: number;
    readonly best: EvalMetrics | null;
  };

/** The child's side. */
export class TrialChannel {
  readonly #decisions: string[] = [];
  #waiting: ((line: string) => void) | null = null;

  private constructor() {
    // Read the worker's decisions as they come; stdin closing means the worker died.
    (async () => {
      const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream())
        .pipeThrough(splitLines());
      for await (const line of lines) {
        if (this.#waiting) {
          this.#waiting(line);
          this.#waiting = null;
        } else {
          this.#decisions.push(line);
        }
      }
      console.error("The tuning worker is gone: the trial stops without a result");
      Deno.exit(1);
    })();
  }

  /** The channel when this process runs as a trial (the environment says so), else null. */
  static fromEnv(env: Readonly<Record<string, string | undefined>>): TrialChannel | null {
    if (!inTrialMode(env)) return null;
    // Everything the command prints for people goes to stderr; stdout is the channel.
    console.log = (...args: unknown[]) => console.error(...args);
    return new TrialChannel();
  }

  /** Sends a message. */
  send(message: TrialMessage): void {
    Deno.stdout.writeSync(new TextEncoder().encode(`${CHANNEL_MARK}${JSON.stringify(message)}\n`));
  }

  /** Reports an evaluation and waits for the decision: true when the trial is pruned. */
  async report(step: number, metrics: EvalMetrics): Promise<boolean> {
    this.send({ type: "report", step, metrics });
    const line = this.#decisions.shift() ??
      await new Promise<string>((resolve) => this.#waiting = resolve);
    return JSON.parse(line).prune === true;
  }
}

/** A stream of lines (without their newlines). */
export function splitLines(): TransformStream<string, string> {
  let buffer = "";
  return new TransformStream({
    transform(chunk, controller) {
      buffer += chunk;
      const parts = buffer.split("\n");
      buffer = parts.pop()!;
      for (const p of parts) controller.enqueue(p);
    },
    flush(controller) {
      if (buffer) controller.enqueue(buffer);
    },
  });
}
