import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { createRng } from "../../data/mod.ts";
import { COMPLETE_MARKER, latestCheckpoint } from "../../train/mod.ts";
import { assertUsageError, REPO_ROOT, runMain, withTempDir } from "../_helpers.ts";
import { readJson, type TinyRun, writeTinyRun } from "./_train_helpers.ts";

const ENV = { HF_HUB_OFFLINE: "1", HF_ENDPOINT: "http://127.0.0.1:9", NO_COLOR: "1" };
const TOTAL_STEPS = 12; // 48 pairs / batch 8 = 6 steps per epoch, 2 epochs

/** The run every case repeats: dropout on, evaluation and a checkpoint every 2 steps. */
function trainArgs(run: TinyRun, ck: string, extra: string[] = []): string[] {
  return [
    ...["train", ...run.dataFlags, "--batch_size", "8", "--epochs", "2", "--eval_steps", "2"],
    ...["--logging_steps", "1", "--lr", "3e-3", "--metric_for_best_model", "loss", "--seed", "7"],
    ...["--checkpoint_dir", ck, "--backend", "wasm", ...extra],
  ];
}

/** What must come out the same however often the run was killed and resumed. */
interface Outcome {
  exported: Uint8Array;
  lastModel: Uint8Array;
  lastOptimizer: Uint8Array;
  logHistory: unknown;
  best: string;
  bestMetric: number;
}

