/**
 * The resume rules: checkpoint references relative to the checkpoint dir (relative, absolute and
 * moved folders resume alike), settings taken from the checkpoint (a conflicting flag is an
 * error naming both values), a validated trainer_state.json, and the graceful stop on SIGINT and
 * SIGTERM (exit 130 / 143, a checkpoint saved, nothing half-written, an exact resume).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { COMPLETE_MARKER, TRAINER_STATE_FILE } from "../../train/mod.ts";
import { assertUsageError, runMain, withTempDir } from "../_helpers.ts";
import { readJson, writeTinyRun } from "./_train_helpers.ts";
import {
  assertNoLeftovers,
  assertSameOutcome,
  checkpointNames,
  ENV,
  fileExists,
  outcome,
  referenceRun,
  resumeAndCompare,
  runAndKill,
  runAndSignal,
  TOTAL_STEPS,
  trainArgs,
} from "./_resume.ts";

/** `args` with `flag` set to `value` (replaced where present, else appended). */
function withFlag(args: string[], flag: string, value: string): string[] {
  const i = args.indexOf(flag);
  return i === -1 ? [...args, flag, value] : args.map((a, j) => (j === i + 1 ? value : a));
}

const killedAt4 = (ck: string) => () => fileExists(join(ck, "checkpoint-4", COMPLETE_MARKER));

Deno.test("resume: relative, absolute and moved checkpoint dirs resume exactly and keep the best", async (t) => {
  await withTempDir(async (dir) => {
    const { run, ref } = await referenceRun(dir);
    console.log(`reference best: ${ref.best} of ${TOTAL_STEPS} steps`);

    await t.step("started relative to one folder, resumed by its absolute path", async () => {
      await runAndKill(
        trainArgs(run, "rel", ["--save_total_limit", "1"]),
        killedAt4(join(dir, "rel")),
        {
          cwd: dir,
        },
      );
      const state = await readJson(join(dir, "rel", "checkpoint-4", TRAINER_STATE_FILE));
      assert.match(String(state.best_model_checkpoint), /^checkpoint-\d+$/, "stored by name");
      await resumeAndCompare(run, join(dir, "rel"), ref, "relative, then absolute");
    });

    await t.step("moved (and renamed) between the kill and the resume", async () => {
      const ck = join(dir, "before-move");
      await runAndKill(trainArgs(run, ck, ["--save_total_limit", "1"]), killedAt4(ck));
      const moved = join(dir, "moved", "elsewhere");
      await Deno.mkdir(join(dir, "moved"));
      await Deno.rename(ck, moved);
      await resumeAndCompare(run, moved, ref, "after a move");
    });

    await t.step("today's absolute form of best_model_checkpoint is read by its name", async () => {
      const ck = join(dir, "old-form");
      await runAndKill(trainArgs(run, ck, ["--save_total_limit", "1"]), killedAt4(ck));
      for (const name of await checkpointNames(ck)) {
        const path = join(ck, name, TRAINER_STATE_FILE);
        const state = await readJson(path);
        if (state.best_model_checkpoint === null) continue;
        const absolute = join("/somewhere/else", String(state.best_model_checkpoint));
        await Deno.writeTextFile(
          path,
          JSON.stringify({ ...state, best_model_checkpoint: absolute }),
        );
      }
      await resumeAndCompare(run, ck, ref, "absolute best path");
    });
  });
});

