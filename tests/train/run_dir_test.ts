/**
 * The checkpoint folder is checked and held before any training: a read-only folder (checked
 * without root's permission bypass) and a path that is a file are exit 2 at once; a folder with
 * an earlier run's final model is refused unless --overwrite_output_dir; two runs never share a
 * folder (the .lock names its holder; a dead holder's lock is taken over and said so).
 */
import assert from "node:assert/strict";
import os from "node:os";
import { join } from "node:path";
import { acquireRunLock, LOCK_FILE } from "../../train/mod.ts";
import {
  assertUsageError,
  runMain,
  runMainUnprivileged,
  unprivilegedPrefix,
  withTempDir,
} from "../_helpers.ts";
import { writeTinyRun } from "./_train_helpers.ts";
import { ENV, runAndSignal } from "./_resume.ts";

function args(dataFlags: string[], ck: string, extra: string[] = []): string[] {
  return [
    ...["train", ...dataFlags, "--batch_size", "4", "--max_steps", "2", "--eval_steps", "2"],
    ...["--checkpoint_dir", ck, "--backend", "wasm", ...extra],
  ];
}

const READ_ONLY = "run dir: a read-only parent is exit 2 before training, nothing written";
const unprivileged = unprivilegedPrefix();
if (unprivileged === null) {
  console.log(`SKIP "${READ_ONLY}": running as root and setpriv cannot drop CAP_DAC_OVERRIDE`);
}
Deno.test({ name: READ_ONLY, ignore: unprivileged === null }, async () => {
  await withTempDir(async (dir) => {
    const run = await writeTinyRun(dir, { train: 8, validation: 4 });
    const locked = join(dir, "locked");
    await Deno.mkdir(locked);
    await Deno.chmod(locked, 0o555);
    for (const ck of [join(locked, "ck"), locked]) {
      assertUsageError(
        await runMainUnprivileged(unprivileged!, args(run.dataFlags, ck), { env: ENV }),
        new RegExp(`^error: Cannot write into --checkpoint_dir "${ck}": permission denied$`),
      );
    }
    assert.deepEqual(await Array.fromAsync(Deno.readDir(locked)), []);
  });
});

Deno.test("run dir: a path that is a file, or under a file, is exit 2", async () => {
  await withTempDir(async (dir) => {
    const run = await writeTinyRun(dir, { train: 8, validation: 4 });
    const file = join(dir, "plain.txt");
    await Deno.writeTextFile(file, "keep me");
    assertUsageError(
      await runMain(args(run.dataFlags, file), { env: ENV }),
      new RegExp(`^error: Invalid --checkpoint_dir "${file}": it is a file, not a folder$`),
    );
    assertUsageError(
      await runMain(args(run.dataFlags, join(file, "ck")), { env: ENV }),
      /^error: Cannot write into --checkpoint_dir ".*plain\.txt\/ck": a part of the path is a file$/,
    );
    assert.equal(await Deno.readTextFile(file), "keep me");
  });
});

Deno.test("run dir: an earlier final model is refused, --overwrite_output_dir replaces it", async () => {
  await withTempDir(async (dir) => {
    const run = await writeTinyRun(dir, { train: 8, validation: 4 });
    const ck = join(dir, "ck");
    assert.equal((await runMain(args(run.dataFlags, ck), { env: ENV })).code, 0);
    // Only the final model is left (the checkpoints were deleted by hand).
    for (const e of await Array.fromAsync(Deno.readDir(ck))) {
      if (e.name.startsWith("checkpoint-")) {
        await Deno.remove(join(ck, e.name), { recursive: true });
      }
    }
    const model = await Deno.readFile(join(ck, "model.safetensors"));
    const listing = async () => (await Array.fromAsync(Deno.readDir(ck))).map((e) => e.name).sort();
    const before = await listing();
    // A plain rerun, and --resume auto with nothing to resume: both refused, nothing changed,
    // and neither points to the other (only --overwrite_output_dir replaces the model).
    assertUsageError(
      await runMain(args(run.dataFlags, ck), { env: ENV }),
      new RegExp(
        `^error: Checkpoint dir "${ck}" already holds a trained model \\(config\\.json, ` +
          `model\\.safetensors\\) and no checkpoint to resume: pass --overwrite_output_dir to ` +
          `replace it, or choose another --checkpoint_dir$`,
      ),
    );
    assertUsageError(
      await runMain(args(run.dataFlags, ck, ["--resume", "auto"]), { env: ENV }),
      new RegExp(
        `^error: Cannot --resume auto in "${ck}": it holds no checkpoint to resume, but a ` +
          `trained model \\(config\\.json, model\\.safetensors\\); pass ` +
          `--overwrite_output_dir to replace it, or choose another --checkpoint_dir$`,
      ),
    );
    assert.deepEqual(await Deno.readFile(join(ck, "model.safetensors")), model, "untouched");
    assert.deepEqual(await listing(), before, "nothing added or removed");
    const again = await runMain(
      args(run.dataFlags, ck, ["--overwrite_output_dir", "--seed", "9"]),
      {
        env: ENV,
      },
    );
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /^Removed an earlier run from ".*" \(--overwrite_output_dir\): /m);
    assert.notDeepEqual(await Deno.readFile(join(ck, "model.safetensors")), model, "replaced");
  });
});

