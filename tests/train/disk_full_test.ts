/**
 * A full disk names itself: at start it is exit 2 before any step, with no lock or folder left
 * behind; during a checkpoint it is exit 1 naming the checkpoint and the cause, the checkpoints
 * saved before stay whole, and once there is room the run resumes to the very same weights.
 * A real full file system: a small tmpfs (mounting needs root; skipped, saying so, without it).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { assertUsageError, canMountTmpfs, runMain, withTempDir, withTmpfs } from "../_helpers.ts";
import {
  assertNoLeftovers,
  ENV,
  fileExists,
  referenceRun,
  resumeAndCompare,
  trainArgs,
} from "./_resume.ts";

const noMount = !canMountTmpfs("disk full");

Deno.test({
  name: "disk full at start: exit 2 before any step, no lock or folder left",
  ignore: noMount,
  fn: () =>
    withTempDir(async (dir) => {
      const { run } = await referenceRun(dir);
      await withTmpfs(dir, "size=200k", async (fs) => {
        await Deno.writeFile(join(fs, "filler"), new Uint8Array(196 * 1024)); // 4 KiB left
        const ck = join(fs, "ck");
        assertUsageError(
          await runMain(trainArgs(run, ck), { env: ENV }),
          new RegExp(
            `^error: Cannot write into --checkpoint_dir "${ck}": no space left on device$`,
          ),
        );
        assert.deepEqual((await Array.fromAsync(Deno.readDir(fs))).map((e) => e.name), ["filler"]);
      });
    }),
});

Deno.test({
  name: "disk full mid-run: exit 1 naming the checkpoint; earlier ones whole; resume is exact",
  ignore: noMount,
  fn: () =>
    withTempDir(async (dir) => {
      const { run, ref } = await referenceRun(dir);
      await withTmpfs(dir, "size=400k", async (fs) => {
        const ck = join(fs, "ck");
        // Every checkpoint kept, about 116 KiB each: the third or fourth no longer fits.
        const full = await runMain(trainArgs(run, ck, ["--save_total_limit", "0"]), { env: ENV });
        assert.equal(full.code, 1, full.stderr);
        const line = full.stderr.trim().split("\n").at(-1)!;
        assert.match(
          line,
          new RegExp(
            `^error: Cannot save checkpoint-\\d+ in "${ck}": no space left on device; the ` +
              `checkpoints saved before are whole \\(continue with --resume auto once the ` +
              `folder can be written\\)$`,
          ),
        );
        assert.doesNotMatch(full.stderr, /internal error/);
        assert.ok(await fileExists(join(ck, "checkpoint-2", "checkpoint_complete.json")));
        await assertNoLeftovers(ck);
        assert.ok(!(await fileExists(join(ck, ".lock"))), "the lock is released");
        // Room again: the run resumes from its last whole checkpoint and ends as if never stopped.
        const grow = await new Deno.Command("mount", {
          args: ["-o", "remount,size=8m", join(fs)],
        }).output();
        assert.ok(grow.success);
        await resumeAndCompare(run, ck, ref, "after a full disk");
      });
    }),
});
