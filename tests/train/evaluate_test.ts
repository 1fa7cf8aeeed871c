import assert from "node:assert/strict";
import type { Batch, EncodedExample } from "../../data/mod.ts";
import { initBackend, tf } from "../../backend/mod.ts";
import { evaluate } from "../../train/mod.ts";

/** Logits by the first word id of a row (`[CLS] id [SEP]`), exactly representable in float32. */
const LOGITS: Record<number, [number, number]> = {
  10: [2, 0],
  11: [0, 1.5],
  12: [1, -1],
  13: [-0.5, 0.5],
  14: [0.25, 3],
};
/** Row by row: right (TN), right (TP), wrong (FN), wrong (FP), right (TP). */
const LABELS: (0 | 1)[] = [0, 1, 1, 0, 1];

/** A model whose logits are the table's: evaluation is then known to the last digit. */
const FIXED_MODEL = {
  logits(batch: Batch): tf.Tensor2D {
    const rows: number[][] = [];
    for (let r = 0; r < batch.batchSize; r++) {
      rows.push(LOGITS[batch.inputIds[r * batch.seqLen + 1]]);
    }
    return tf.tensor2d(rows, [batch.batchSize, 2], "float32");
  },
};

Deno.test("evaluate: exact accuracy, F1 and loss on known logits and labels", async () => {
  await initBackend("wasm");
  const examples: EncodedExample[] = LABELS.map((label, i) => ({
    inputIds: [2, 10 + i, 3],
    label,
    truncated: false,
  }));
  for (const batchSize of [5, 2]) {
    const m = await evaluate(FIXED_MODEL, examples, { batchSize, padId: 0 });
    assert.equal(m.count, 5);
    assert.equal(m.accuracy, 3 / 5, "TN, TP, FN, FP, TP");
    assert.equal(m.f1, (2 * 2) / (2 * 2 + 1 + 1), "TP 2, FP 1, FN 1");
    // Mean of log(Σ exp(l)) − l[label], computed in float64 by hand (Python math.log/exp).
    const ce = [
      0.1269280110429727,
      0.20141327798275244,
      2.1269280110429722,
      1.3132616875182228,
      0.061967589003198764,
    ];
    assert.ok(Math.abs(m.loss - ce.reduce((a, b) => a + b) / 5) < 1e-12, `loss ${m.loss}`);
  }
});
