import assert from "node:assert/strict";
import { join } from "node:path";
import {
  parseOptions,
  resolveTrainConfig,
  TRAIN_OPTIONS,
  type TrainConfigOf,
  type TrainOptionValues,
  UsageError,
} from "../../cli/mod.ts";
import { FREE_KEYS, INVOCATION_KEYS, type TrainConfig, TRAJECTORY_KEYS } from "../../train/mod.ts";
import { assertUsageError, runMain, withTempDir } from "../_helpers.ts";

async function resolve(argv: string[]) {
  const given = new Set<string>();
  const values = parseOptions(TRAIN_OPTIONS, argv, { given });
  return await resolveTrainConfig(values, given);
}

/** True only when A and B are the same type (each key, optionality and value type). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;

Deno.test("train options: TrainConfig is exactly the table's rows but --config and --demo", () => {
  // Checked by `deno check`: a row added, removed or retyped on one side fails to compile.
  const same: Equal<TrainConfigOf<TrainOptionValues>, TrainConfig> = true;
  assert.equal(same, true);
  const keys = TRAIN_OPTIONS.map((o) => o.name).filter((n) => n !== "config" && n !== "demo");
  assert.equal(new Set(keys).size, keys.length, "no flag is defined twice");
});

Deno.test("train options: every setting is in exactly one resume list", () => {
  const lists = [TRAJECTORY_KEYS, FREE_KEYS, INVOCATION_KEYS].map((l) => [...l] as string[]);
  const all = lists.flat();
  assert.equal(new Set(all).size, all.length, "no key in two lists");
  const keys = TRAIN_OPTIONS.map((o) => o.name as string).filter((n) =>
    n !== "config" && n !== "demo"
  );
  assert.deepEqual([...all].sort(), [...keys].sort());
});

Deno.test("train options: defaults of the original project", async () => {
  const c = await resolve([]);
  assert.equal(c.lr, 3e-5);
  assert.equal(c.batch_size, 16);
  assert.equal(c.checkpoint_dir, "models");
  assert.equal(c.model, "distilbert-base-uncased");
  assert.equal(c.epochs, 3);
  assert.equal(c.seed, 42);
  assert.ok(Object.isFrozen(c));
  assert.ok(!("config" in c));
});

Deno.test("train options: --config file under flags, validated like flags", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "run.json");
    await Deno.writeTextFile(file, JSON.stringify({ lr: 1e-4, batch_size: 8, epochs: 2 }));
    const c = await resolve(["--config", file, "--batch_size", "4"]);
    assert.equal(c.lr, 1e-4);
    assert.equal(c.batch_size, 4);
    assert.equal(c.epochs, 2);
    await Deno.writeTextFile(file, JSON.stringify({ lr: -1 }));
    await assert.rejects(resolve(["--config", file]), (e: Error) => {
      assert.ok(e instanceof UsageError);
      assert.match(e.message, /run\.json.*--lr: "-1" must be > 0/);
      return true;
    });
    await Deno.writeTextFile(file, JSON.stringify({ learning_rate: 1 }));
    await assert.rejects(resolve(["--config", file]), /unknown key "learning_rate"/);
    await Deno.writeTextFile(file, "{");
    await assert.rejects(resolve(["--config", file]), /Invalid config ".*run\.json"/);
    await assert.rejects(resolve(["--config", join(dir, "none.json")]), /Cannot read --config/);
  });
});

Deno.test("train CLI: a leading flag means train; bad flags exit 2 with one line", async () => {
  assertUsageError(await runMain(["--lr", "0"]), /--lr: "0" must be > 0/);
  assertUsageError(await runMain(["train", "--batch_size", "0"]), /--batch_size/);
  assertUsageError(await runMain(["--lr", "nan"]), /--lr/);
  assertUsageError(await runMain(["--lr_scheduler", "step"]), /--lr_scheduler/);
  const help = await runMain(["train", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--checkpoint_dir DIR/);
  assert.match(help.stdout, /default: 3e-5/);
});
