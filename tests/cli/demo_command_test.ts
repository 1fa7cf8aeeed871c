import assert from "node:assert/strict";
import { join } from "node:path";
import { runMain, withTempDir } from "../_helpers.ts";

Deno.test("demo: a tiny random DistilBERT learns the generated paraphrase task (>= 95%)", async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, "models");
    const r = await runMain(["demo", "--checkpoint_dir", out, "--backend", "wasm"]);
    assert.equal(r.code, 0, r.stderr);
    const results = JSON.parse(await Deno.readTextFile(join(out, "eval_results.json")));
    console.log(`demo validation accuracy ${results.eval_accuracy}, f1 ${results.eval_f1}`);
    assert.ok(results.eval_accuracy >= 0.95, `accuracy ${results.eval_accuracy}`);
    assert.equal(results.eval_samples, 400);
    assert.match(r.stdout, /Best model: accuracy 0\.9\d+/);
    const shown = r.stdout.split("\n").filter((l) => /^ {2}(not_)?equivalent \(p=/.test(l));
    assert.equal(shown.length, 5);
    // The exported best model is a complete HF folder that predict can read.
    for (const f of ["config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"]) {
      await Deno.stat(join(out, f));
    }
  });
});
