import assert from "node:assert/strict";
import { quantile, tokenStats } from "../../data/mod.ts";
import { needsShared, sharedPath } from "../_helpers.ts";

Deno.test("token_stats: numpy-style linear percentiles, max and truncated count", () => {
  assert.deepEqual(tokenStats([200, 10, 30, 20], { maxSeqLength: 128 }), {
    count: 4,
    p50: 25,
    p90: 149,
    max: 200,
    truncated: 1,
  });
  assert.deepEqual(tokenStats([7], { maxSeqLength: 7 }), {
    count: 1,
    p50: 7,
    p90: 7,
    max: 7,
    truncated: 0,
  });
  assert.equal(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 0.9), 10);
  assert.equal(quantile([1, 3], 0), 1);
  assert.equal(quantile([1, 3], 1), 3);
  // Between ranks, as numpy.percentile (linear) gives them: np.percentile([1, 2], [50, 90]) is
  // [1.5, 1.9]; [1, 2, 3, 4] → [2.5, 3.7]; [10, 20, 30] → [20, 28]; [3, 1, 4, 1, 5, 9, 2, 6] →
  // [3.5, 6.9]; [5, 7] → [6, 6.8].
  const numpy: [number[], number, number][] = [
    [[1, 2], 1.5, 1.9],
    [[1, 2, 3, 4], 2.5, 3.7],
    [[10, 20, 30], 20, 28],
    [[3, 1, 4, 1, 5, 9, 2, 6], 3.5, 6.9],
    [[5, 7], 6, 6.8],
  ];
  for (const [lengths, p50, p90] of numpy) {
    const s = tokenStats(lengths, { maxSeqLength: 128 });
    assert.deepEqual([s.p50, s.p90], [p50, p90], `${lengths}`);
  }
  assert.throws(() => tokenStats([], { maxSeqLength: 8 }), RangeError);
  assert.throws(() => quantile([1], 1.5), RangeError);
});

Deno.test({
  name: "token_stats: MRPC train+dev lengths give the documented median 53, p90 70, max 103",
  ignore: needsShared("data/mrpc/token_lengths.json", "token_stats: MRPC train+dev"),
  async fn() {
    const ref = JSON.parse(await Deno.readTextFile(sharedPath("data/mrpc/token_lengths.json")));
    const stats = tokenStats([...ref.train, ...ref.validation], { maxSeqLength: 64 });
    assert.deepEqual(stats, { count: 4076, p50: 53, p90: 70, max: 103, truncated: 813 });
  },
});
