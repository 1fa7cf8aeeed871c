import assert from "node:assert/strict";
import { join } from "node:path";
import { createRng } from "../../core/mod.ts";
import { COMPLETE_MARKER, latestCheckpoint } from "../../train/mod.ts";
import { assertUsageError, runMain, withTempDir } from "../_helpers.ts";
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
  TOTAL_STEPS,
  trainArgs,
} from "./_resume.ts";

Deno.test("resume: killed runs resumed with --resume auto end byte-identical to an uninterrupted run", async (t) => {
  await withTempDir(async (dir) => {
    const { run, ref: reference } = await referenceRun(dir);
    const refDir = join(dir, "reference");
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
