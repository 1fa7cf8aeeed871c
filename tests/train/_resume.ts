/**
 * The resume tests' shared run: a tiny model trained for 12 steps with dropout, evaluated and
 * checkpointed every 2 steps; its outcome (exported model, final weights and moments, log
 * history, best checkpoint) must come out byte for byte the same however the run was stopped.
 *
 * @module
 */
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { REPO_ROOT, runMain, TEST_ENV } from "../_helpers.ts";
import { readJson, type TinyRun, writeTinyRun } from "./_train_helpers.ts";

/** No Hub, plain output. */
export const ENV = { ...TEST_ENV, HF_HUB_OFFLINE: "1", HF_ENDPOINT: "http://127.0.0.1:9" };
/** Steps of the run. */
export const TOTAL_STEPS = 12; // 48 pairs / batch 8 = 6 steps per epoch, 2 epochs

/** The run every case repeats: dropout on, evaluation and a checkpoint every 2 steps. */
export function trainArgs(run: TinyRun, ck: string, extra: string[] = []): string[] {
  return [
    ...["train", ...run.dataFlags, "--batch_size", "8", "--epochs", "2", "--eval_steps", "2"],
    ...["--logging_steps", "1", "--lr", "3e-3", "--metric_for_best_model", "loss", "--seed", "7"],
    ...["--checkpoint_dir", ck, "--backend", "wasm", ...extra],
  ];
}

/** What must come out the same however often the run was killed and resumed. */
export interface Outcome {
  exported: Uint8Array;
  lastModel: Uint8Array;
  lastOptimizer: Uint8Array;
  logHistory: unknown;
  best: string;
  bestMetric: number;
}

export async function outcome(ck: string): Promise<Outcome> {
  const last = join(ck, `checkpoint-${TOTAL_STEPS}`);
  const state = await readJson(join(last, "trainer_state.json"));
  return {
    exported: await Deno.readFile(join(ck, "model.safetensors")),
    lastModel: await Deno.readFile(join(last, "model.safetensors")),
    lastOptimizer: await Deno.readFile(join(last, "optimizer.safetensors")),
    logHistory: state.log_history,
    best: basename(state.best_model_checkpoint as string),
    bestMetric: state.best_metric as number,
  };
}

export function assertSameOutcome(actual: Outcome, expected: Outcome, what: string): void {
  assert.ok(bytesEqual(actual.exported, expected.exported), `${what}: exported best model`);
  assert.ok(bytesEqual(actual.lastModel, expected.lastModel), `${what}: final weights`);
  assert.ok(bytesEqual(actual.lastOptimizer, expected.lastOptimizer), `${what}: final moments`);
  assert.deepEqual(actual.logHistory, expected.logHistory, `${what}: log history`);
  assert.equal(actual.best, expected.best, `${what}: best checkpoint`);
  assert.equal(actual.bestMetric, expected.bestMetric, `${what}: best metric`);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Nothing half-written is left: no `.checkpoint-*` temporaries, no `*.tmp-*` files. */
export async function assertNoLeftovers(ck: string): Promise<void> {
  const names = (await Array.fromAsync(Deno.readDir(ck))).map((e) => e.name);
  assert.deepEqual(names.filter((n) => n.startsWith(".") || /\.tmp-\d+$/.test(n)), [], ck);
}

export async function checkpointNames(ck: string): Promise<string[]> {
  const names = (await Array.fromAsync(Deno.readDir(ck))).map((e) => e.name);
  return names.filter((n) => /^checkpoint-\d+$/.test(n)).sort();
}

/** A CLI run that was sent signals: its exit status and what it printed on stderr. */
export interface SignalledRun {
  readonly status: Deno.CommandStatus;
  readonly stderr: string;
}

/**
 * Runs the CLI and sends it `signals` (one after another, `gapMs` apart) as soon as
 * `when(stderrSoFar, pid)` holds (checked every millisecond). Fails when the run ended before.
 */
export async function runAndSignal(
  args: string[],
  when: (stderr: string, pid: number) => boolean | Promise<boolean>,
  options: {
    cwd?: string;
    signals?: Deno.Signal[];
    gapMs?: number;
    env?: Record<string, string>;
  } = {},
): Promise<SignalledRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(REPO_ROOT, "main.ts"), ...args],
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...ENV, ...options.env },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let stderr = "", exited = false;
  const reading = (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) stderr += text;
  })();
  const status = child.status.finally(() => exited = true);
  let sent = false;
  while (!exited) {
    if (await when(stderr, child.pid)) {
      for (const [i, signal] of (options.signals ?? ["SIGKILL"]).entries()) {
        if (i > 0) await new Promise((resolve) => setTimeout(resolve, options.gapMs ?? 0));
        if (!exited) child.kill(signal);
      }
      sent = true;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const ended = await status;
  await reading;
  assert.ok(sent, `the run finished before it was signalled; stderr: ${stderr}`);
  return { status: ended, stderr };
}

/**
 * Runs the CLI and SIGKILLs it as soon as `shouldKill(stderrSoFar)` holds (checked every
 * millisecond). Fails when the run ended before the kill.
 */
export async function runAndKill(
  args: string[],
  shouldKill: (stderr: string) => boolean | Promise<boolean>,
  options: { cwd?: string } = {},
): Promise<string> {
  const { status, stderr } = await runAndSignal(args, shouldKill, options);
  assert.equal(
    status.signal,
    "SIGKILL",
    `the run was killed before it finished; stderr: ${stderr}`,
  );
  return stderr;
}

export async function fileExists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** Resumes with `--resume auto` and checks the outcome against the uninterrupted run. */
export async function resumeAndCompare(run: TinyRun, ck: string, reference: Outcome, what: string) {
  const r = await runMain(trainArgs(run, ck, ["--save_total_limit", "2", "--resume", "auto"]), {
    env: ENV,
  });
  assert.equal(r.code, 0, `${what}: ${r.stderr}`);
  assertSameOutcome(await outcome(ck), reference, what);
  await assertNoLeftovers(ck);
  const keep = new Set([
    `checkpoint-${TOTAL_STEPS - 2}`,
    `checkpoint-${TOTAL_STEPS}`,
    reference.best,
  ]);
  assert.deepEqual(await checkpointNames(ck), [...keep].sort(), `${what}: newest 2 plus the best`);
  // The tokenizer goes along with every model written after the resume, although the checkpoint
  // it was read from has been rotated away.
  for (const folder of [ck, ...keep].map((name) => name === ck ? ck : join(ck, name))) {
    assert.ok(await fileExists(join(folder, "vocab.txt")), `${what}: vocab.txt in ${folder}`);
  }
  return r.stderr;
}

/** The tiny run and its uninterrupted outcome (save_total_limit 0: every checkpoint kept). */
export async function referenceRun(dir: string): Promise<{ run: TinyRun; ref: Outcome }> {
  const run = await writeTinyRun(dir, {
    train: 48,
    validation: 16,
    config: { dim: 32, hidden_dim: 64 },
  });
  const refDir = join(dir, "reference");
  const full = await runMain(trainArgs(run, refDir, ["--save_total_limit", "0"]), { env: ENV });
  assert.equal(full.code, 0, full.stderr);
  return { run, ref: await outcome(refDir) };
}
