import assert from "node:assert/strict";
import { type Batch, collate, type EncodedExample } from "../../data/mod.ts";
import { createRng } from "../../core/mod.ts";
import { parseDistilBertConfig } from "../../model/mod.ts";
import {
  maxTrainRows,
  splitBatch,
  trainBytesPerExample,
  WASM_TRAIN_BUDGET_BYTES,
} from "../../train/mod.ts";
import { needsShared, sharedPath, tinyConfig } from "../_helpers.ts";

/** `rows` examples of lengths 1–`maxLen` with distinct token ids (row r, position t → r*100+t+1). */
function encoded(rows: number, maxLen: number, seed: number): EncodedExample[] {
  const rng = createRng(seed);
  return Array.from({ length: rows }, (_, r) => ({
    inputIds: Array.from({ length: 1 + Math.floor(rng() * maxLen) }, (_, t) => r * 100 + t + 1),
    label: (r % 2) as 0 | 1,
    truncated: false,
  }));
}

/** The unpadded token ids of each row of `batch`. */
function rowsOf(batch: Batch): number[][] {
  const out: number[][] = [];
  for (let r = 0; r < batch.batchSize; r++) {
    const row: number[] = [];
    for (let t = 0; t < batch.seqLen; t++) {
      const i = r * batch.seqLen + t;
      if (batch.attentionMask[i] === 1) row.push(batch.inputIds[i]);
      else assert.equal(batch.inputIds[i], 0, "padding holds the pad id");
    }
    out.push(row);
  }
  return out;
}

Deno.test("micro_batch: splitBatch keeps every row once, in order, each chunk trimmed to its longest", () => {
  for (const [rows, maxRows, seed] of [[8, 3, 1], [16, 4, 2], [7, 1, 3], [5, 2, 4], [13, 5, 5]]) {
    const ex = encoded(rows, 20, seed);
    const indices = ex.map((_, i) => (i * 5) % rows); // a shuffled order, as an epoch's
    const batch = collate(ex, indices, { padId: 0 });
    const parts = splitBatch(batch, maxRows);
    assert.equal(parts.length, Math.ceil(rows / maxRows));
    const sizes = parts.map((p) => p.batch.batchSize);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `even passes: ${sizes}`);
    const seen: number[][] = [];
    for (const { batch: part, weight } of parts) {
      assert.ok(part.batchSize <= maxRows && part.batchSize >= 1);
      assert.equal(weight, part.batchSize / rows);
      assert.equal(part.inputIds.length, part.batchSize * part.seqLen);
      assert.equal(part.attentionMask.length, part.batchSize * part.seqLen);
      const partRows = rowsOf(part);
      assert.equal(part.seqLen, Math.max(...partRows.map((r) => r.length)), "trimmed padding");
      assert.equal(part.labels.length, part.batchSize);
      partRows.forEach((row, r) => {
        const k = seen.length;
        assert.deepEqual(row, ex[indices[k]].inputIds, `row ${k} keeps its tokens`);
        assert.equal(part.labels[r], ex[indices[k]].label);
        assert.equal(part.indices[r], indices[k]);
        seen.push(row);
      });
    }
    assert.equal(seen.length, rows, "every row exactly once");
    const total = parts.reduce((s, p) => s + p.weight, 0);
    assert.ok(Math.abs(total - 1) < 1e-12, `weights sum to 1, got ${total}`);
  }
});

Deno.test("micro_batch: 16 rows at most 14 a pass run as 8 + 8, not 14 + 2", () => {
  const batch = collate(encoded(16, 20, 9), [...Array(16).keys()], { padId: 0 });
  assert.deepEqual(splitBatch(batch, 14).map((p) => p.batch.batchSize), [8, 8]);
  assert.deepEqual(splitBatch(batch, 5).map((p) => p.batch.batchSize), [4, 4, 4, 4]);
  assert.deepEqual(splitBatch(batch, 6).map((p) => p.batch.batchSize), [6, 5, 5]);
});

Deno.test("micro_batch: a batch that fits is returned whole with weight 1", () => {
  const batch = collate(encoded(4, 9, 6), [0, 1, 2, 3], { padId: 0 });
  const parts = splitBatch(batch, 4);
  assert.equal(parts.length, 1);
  assert.equal(parts[0].batch, batch);
  assert.equal(parts[0].weight, 1);
  assert.equal(splitBatch(batch, 100)[0].batch, batch);
});

Deno.test("micro_batch: maxTrainRows is at least 1 and shrinks with length and budget", () => {
  const tiny = tinyConfig();
  assert.ok(maxTrainRows(tiny, 64) >= 256, "a tiny model is never split at usual batch sizes");
  assert.equal(maxTrainRows(tiny, 64, 1), 1, "never below one row");
  assert.ok(trainBytesPerExample(tiny, 128) > 2 * trainBytesPerExample(tiny, 64));
  assert.ok(maxTrainRows(tiny, 64, WASM_TRAIN_BUDGET_BYTES / 2) < maxTrainRows(tiny, 64));
});

const BASE_CONFIG = "data/tokenizers/distilbert-base-uncased/config.json";
Deno.test({
  name: "micro_batch: DistilBERT-base fits 4 × 128 and 8 × 64 on wasm, not 16 × 64",
  ignore: needsShared(BASE_CONFIG, "micro_batch: DistilBERT-base rows"),
  async fn() {
    const path = sharedPath(BASE_CONFIG);
    const config = parseDistilBertConfig(JSON.parse(await Deno.readTextFile(path)), path);
    assert.ok(maxTrainRows(config, 128) >= 4, `128 tokens: ${maxTrainRows(config, 128)} rows`);
    assert.ok(maxTrainRows(config, 64) >= 8, `64 tokens: ${maxTrainRows(config, 64)} rows`);
    assert.ok(maxTrainRows(config, 64) < 16, `64 tokens: ${maxTrainRows(config, 64)} rows`);
    assert.ok(maxTrainRows(config, 128) < 8, `128 tokens: ${maxTrainRows(config, 128)} rows`);
    assert.ok(WASM_TRAIN_BUDGET_BYTES < 4 * 2 ** 30, "the budget leaves room in the 4 GiB heap");
  },
});
