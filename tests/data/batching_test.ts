import assert from "node:assert/strict";
import {
  batchCount,
  batchesInOrder,
  collate,
  type EncodedExample,
  epochOrder,
  evalBatches,
  lengthGroupedOrder,
} from "../../data/mod.ts";

function example(len: number, label?: 0 | 1): EncodedExample {
  const inputIds = Array.from({ length: len }, (_, i) => 100 + len * 10 + i);
  return label === undefined
    ? { inputIds, truncated: false }
    : { inputIds, label, truncated: false };
}

function sorted(xs: readonly number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

Deno.test("batching: collate pads to the batch's longest with the pad id and a 0/1 mask", () => {
  const exs = [example(3, 1), example(5, 0), example(2)];
  const b = collate(exs, [2, 0], { padId: 7 });
  assert.equal(b.batchSize, 2);
  assert.equal(b.seqLen, 3);
  assert.deepEqual([...b.inputIds], [120, 121, 7, 130, 131, 132]);
  assert.deepEqual([...b.attentionMask], [1, 1, 0, 1, 1, 1]);
  assert.deepEqual([...b.labels], [-1, 1]);
  assert.deepEqual(b.indices, [2, 0]);
  assert.ok(b.inputIds instanceof Int32Array && b.attentionMask instanceof Int32Array);
  assert.throws(() => collate(exs, [], { padId: 0 }), RangeError);
});

Deno.test("batching: eval batches keep input order and the final smaller batch", () => {
  const exs = [1, 2, 3, 4, 5, 6, 7].map((n) => example(n, 0));
  const batches = [...evalBatches(exs, { batchSize: 3, padId: 0 })];
  assert.deepEqual(batches.map((b) => b.indices), [[0, 1, 2], [3, 4, 5], [6]]);
  assert.deepEqual(batches.map((b) => b.seqLen), [3, 6, 7]);
  assert.equal(batchCount(7, 3), 3);
  assert.throws(() => batchCount(7, 0), RangeError);
});

Deno.test("batching: epochOrder is a permutation, a pure function of (seed, epoch)", () => {
  const n = 103;
  const a = epochOrder(n, { seed: 42, epoch: 0 });
  assert.deepEqual(sorted(a), Array.from({ length: n }, (_, i) => i));
  assert.deepEqual(epochOrder(n, { seed: 42, epoch: 0 }), a);
  assert.notDeepEqual(epochOrder(n, { seed: 42, epoch: 1 }), a);
  assert.notDeepEqual(epochOrder(n, { seed: 43, epoch: 0 }), a);
  assert.notDeepEqual(a, Array.from({ length: n }, (_, i) => i));
  assert.deepEqual(epochOrder(0, { seed: 1, epoch: 0 }), []);
});

Deno.test("batching: resuming at startBatch yields the same remaining batches", () => {
  const exs = Array.from({ length: 23 }, (_, i) => example(1 + (i % 9), (i % 2) as 0 | 1));
  const order = epochOrder(exs.length, { seed: 7, epoch: 3 });
  const all = [...batchesInOrder(exs, order, { batchSize: 4, padId: 0 })];
  assert.equal(all.length, 6);
  assert.equal(all[5].batchSize, 3);
  assert.deepEqual(sorted(all.flatMap((b) => b.indices)), sorted(order));
  const resumed = [...batchesInOrder(exs, order, { batchSize: 4, padId: 0, startBatch: 4 })];
  assert.deepEqual(resumed, all.slice(4));
});

Deno.test("batching: lengthGroupedOrder follows HF get_length_grouped_indices", () => {
  // n = 20, batch 2: megaBatchMult = min(floor(20 / 8), 50) = 2, mega-batches of 4.
  const lengths = [5, 1, 9, 3, 7, 2, 8, 4, 6, 10, 11, 0, 12, 13, 14, 15, 16, 17, 18, 19];
  const perm = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19];
  const got = lengthGroupedOrder(perm, lengths, 2);
  // Each mega-batch sorted by length descending; then the longest overall (index 19, length 19,
  // first of the last mega-batch) swaps with the first element of mega-batch 0 (index 2).
  assert.deepEqual(got, [
    ...[19, 0, 3, 1],
    ...[6, 4, 7, 5],
    ...[10, 9, 8, 11],
    ...[15, 14, 13, 12],
    ...[2, 18, 17, 16],
  ]);
  // Ties keep the permutation's order (stable), and a tiny set is one mega-batch.
  assert.deepEqual(lengthGroupedOrder([3, 1, 2, 0], [4, 4, 4, 4], 8), [3, 1, 2, 0]);
  assert.deepEqual(lengthGroupedOrder([], [], 8), []);
});

Deno.test("batching: group_by_length epochs see every example once, longest first", () => {
  const n = 1000;
  const lengths = Array.from({ length: n }, (_, i) => 5 + ((i * 37) % 101));
  const exs = lengths.map((len) => example(len, 1));
  for (const epoch of [0, 1]) {
    const order = epochOrder(n, { seed: 3, epoch, groupByLength: { lengths, batchSize: 8 } });
    assert.deepEqual(sorted(order), Array.from({ length: n }, (_, i) => i));
    assert.equal(lengths[order[0]], Math.max(...lengths));
    const batches = [...batchesInOrder(exs, order, { batchSize: 8, padId: 0 })];
    // megaBatchMult = min(floor(1000 / 32), 50) = 31: within a 248-example mega-batch, lengths fall.
    for (let i = 1; i < 248; i++) assert.ok(lengths[order[i]] <= lengths[order[i - 1]]);
    const padded = batches.reduce((s, b) => s + b.batchSize * b.seqLen, 0);
    const plain = [...batchesInOrder(exs, epochOrder(n, { seed: 3, epoch }), {
      batchSize: 8,
      padId: 0,
    })].reduce((s, b) => s + b.batchSize * b.seqLen, 0);
    assert.ok(padded < plain * 0.7, `grouped ${padded} vs shuffled ${plain} padded tokens`);
  }
  assert.throws(
    () => epochOrder(3, { seed: 1, epoch: 0, groupByLength: { lengths: [1], batchSize: 2 } }),
    RangeError,
  );
});