async function outcome(ck: string): Promise<Outcome> {
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

function assertSameOutcome(actual: Outcome, expected: Outcome, what: string): void {
  assert.ok(bytesEqual(actual.exported, expected.exported), `${what}: exported best model`);
  assert.ok(bytesEqual(actual.lastModel, expected.lastModel), `${what}: final weights`);
  assert.ok(bytesEqual(actual.lastOptimizer, expected.lastOptimizer), `${what}: final moments`);
  assert.deepEqual(actual.logHistory, expected.logHistory, `${what}: log history`);
  assert.equal(actual.best, expected.best, `${what}: best checkpoint`);
  assert.equal(actual.bestMetric, expected.bestMetric, `${what}: best metric`);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Nothing half-written is left: no `.checkpoint-*` temporaries, no `*.tmp-*` files. */
async function assertNoLeftovers(ck: string): Promise<void> {
  const names = (await Array.fromAsync(Deno.readDir(ck))).map((e) => e.name);
  assert.deepEqual(names.filter((n) => n.startsWith(".") || /\.tmp-\d+$/.test(n)), [], ck);
}

async function checkpointNames(ck: string): Promise<string[]> {
  const names = (await Array.fromAsync(Deno.readDir(ck))).map((e) => e.name);
  return names.filter((n) => /^checkpoint-\d+$/.test(n)).sort();
}

/**
 * Runs the CLI and SIGKILLs it as soon as `shouldKill(stderrSoFar)` holds (checked every
 * millisecond). Fails when the run ended before the kill.
 */
async function runAndKill(
  args: string[],
  shouldKill: (stderr: string) => boolean | Promise<boolean>,
): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(REPO_ROOT, "main.ts"), ...args],
    env: ENV,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let stderr = "", exited = false;
  const reading = (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) stderr += text;
  })();
  const status = child.status.finally(() => exited = true);
  while (!exited) {
    if (await shouldKill(stderr)) {
      child.kill("SIGKILL");
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const { signal } = await status;
  await reading;
  assert.equal(signal, "SIGKILL", `the run was killed before it finished; stderr: ${stderr}`);
  return stderr;
}

async function fileExists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** Resumes with `--resume auto` and checks the outcome against the uninterrupted run. */
async function resumeAndCompare(run: TinyRun, ck: string, reference: Outcome, what: string) {
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
  return r.stderr;
}

Deno.test("resume: killed runs resumed with --resume auto end byte-identical to an uninterrupted run", async (t) => {
  await withTempDir(async (dir) => {
    const run = await writeTinyRun(dir, {
      train: 48,
      validation: 16,
      config: { dim: 32, hidden_dim: 64 },
    });
    const refDir = join(dir, "reference");
    const full = await runMain(trainArgs(run, refDir, ["--save_total_limit", "0"]), { env: ENV });
    assert.equal(full.code, 0, full.stderr);
    const reference = await outcome(refDir);
    assert.equal(
      (await checkpointNames(refDir)).length,
      TOTAL_STEPS / 2,
      "--save_total_limit 0 keeps all",
    );

    await t.step("killed once checkpoint-4 is complete", async () => {
      const ck = join(dir, "after-4");
      await runAndKill(
        trainArgs(run, ck, ["--save_total_limit", "2"]),
        () => fileExists(join(ck, "checkpoint-4", COMPLETE_MARKER)),
      );
      const stderr = await resumeAndCompare(run, ck, reference, "after checkpoint-4");
      assert.match(stderr, /^Resuming from ".*checkpoint-(4|6|8|10)" at step \d+$/m);
    });

    await t.step("killed at a seeded step and delay, between checkpoints", async () => {
      const rng = createRng(20261127);
      const step = 3 + Math.floor(rng() * 7), delayMs = Math.floor(rng() * 30);
      const ck = join(dir, "seeded");
      let seenAt = 0;
      await runAndKill(trainArgs(run, ck, ["--save_total_limit", "2"]), (stderr) => {
        if (!seenAt && stderr.includes(` step ${step}/${TOTAL_STEPS} `)) seenAt = Date.now();
        return seenAt > 0 && Date.now() - seenAt >= delayMs;
      });
      await resumeAndCompare(run, ck, reference, `step ${step} + ${delayMs} ms`);
    });

    await t.step("killed while checkpoint-6 is being written", async () => {
      const ck = join(dir, "during-write");
      await Deno.mkdir(ck);
      await runAndKill(trainArgs(run, ck, ["--save_total_limit", "2"]), async () => {
        for await (const e of Deno.readDir(ck)) {
          if (/^\.checkpoint-6\.tmp-/.test(e.name)) return true;
        }
        return false;
      });
      await resumeAndCompare(run, ck, reference, "during the checkpoint-6 write");
    });

    await t.step(
      "a half-written temporary and an unmarked checkpoint folder are not resumed from",
      async () => {
        const ck = join(dir, "planted");
        await runAndKill(
          trainArgs(run, ck, ["--save_total_limit", "2"]),
          () => fileExists(join(ck, "checkpoint-2", COMPLETE_MARKER)),
        );
        const latest = (await latestCheckpoint(ck))!;
        assert.ok(latest.step <= TOTAL_STEPS - 4, `killed too late (at ${latest.step})`);
        const model = await Deno.readFile(join(latest.path, "model.safetensors"));
        const tmp = join(ck, `.checkpoint-${latest.step + 2}.tmp-999999`);
        const unmarked = join(ck, `checkpoint-${latest.step + 4}`);
        for (const folder of [tmp, unmarked]) {
          await Deno.mkdir(folder);
          await Deno.copyFile(join(latest.path, "config.json"), join(folder, "config.json"));
          await Deno.writeFile(
            join(folder, "model.safetensors"),
            model.subarray(0, model.length >> 1),
          );
        }
        await Deno.copyFile(
          join(latest.path, "trainer_state.json"),
          join(unmarked, "trainer_state.json"),
        );
        const stderr = await resumeAndCompare(run, ck, reference, "planted leftovers");
        assert.ok(
          stderr.includes(`Resuming from "${latest.path}" at step ${latest.step}\n`),
          `resumes from the latest complete checkpoint: ${stderr}`,
        );
      },
    );

    await t.step(
      "--resume <path> of an older checkpoint replays the rest identically",
      async () => {
        const r = await runMain(
          trainArgs(run, refDir, [
            "--save_total_limit",
            "0",
            "--resume",
            join(refDir, "checkpoint-4"),
          ]),
          { env: ENV },
        );
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /^Resuming from ".*checkpoint-4" at step 4$/m);
        assertSameOutcome(await outcome(refDir), reference, "--resume checkpoint-4");
        await assertNoLeftovers(refDir);
        const done = await runMain(trainArgs(run, refDir, ["--resume", "auto"]), { env: ENV });
        assert.equal(done.code, 0, done.stderr);
        assert.match(done.stderr, new RegExp(`^Resuming from ".*checkpoint-${TOTAL_STEPS}" `, "m"));
        assert.doesNotMatch(done.stderr, /^eval step/m, "a finished run has nothing left to do");
        assertSameOutcome(await outcome(refDir), reference, "--resume auto of a finished run");
      },
    );

    await t.step(
      "a used checkpoint dir without --resume, or a non-checkpoint --resume, is exit 2",
      async () => {
        const again = await runMain(trainArgs(run, refDir), { env: ENV });
        assertUsageError(
          again,
          new RegExp(
            `^error: Checkpoint dir "${refDir}" already holds checkpoints \\(checkpoint-2, .*\\): ` +
              `pass --resume auto to continue that run, --overwrite_output_dir to replace it, ` +
              `or choose another --checkpoint_dir$`,
          ),
        );
        const empty = join(dir, "empty");
        await Deno.mkdir(empty);
        for (const folder of [run.model, empty, refDir]) {
          const r = await runMain(trainArgs(run, join(dir, "other"), ["--resume", folder]), {
            env: ENV,
          });
          assertUsageError(
            r,
            new RegExp(`^error: Cannot resume from "${folder}": not a complete checkpoint folder`),
          );
        }
        assert.ok(!(await fileExists(join(dir, "other"))), "nothing was written");
      },
    );
  });
});
