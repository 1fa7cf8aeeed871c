import assert from "node:assert/strict";
import { generateParaphraseTask } from "../../data/mod.ts";

Deno.test("synthetic task: deterministic, MRPC-like balance, vocabulary covers every word", () => {
  const t = generateParaphraseTask({ seed: 3, trainSize: 1000, validationSize: 200 });
  assert.deepEqual(t, generateParaphraseTask({ seed: 3, trainSize: 1000, validationSize: 200 }));
  assert.equal(t.train.length, 1000);
  assert.equal(t.validation.length, 200);
  const pos = t.train.filter((e) => e.label === 1).length / t.train.length;
  assert.ok(pos > 0.6 && pos < 0.76, `positive rate ${pos}`);
  const vocab = new Set(t.words);
  for (const e of [...t.train, ...t.validation]) {
    for (const w of `${e.sentence1} ${e.sentence2}`.split(" ")) assert.ok(vocab.has(w), w);
    if (e.label === 1) assert.notEqual(e.sentence1, e.sentence2);
  }
});