Deno.test("resume: the run's settings are used; a conflicting flag names it and both values", async (t) => {
  await withTempDir(async (dir) => {
    const { run, ref } = await referenceRun(dir);
    const ck = join(dir, "ck");
    await runAndKill(trainArgs(run, ck, ["--save_total_limit", "2"]), killedAt4(ck));

    await t.step("a flag that shapes training, given with another value, is exit 2", async () => {
      const cases: [string[], RegExp][] = [
        [["--batch_size", "4"], /--batch_size 4: the run in ".*" was trained with --batch_size 8/],
        [["--lr", "1e-3"], /--lr 0\.001: the run .* was trained with --lr 0\.003/],
        [["--seed", "8"], /--seed 8: .* with --seed 7/],
        [["--max_steps", "20"], /--max_steps 20: .* with --max_steps 0/],
        [
          ["--model", join(dir, "other-model")],
          /--model ".*other-model": .* with --model ".*model"/,
        ],
      ];
      const before = await checkpointNames(ck);
      for (const [[flag, value], pattern] of cases) {
        const args = withFlag(trainArgs(run, ck, ["--resume", "auto"]), flag, value);
        const r = await runMain(args, { env: ENV });
        assertUsageError(r, pattern);
        assert.match(r.stderr, /cannot change on resume/);
      }
      assert.deepEqual(await checkpointNames(ck), before, "nothing was written");
    });

    await t.step("other data under a data flag is refused by its sha256", async () => {
      const other = join(dir, "other.tsv");
      const pairs = (await Deno.readTextFile(run.trainFile)).split("\n");
      await Deno.writeTextFile(other, [...pairs.slice(0, 2), ...pairs.slice(3)].join("\n"));
      const otherData = ["--model", run.model, "--train_file", other];
      const dataFlags = [...otherData, "--validation_file", run.validationFile];
      const r = await runMain(trainArgs({ ...run, dataFlags }, ck, ["--resume", "auto"]), {
        env: ENV,
      });
      assertUsageError(r, /its training data differ from the run's \(sha256 /);
    });

    await t.step("--resume auto alone takes every setting from the checkpoint", async () => {
      const r = await runMain(
        ["train", "--checkpoint_dir", ck, "--resume", "auto", "--backend", "wasm"],
        { env: ENV },
      );
      assert.equal(r.code, 0, r.stderr);
      // Every setting of the run, logging cadence included, comes from the checkpoint.
      assertSameOutcome(await outcome(ck), ref, "--resume auto alone");
      await assertNoLeftovers(ck);
      const state = await readJson(join(ck, `checkpoint-${TOTAL_STEPS}`, TRAINER_STATE_FILE));
      const config = state.config as Record<string, unknown>;
      assert.equal(config.model, run.model, "the run's model, not the default");
      assert.equal(config.batch_size, 8);
      assert.equal(config.seed, 7);
    });
  });
});

Deno.test("resume: moved data files with the same content resume; free flags may change", async () => {
  await withTempDir(async (dir) => {
    const { run, ref } = await referenceRun(dir);
    const ck = join(dir, "ck");
    await runAndKill(trainArgs(run, ck, ["--save_total_limit", "2"]), killedAt4(ck));
    const movedTrain = join(dir, "moved-train.tsv");
    await Deno.rename(run.trainFile, movedTrain);
    const r = await runMain([
      ...["train", "--checkpoint_dir", ck, "--resume", "auto", "--backend", "wasm"],
      ...["--train_file", movedTrain, "--logging_steps", "3", "--eval_batch_size", "5"],
      ...["--save_total_limit", "2"],
    ], { env: ENV });
    assert.equal(r.code, 0, r.stderr);
    // Logging every 3 steps instead of 1 changes the log history only.
    const got = await outcome(ck);
    const evals = (h: unknown) => (h as Record<string, number>[]).filter((e) => "eval/loss" in e);
    // Another --eval_batch_size batches the same rows differently: with BLAS the losses may
    // differ in the last bits (sgemm's blocking depends on the row count); the rest is exact.
    const [mine, theirs] = [evals(got.logHistory), evals(ref.logHistory)];
    assert.equal(mine.length, theirs.length);
    mine.forEach((e, i) => {
      assert.ok(Math.abs(e["eval/loss"] - theirs[i]["eval/loss"]) <= 1e-7, `eval ${i}`);
      assert.deepEqual({ ...e, "eval/loss": 0 }, { ...theirs[i], "eval/loss": 0 });
    });
    assert.notDeepEqual(got.logHistory, ref.logHistory);
    assertSameOutcome({ ...got, logHistory: ref.logHistory }, ref, "moved data, other logging");
  });
});

/** A finished tiny run whose last checkpoint's trainer_state.json the cases below corrupt. */
const CORRUPTIONS: [string, (s: Record<string, unknown>) => unknown, RegExp][] = [
  ["log_history", (s) => ({ ...s, log_history: "oops" }), /field "log_history" must be an array/],
  [
    "global_step",
    (s) => ({ ...s, global_step: 999 }),
    /"global_step" \(999\) is beyond "total_steps" \(4\)/,
  ],
  [
    "global_step type",
    (s) => ({ ...s, global_step: "2" }),
    /field "global_step" must be a non-negative integer, found "2"/,
  ],
  [
    "best_metric",
    (s) => ({ ...s, best_metric: "good" }),
    /field "best_metric" must be null or a finite number/,
  ],
  [
    "best checkpoint",
    (s) => ({ ...s, best_model_checkpoint: "checkpoint-77" }),
    /"best_model_checkpoint" names "checkpoint-77", which is not a complete checkpoint/,
  ],
  ["rng", (s) => ({ ...s, rng: null }), /field "rng" must be an object/],
  [
    "optimizer_steps",
    (s) => ({ ...s, optimizer_steps: 50 }),
    /"optimizer_steps" \(50\) is beyond "global_step"/,
  ],
  ["config", (s) => ({ ...s, config: [] }), /field "config" must be an object/],
  ["version", (s) => ({ ...s, version: 2 }), /not a mrpc-tune trainer state \(version 1\)/],
  ["not JSON", () => "{", /^error: Invalid ".*trainer_state\.json": /],
];

Deno.test("resume: a corrupted trainer_state.json is one error naming the file and the field", async () => {
  await withTempDir(async (dir) => {
    const run = await writeTinyRun(dir, { train: 8, validation: 4 });
    const ck = join(dir, "ck");
    const args = [
      ...["train", ...run.dataFlags, "--batch_size", "4", "--max_steps", "2", "--eval_steps", "1"],
      ...["--checkpoint_dir", ck, "--backend", "wasm", "--save_total_limit", "0"],
    ];
    assert.equal((await runMain(args, { env: ENV })).code, 0);
    const path = join(ck, "checkpoint-2", TRAINER_STATE_FILE);
    const good = await readJson(path);
    // A run resumes this checkpoint with more steps to go, so global_step 999 is out of range.
    for (const [what, corrupt, pattern] of CORRUPTIONS) {
      const bad = corrupt({ ...good, total_steps: 4 });
      await Deno.writeTextFile(path, typeof bad === "string" ? bad : JSON.stringify(bad));
      const r = await runMain([...args, "--resume", "auto"], { env: ENV });
      assertUsageError(r, pattern);
      assert.ok(r.stderr.includes(path), `${what}: names the file: ${r.stderr}`);
    }
    await Deno.writeTextFile(path, JSON.stringify(good));
    const fine = await runMain([...args, "--resume", "auto"], { env: ENV });
    assert.equal(fine.code, 0, fine.stderr);
  });
});

for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  Deno.test(`stop: ${signal} mid-training saves checkpoint-N, exits ${code}, resumes exactly`, async () => {
    await withTempDir(async (dir) => {
      const { run, ref } = await referenceRun(dir);
      const ck = join(dir, "ck");
      const { status, stderr } = await runAndSignal(
        trainArgs(run, ck, ["--save_total_limit", "2"]),
        (err) => err.includes(` step 3/${TOTAL_STEPS} `),
        { signals: [signal] },
      );
      assert.equal(status.code, code, stderr);
      const line =
        /^Interrupted at step (\d+): checkpoint-(\d+) saved; continue with --resume auto$/m
          .exec(stderr);
      assert.ok(line, `the stop line: ${stderr}`);
      assert.equal(line[1], line[2]);
      assert.ok(Number(line[1]) >= 3 && Number(line[1]) < TOTAL_STEPS, stderr);
      assert.ok(await fileExists(join(ck, `checkpoint-${line[1]}`, COMPLETE_MARKER)));
      assert.match(
        stderr,
        new RegExp(`^${signal}: finishing this step and saving a checkpoint`, "m"),
      );
      await assertNoLeftovers(ck);
      assert.ok(!(await fileExists(join(ck, ".lock"))), "the lock is released");
      const resumed = await resumeAndCompare(run, ck, ref, `after ${signal}`);
      assert.match(
        resumed,
        new RegExp(`^Resuming from ".*checkpoint-${line[1]}" at step ${line[1]}$`, "m"),
      );
    });
  });
}

