/**
 * What tracking costs a training step (folder-private): the same optimizer steps timed without a
 * tracker and with one that logs every step (the worst case; `--logging_steps` defaults to 10)
 * to a local run record and streams it to W&B from its Worker, against a loopback server that
 * answers like W&B. The pairs alternate, so drift on a shared machine hits both alike.
 *
 * @module
 */
import { join } from "node:path";
import type { Batch } from "../data/mod.ts";
import { resolveWandbSettings, RunTracker } from "../tracking/mod.ts";
import { median, type Stepper } from "./_parts.ts";

/** The tracking overhead figures. */
export interface TrackingCost {
  readonly steps: number;
  readonly medianStepSeconds: number;
  readonly medianStepSecondsTracked: number;
  /** `tracked / untracked − 1` of the medians. */
  readonly overhead: number;
  /** History rows the loopback server holds (distinct offsets received). */
  readonly rowsReceived: number;
}

/** A loopback server that accepts W&B's run and file_stream requests and counts the rows it holds. */
function nullWandb(): { baseUrl: string; rows: () => number; close(): Promise<void> } {
  let rows = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.json().catch(() => ({}));
    if (new URL(req.url).pathname === "/graphql") {
      return Response.json({
        data: {
          viewer: { id: "u", entity: "bench" },
          upsertBucket: {
            bucket: {
              name: body.variables?.name,
              project: { name: "bench", entity: { name: "bench" } },
            },
          },
        },
      });
    }
    // Lines are keyed by offset: a push re-sent after a timeout (the server shares the busy main
    // thread) replaces the same rows, as W&B's file_stream does.
    const history = body.files?.["wandb-history.jsonl"];
    if (history) rows = Math.max(rows, (history.offset ?? 0) + (history.content?.length ?? 0));
    return Response.json({});
  });
  return {
    baseUrl: `http://127.0.0.1:${server.addr.port}`,
    rows: () => rows,
    close: () => server.shutdown(),
  };
}

/** Times `steps` pairs of optimizer steps over `batch`, untracked and tracked, alternating. */
export async function trackingCost(
  stepper: Stepper,
  batch: Batch,
  options: { steps: number; seed: number; log: (line: string) => void },
): Promise<TrackingCost> {
  const server = nullWandb();
  const dir = await Deno.makeTempDir({ prefix: "mrpc-tune-bench-tracking-" });
  try {
    const settings = resolveWandbSettings({ mode: "online" }, {
      WANDB_API_KEY: "bench",
      WANDB_BASE_URL: server.baseUrl,
    }, { netrc: null });
    const tracker = await RunTracker.start({
      runsDir: join(dir, "runs"),
      runId: "bench",
      config: { bench: true },
      meta: {
        program: "mrpc-tune bench",
        version: "",
        commit: "",
        deno: Deno.version.deno,
        tfjs: "",
        backend: "",
        gpu: false,
        host: "",
        command: "bench",
        started: new Date().toISOString(),
        ended: null,
        exit_code: null,
      },
      settings,
      intervalMs: 500,
      log: () => {},
    });
    const plain: number[] = [], tracked: number[] = [];
    stepper.step([batch], { lr: 2e-5, seed: options.seed }); // warm-up
    for (let i = 0; i < options.steps; i++) {
      let t0 = performance.now();
      stepper.step([batch], { lr: 2e-5, seed: options.seed + 1 + 2 * i });
      await new Promise((resolve) => setTimeout(resolve, 0)); // the trainer yields each step too
      plain.push((performance.now() - t0) / 1000);
      t0 = performance.now();
      const r = stepper.step([batch], { lr: 2e-5, seed: options.seed + 2 + 2 * i });
      await tracker.log(i + 1, {
        "train/loss": r.loss,
        "train/grad_norm": r.gradNorm,
        "train/lr": 2e-5,
      });
      await new Promise((resolve) => setTimeout(resolve, 0));
      tracked.push((performance.now() - t0) / 1000);
    }
    await tracker.finish(0);
    const a = median(plain), b = median(tracked);
    options.log(`tracking: ${(100 * (b / a - 1)).toFixed(1)}% per step (${options.steps} pairs)`);
    return {
      steps: options.steps,
      medianStepSeconds: a,
      medianStepSecondsTracked: b,
      overhead: b / a - 1,
      rowsReceived: server.rows(),
    };
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}
