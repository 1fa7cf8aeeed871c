/**
 * `tune` and `report` check where they will write before any trial or rendering: a read-only file
 * system (EROFS) and a folder without permission (EACCES) are one line naming the flag, the path
 * and the cause, exit 2, and nothing is written.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  assertUsageError,
  canMountTmpfs,
  runMain,
  runMainUnprivileged,
  unprivilegedPrefix,
  withTempDir,
  withTmpfs,
} from "../_helpers.ts";
import { makeRunRecord } from "../reports/_fixtures.ts";

const TUNE = ["tune", "--demo", "--n_trials", "1"];

Deno.test({
  name: "outputs: a read-only file system for tune and report is exit 2 before any work",
  ignore: !canMountTmpfs("outputs: read-only file system"),
  fn: () =>
    withTempDir(async (dir) => {
      const record = await makeRunRecord(join(dir, "runs"));
      await withTmpfs(dir, "ro,size=64k", async (fs) => {
        const ck = join(fs, "ck");
        assertUsageError(
          await runMain([...TUNE, "--checkpoint_dir", ck]),
          new RegExp(
            `^error: Cannot write into --checkpoint_dir "${join(ck, "mrpc-tune")}": the file ` +
              `system is read-only$`,
          ),
        );
        assertUsageError(
          await runMain([
            ...TUNE,
            "--checkpoint_dir",
            join(dir, "ok"),
            "--storage",
            join(fs, "j.log"),
          ]),
          new RegExp(`^error: Cannot write into --storage "${fs}": the file system is read-only$`),
        );
        assertUsageError(
          await runMain(["report", "--run", record, "--output", join(fs, "r.html")]),
          new RegExp(`^error: Cannot write into --output "${fs}": the file system is read-only$`),
        );
        assert.deepEqual(await Array.fromAsync(Deno.readDir(fs)), []);
      });
      assert.ok(!(await Deno.stat(join(dir, "ok")).catch(() => null)), "no study folder made");
    }),
});

const unprivileged = unprivilegedPrefix();
if (unprivileged === null) {
  console.log('SKIP "outputs: no permission": root, and setpriv cannot drop CAP_DAC_OVERRIDE');
}

Deno.test({
  name: "outputs: a folder without write permission for tune and report is exit 2",
  ignore: unprivileged === null,
  fn: () =>
    withTempDir(async (dir) => {
      const record = await makeRunRecord(join(dir, "runs"));
      const locked = join(dir, "locked");
      await Deno.mkdir(locked);
      await Deno.chmod(locked, 0o555);
      assertUsageError(
        await runMainUnprivileged(unprivileged!, [...TUNE, "--checkpoint_dir", locked]),
        new RegExp(
          `^error: Cannot write into --checkpoint_dir "${join(locked, "mrpc-tune")}": ` +
            `permission denied$`,
        ),
      );
      assertUsageError(
        await runMainUnprivileged(unprivileged!, [
          "report",
          "--run",
          record,
          "--output",
          join(locked, "r.html"),
        ]),
        new RegExp(`^error: Cannot write into --output "${locked}": permission denied$`),
      );
      assert.deepEqual(await Array.fromAsync(Deno.readDir(locked)), []);
    }),
});