Deno.test("run dir: --resume auto with no checkpoint but a run record refuses; an empty folder starts", async () => {
  await withTempDir(async (dir) => {
    const run = await writeTinyRun(dir, { train: 8, validation: 4 });
    const ck = join(dir, "ck");
    const fresh = await runMain(args(run.dataFlags, ck, ["--resume", "auto"]), { env: ENV });
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.match(fresh.stderr, /^No checkpoint in ".*" yet: starting from scratch$/m);
    // What a run killed before its first checkpoint leaves: its record only.
    for (const e of await Array.fromAsync(Deno.readDir(ck))) {
      if (e.name !== "runs") await Deno.remove(join(ck, e.name), { recursive: true });
    }
    const [record] = await Array.fromAsync(Deno.readDir(join(ck, "runs")));
    assertUsageError(
      await runMain(args(run.dataFlags, ck, ["--resume", "auto"]), { env: ENV }),
      new RegExp(
        `^error: Cannot --resume auto in "${ck}": it holds no checkpoint to resume, but the ` +
          `record of a run that saved no checkpoint \\(runs/${record.name}\\); pass ` +
          `--overwrite_output_dir to replace it, or choose another --checkpoint_dir$`,
      ),
    );
    const over = await runMain(
      args(run.dataFlags, ck, ["--resume", "auto", "--overwrite_output_dir"]),
      { env: ENV },
    );
    assert.equal(over.code, 0, over.stderr);
    assert.equal((await Array.fromAsync(Deno.readDir(join(ck, "runs")))).length, 2, "both records");
  });
});

Deno.test("run dir: a second run into a busy folder is refused naming the holder", async () => {
  await withTempDir(async (dir) => {
    const run = await writeTinyRun(dir, {
      train: 48,
      validation: 8,
      config: { dim: 32, hidden_dim: 64 },
    });
    const ck = join(dir, "ck");
    const long = [
      ...["train", ...run.dataFlags, "--batch_size", "4", "--epochs", "3", "--logging_steps", "1"],
      ...["--checkpoint_dir", ck, "--backend", "wasm"],
    ];
    let second: { code: number; stdout: string; stderr: string } | null = null;
    const first = await runAndSignal(long, async (stderr, pid) => {
      if (!stderr.includes(" step 2/")) return false;
      // Hold the first run, lock and all, while the second one tries: however slow the machine,
      // the first cannot finish in the meantime.
      Deno.kill(pid, "SIGSTOP");
      try {
        second ??= await runMain(long, { env: ENV });
      } finally {
        Deno.kill(pid, "SIGCONT");
      }
      return true;
    }, { signals: ["SIGTERM"] });
    assert.equal(first.status.code, 143, first.stderr);
    assert.ok(second);
    assertUsageError(
      second,
      new RegExp(
        `^error: Checkpoint dir "${ck}" is in use by process \\d+ on "${os.hostname()}" ` +
          `\\(started [0-9T:.-]+Z\\): wait for it, or remove "${join(ck, LOCK_FILE)}" if no run ` +
          `is using it$`,
      ),
    );
    assert.ok(!(await Deno.stat(join(ck, LOCK_FILE)).catch(() => null)), "released by the first");
  });
});

Deno.test("run dir: a lock whose process is gone is taken over, and said so", async () => {
  await withTempDir(async (dir) => {
    const run = await writeTinyRun(dir, { train: 8, validation: 4 });
    const ck = join(dir, "ck");
    await Deno.mkdir(ck);
    const dead = new Deno.Command(Deno.execPath(), { args: ["eval", "0"] }).spawn();
    const { pid } = dead;
    await dead.status;
    const stale = { pid, host: os.hostname(), started: "2026-01-01T00:00:00.000Z" };
    await Deno.writeTextFile(join(ck, LOCK_FILE), JSON.stringify(stale));
    const r = await runMain(args(run.dataFlags, ck), { env: ENV });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^Took over the lock ".*${LOCK_FILE}" of process ${pid} \\(started 2026-01-01T00:00:00\\.000Z\\), which is gone$`,
        "m",
      ),
    );
    assert.ok(!(await Deno.stat(join(ck, LOCK_FILE)).catch(() => null)), "released at the end");
    // Another host's lock is never taken over: it may be alive.
    await Deno.writeTextFile(join(ck, LOCK_FILE), JSON.stringify({ ...stale, host: "elsewhere" }));
    await assert.rejects(acquireRunLock(ck), /is in use by process \d+ on "elsewhere"/);
  });
});