Deno.test("stop: SIGTERM between evaluations writes the checkpoint itself", async () => {
  await withTempDir(async (dir) => {
    // 24 steps and one evaluation, at the end: a stop at step 3 is far from any evaluation.
    const run = await writeTinyRun(dir, { train: 48, validation: 8 });
    const ck = join(dir, "ck");
    const args = [
      ...["train", ...run.dataFlags, "--batch_size", "2", "--epochs", "1", "--logging_steps", "1"],
      ...["--checkpoint_dir", ck, "--backend", "wasm"],
    ];
    const { status, stderr } = await runAndSignal(args, (err) => err.includes(" step 3/24 "), {
      signals: ["SIGTERM"],
    });
    assert.equal(status.code, 143, stderr);
    const line = /^Interrupted at step (\d+): checkpoint-(\d+) saved; /m.exec(stderr);
    assert.ok(line, `the stop line: ${stderr}`);
    const step = Number(line[1]);
    assert.ok(step >= 3 && step < 24, stderr);
    assert.doesNotMatch(stderr, /^eval step/m, "no evaluation ran before the stop");
    // The stop's own checkpoint: complete, at its step, with no evaluation in it.
    assert.deepEqual(await checkpointNames(ck), [`checkpoint-${step}`]);
    const saved = join(ck, `checkpoint-${step}`);
    assert.ok(await fileExists(join(saved, COMPLETE_MARKER)));
    assert.equal((await readJson(join(saved, TRAINER_STATE_FILE))).global_step, step);
    assert.ok(!(await fileExists(join(saved, "eval_results.json"))), "not an evaluation's");
    const resumed = await runMain([...args, "--resume", "auto"], { env: ENV });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(
      resumed.stderr,
      new RegExp(`^Resuming from ".*checkpoint-${step}" at step ${step}$`, "m"),
    );
  });
});

Deno.test("stop: two quick signals still leave only whole checkpoints that resume", async () => {
  await withTempDir(async (dir) => {
    const run = await writeTinyRun(dir, {
      train: 48,
      validation: 16,
      config: { dim: 128, hidden_dim: 512, n_heads: 4 },
    });
    const ck = join(dir, "ck");
    const { status, stderr } = await runAndSignal(
      trainArgs(run, ck, ["--save_total_limit", "2"]),
      (err) => err.includes(` step 5/${TOTAL_STEPS} `),
      { signals: ["SIGINT", "SIGINT"], gapMs: 0 },
    );
    assert.equal(status.code, 130, stderr);
    assert.ok(!(await fileExists(join(ck, ".lock"))), "the lock is released");
    const done = await runMain(trainArgs(run, ck, ["--resume", "auto"]), { env: ENV });
    assert.equal(done.code, 0, done.stderr);
    assert.ok(await fileExists(join(ck, `checkpoint-${TOTAL_STEPS}`, COMPLETE_MARKER)));
    await assertNoLeftovers(ck);
  });
});
