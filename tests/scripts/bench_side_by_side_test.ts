import assert from "node:assert/strict";
import { pairs, schedule } from "../../scripts/bench_side_by_side.ts";

Deno.test("side by side: each pair alternates which engine goes first, round by round", () => {
  const turns = schedule(4, 2);
  assert.equal(turns.length, 8);
  for (const pair of [0, 1]) {
    const firsts = turns.filter((t) => t.pair === pair).map((t) => t.oursFirst);
    assert.deepEqual(firsts, pair === 0 ? [true, false, true, false] : [false, true, false, true]);
  }
  // With an even number of pairs too, every pair gets both orders over two rounds.
  for (const count of [1, 2, 3, 4, 5]) {
    const t = schedule(2, count);
    for (let p = 0; p < count; p++) {
      const orders = t.filter((x) => x.pair === p).map((x) => x.oursFirst);
      assert.deepEqual(orders.sort(), [false, true], `${count} pairs, pair ${p}`);
    }
  }
  // Within a round, neighbouring pairs start with different engines.
  const round = schedule(1, 5).map((t) => t.oursFirst);
  assert.deepEqual(round, [true, false, true, false, true]);
});

Deno.test("side by side: both engines get the same warm-up, on the epoch pairs too", () => {
  const all = pairs({ warmup: 3, steps: 2, epoch_batches: 4 });
  const flag = (args: string[], name: string) => args[args.indexOf(name) + 1];
  assert.deepEqual(all.map((p) => p.name), [
    "train 16x128",
    "train 16x64",
    "eval 64x128",
    "epoch grouped vs torch max",
    "epoch grouped vs torch grouped",
  ]);
  for (const p of all) {
    assert.equal(flag(p.ours, "--warmup"), "3", `${p.name}: ours`);
    assert.equal(flag(p.peer, "--warmup"), "3", `${p.name}: peer`);
  }
  const epoch = all.find((p) => p.name === "epoch grouped vs torch max")!;
  assert.equal(flag(epoch.ours, "--epoch_batches"), "4");
  assert.equal(flag(epoch.peer, "--batches"), "4");
  assert.equal(flag(epoch.peer, "--padding"), "max");
});
