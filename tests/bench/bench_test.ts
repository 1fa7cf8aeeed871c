import assert from "node:assert/strict";
import { join } from "node:path";
// Not on the cli face (only main.ts uses cli/): the shape parser and the JSON key conversion.
import { BENCH_OPTIONS, benchConfigFrom, parseShape, reportJson } from "../../cli/bench_command.ts";
import { parseOptions } from "../../cli/mod.ts";
// Private: the epoch slice's batches and token counts, checked without timing anything.
import {
  epochBatches,
  microBatchTokens,
  paddedTokens,
  spreadPositions,
  syntheticExamples,
} from "../../bench/_epoch.ts";
import {
  BUILT_IN_MODEL_CONFIG,
  defaultModelConfigJson,
  defaultTokenLengths,
  encoderMatmulParams,
  trainFlops,
} from "../../bench/mod.ts";
import { parseDistilBertConfig } from "../../model/mod.ts";
import { assertUsageError, needsBlas, needsShared, runMain, sharedPath } from "../_helpers.ts";

const TINY_CONFIG = {
  dim: 32,
  hidden_dim: 64,
  n_layers: 2,
  n_heads: 2,
  vocab_size: 100,
  max_position_embeddings: 64,
};
const LENGTHS = [5, 9, 12, 30, 7, 8, 16, 22, 3, 11, 14, 19, 25, 6, 10, 13, 17, 21, 4, 9, 40, 2];

const TINY_FLAGS: Record<string, string> = {
  backend: "wasm",
  train_shapes: "2x16,3x8",
  eval_shape: "5x16",
  warmup: "1",
  steps: "2",
  epoch_batches: "2",
  batch_size: "4",
  max_seq_length: "32",
};

/** Writes the tiny config and lengths; `args(overrides)` builds a `bench` command line. */
async function tinyInputs(): Promise<
  { dir: string; args: (overrides?: Record<string, string>) => string[] }
> {
  const dir = await Deno.makeTempDir({ prefix: "bench-test-" });
  await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify(TINY_CONFIG));
  await Deno.writeTextFile(join(dir, "lengths.json"), JSON.stringify({ train: LENGTHS }));
  const files = {
    model_config: join(dir, "config.json"),
    token_lengths: join(dir, "lengths.json"),
  };
  const args = (overrides: Record<string, string> = {}) => [
    "bench",
    ...Object.entries({ ...TINY_FLAGS, ...files, ...overrides }).flatMap(([k, v]) =>
      v === "" ? [`--${k}`] : [`--${k}`, v]
    ),
  ];
  return { dir, args };
}

const positive = (x: unknown, what: string) =>
  assert.ok(typeof x === "number" && Number.isFinite(x) && x > 0, `${what}: ${x}`);

Deno.test("bench --json: one object with every figure, sane for a tiny model", async () => {
  const { dir, args } = await tinyInputs();
  try {
    const r = await runMain(args({ json: "" }));
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines.length, 1, "exactly one stdout line");
    const j = JSON.parse(lines[0]);
    assert.deepEqual(Object.keys(j).sort(), [
      "backend",
      "epoch",
      "eval",
      "fused_layers",
      "machine",
      "matmul",
      "memory",
      "model",
      "optimizer",
      "optimizer_mode",
      "profile",
      "settings",
      "tokens",
      "total_seconds",
      "tracking",
      "train",
    ]);
    assert.equal(j.backend.name, "wasm");
    assert.ok(j.backend.threads >= 1);
    assert.ok(j.machine.cores >= 1 && typeof j.machine.cpu === "string" && j.machine.cpu !== "");
    assert.ok(Array.isArray(j.machine.load_average));
    assert.ok(!Number.isNaN(Date.parse(j.machine.date)));
    assert.equal(j.model.n_layers, 2);
    assert.equal(j.model.encoder_matmul_params, 2 * (4 * 32 * 32 + 2 * 32 * 64));
    assert.deepEqual(j.matmul.shape, [1024, 768, 3072]);
    positive(j.matmul.gflops, "matmul gflops");
    assert.ok(Math.abs(j.matmul.gflops - 2 * 1024 * 768 * 3072 / j.matmul.seconds / 1e9) < 1e-6);

    assert.deepEqual(j.train.map((t: { batch: number; seq_len: number }) => [t.batch, t.seq_len]), [
      [2, 16],
      [3, 8],
    ]);
    for (const t of j.train) {
      assert.equal(t.step_seconds.length, 2, "timed steps only");
      positive(t.median_step_seconds, "median step");
      assert.ok(Math.abs(t.examples_per_second - t.batch / t.median_step_seconds) < 1e-9);
      const flops = 6 * j.model.encoder_matmul_params * t.batch * t.seq_len;
      assert.ok(Math.abs(t.gflops - flops / t.median_step_seconds / 1e9) < 1e-9);
      assert.ok(Math.abs(t.fraction_of_matmul - t.gflops / j.matmul.gflops) < 1e-12);
      assert.equal(t.micro_batch_rows, t.batch, "a tiny model is not split");
    }
    const modes = j.optimizer.map((o: { mode: string }) => o.mode);
    assert.deepEqual(modes, j.backend.simd ? ["heap", "js"] : ["js"], "each mode that runs here");
    for (const o of j.optimizer) {
      positive(o.total_seconds, `${o.mode} optimizer step`);
      const sum = o.accumulate_seconds + o.norm_seconds + o.update_seconds;
      assert.ok(Math.abs(o.total_seconds - sum) < 1e-12, "the total is its parts");
    }
    assert.ok(["heap", "js"].includes(j.optimizer_mode));
    assert.equal(j.fused_layers, j.backend.simd !== null, "fused kernels wherever ours load");
    assert.equal(j.eval.batch, 5);
    positive(j.eval.examples_per_second, "eval examples/s");

    const real = LENGTHS.reduce((a, b) => a + Math.min(b, 32), 0);
    assert.equal(j.tokens.real, real);
    for (const p of ["max", "dynamic", "grouped"]) {
      assert.ok(j.tokens[p].computed >= real, p);
      assert.ok(Math.abs(j.tokens[p].ratio - j.tokens[p].computed / real) < 1e-12);
    }
    assert.equal(j.tokens.max.computed, LENGTHS.length * 32, "max pads every row to 32");
    assert.ok(j.tokens.grouped.computed <= j.tokens.dynamic.computed, "grouping pads less");

    const e = j.epoch;
    assert.equal(e.padding, "grouped");
    assert.equal(e.examples, LENGTHS.length);
    assert.equal(e.batches, Math.ceil(LENGTHS.length / 4));
    assert.equal(e.batches_timed, 2);
    assert.equal(e.computed_tokens, j.tokens.grouped.computed, "no micro-batch split here");
    assert.equal(e.real_tokens, real);
    assert.ok(e.epoch_seconds_estimate > e.seconds_timed, "extrapolated to the whole epoch");
    assert.ok(Math.abs(e.examples_per_second - e.examples / e.epoch_seconds_estimate) < 1e-9);

    positive(j.memory.peak_rss_bytes, "peak RSS");
    assert.ok(j.memory.wasm_heap_bytes > 0 && j.memory.wasm_heap_bytes <= 4 * 2 ** 30);
    positive(j.total_seconds, "total");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bench: the table names every part; --parts runs only those", async () => {
  const { dir, args } = await tinyInputs();
  try {
    const table = await runMain(args({ parts: "train,epoch", steps: "1" }));
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^train 2x16: [\d.]+ examples\/s/m);
    assert.match(table.stdout, /^epoch \(grouped, batch 4\): ~\d+ s/m);
    assert.match(table.stdout, /^tokens computed \/ real \(\d+ real\): max [\d.]+/m);
    assert.doesNotMatch(table.stdout, /^matmul|^eval/m);
    const json = await runMain(args({ parts: "eval", json: "", padding: "max" }));
    assert.equal(json.code, 0, json.stderr);
    const j = JSON.parse(json.stdout);
    assert.equal(j.matmul, null);
    assert.deepEqual(j.train, []);
    assert.equal(j.epoch, null);
    assert.equal(j.tracking, null, "tracking runs on request only");
    assert.equal(j.profile, null, "so does the profile");
    assert.equal(j.eval.seq_len, 16);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bench --parts tracking: a record row and a W&B upload per step, measured in pairs", async () => {
  const { dir, args } = await tinyInputs();
  try {
    const r = await runMain(args({ parts: "tracking", steps: "3", json: "" }));
    assert.equal(r.code, 0, r.stderr);
    const t = JSON.parse(r.stdout).tracking;
    assert.equal(t.steps, 3);
    positive(t.median_step_seconds, "untracked step");
    positive(t.median_step_seconds_tracked, "tracked step");
    assert.ok(
      Math.abs(t.overhead - (t.median_step_seconds_tracked / t.median_step_seconds - 1)) < 1e-12,
    );
    assert.equal(t.rows_received, 3, "every row reached the loopback W&B");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bench --parts profile: one step per shape, its time by kernel", async () => {
  const { dir, args } = await tinyInputs();
  try {
    const r = await runMain(args({ parts: "profile", json: "" }));
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.deepEqual(j.train, [], "profile alone runs no timed train steps");
    assert.deepEqual(
      j.profile.map((p: { batch: number; seq_len: number }) => [p.batch, p.seq_len]),
      [
        [2, 16],
        [3, 8],
      ],
    );
    for (const p of j.profile) {
      positive(p.step_seconds, "profiled step");
      const names = p.kernels.map((k: { kernel: string }) => k.kernel);
      // The matmuls, GELU and LayerNorm (ours on wasm) and the gradients' kernels all ran.
      assert.ok(names.some((n: string) => /MatMul/.test(n)), names.join(", "));
      assert.ok(names.includes("MrpcTuneGelu") && names.includes("MrpcTuneLayerNormGrad"));
      const sum = p.kernels.reduce((s: number, k: { seconds: number }) => s + k.seconds, 0);
      assert.ok(Math.abs(sum - p.kernel_seconds) < 1e-9);
      assert.ok(p.kernel_seconds <= p.step_seconds, "kernels run inside the step");
      for (let i = 1; i < p.kernels.length; i++) {
        assert.ok(p.kernels[i].seconds <= p.kernels[i - 1].seconds, "the longest first");
      }
      assert.ok(p.kernels.every((k: { calls: number }) => k.calls >= 1));
    }
    const table = await runMain(args({ parts: "profile", train_shapes: "2x16" }));
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^profile 2x16: one step [\d.]+ s; kernels [\d.]+ s \(\d+%\)/m);
    assert.match(table.stdout, /^ {2}\w+: [\d.]+ s \(\d+%\), \d+ calls$/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bench --wasm_threads 2: XNNPACK runs two threads under Deno", async () => {
  const { dir, args } = await tinyInputs();
  try {
    const r = await runMain(args({ parts: "matmul,train", wasm_threads: "2", json: "" }));
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.backend.threads, 2);
    positive(j.matmul.gflops, "threaded matmul");
    positive(j.train[0].examples_per_second, "threaded train step");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bench: bad flags and inputs are one-line errors", async () => {
  const { dir, args } = await tinyInputs();
  try {
    assertUsageError(
      await runMain(args({ train_shapes: "16by128" })),
      /--train_shapes: "16by128" is not a shape like 16x128/,
    );
    assertUsageError(await runMain(args({ parts: "train,fly" })), /--parts: "fly"/);
    assertUsageError(
      await runMain(args({ eval_shape: "2x100" })),
      /max_position_embeddings \(64\)/,
    );
    const missing = args({ token_lengths: join(dir, "nope.json") });
    assertUsageError(await runMain(missing), /Cannot read --token_lengths ".*nope\.json": no such/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bench helpers: shapes, FLOPs, snake_case JSON, spread slice", () => {
  assert.deepEqual(parseShape("16x128", "x"), { batch: 16, seqLen: 128 });
  const base = parseDistilBertConfig({}, "defaults");
  assert.equal(encoderMatmulParams(base), 42_467_328, "notes/tfjs-wasm.md's count");
  assert.equal(trainFlops(base, 16 * 128), 6 * 42_467_328 * 2048);
  assert.deepEqual(reportJson({ a: { bC: [{ dE: 1 }] } } as never), { a: { b_c: [{ d_e: 1 }] } });
  assert.deepEqual(spreadPositions(10, 3, 0), [2, 5, 8]);
  assert.deepEqual(spreadPositions(3, 5, 0), [1, 2]);
});

Deno.test("bench: without --model_config and --token_lengths, DistilBERT-base on MRPC's lengths, built in", async () => {
  const config = await benchConfigFrom(parseOptions(BENCH_OPTIONS, []));
  assert.equal(config.modelSource, BUILT_IN_MODEL_CONFIG);
  assert.deepEqual(
    [config.model.dim, config.model.hidden_dim, config.model.n_layers, config.model.n_heads],
    [768, 3072, 6, 12],
  );
  assert.equal(config.model.vocab_size, 30522);
  assert.equal(config.tokenLengths.length, 3668, "MRPC's training pairs");
  assert.ok(config.tokenLengths.every((n) => Number.isInteger(n) && n > 0 && n < 200));
});

Deno.test({
  name: "bench: the built-in config and lengths are the Hub's config.json and MRPC's, unchanged",
  ignore: needsShared("data/mrpc/token_lengths.json", "the built-in bench inputs' provenance"),
  fn: async () => {
    const read = async (...parts: string[]) =>
      JSON.parse(await Deno.readTextFile(sharedPath(...parts)));
    assert.deepEqual(
      defaultModelConfigJson(),
      await read("data", "tokenizers", "distilbert-base-uncased", "config.json"),
    );
    assert.deepEqual(
      defaultTokenLengths(),
      (await read("data", "mrpc", "token_lengths.json")).train,
    );
  },
});

Deno.test({
  name: "bench epoch plans: MRPC lengths computed as HF pads them",
  fn: () => {
    const lengths = defaultTokenLengths();
    const opts = { maxSeqLength: 128, seed: 42, vocabSize: 30522, batchSize: 16, padId: 0 };
    const examples = syntheticExamples(lengths, opts);
    const real = examples.reduce((a, e) => a + e.inputIds.length, 0);
    const ratio = (padding: "max" | "dynamic" | "grouped") =>
      paddedTokens(epochBatches(examples, { ...opts, padding })) / real;
    // The figures: padding to 128 computes about 2.4x; grouping stays under 1.15x.
    assert.ok(Math.abs(ratio("max") - 2.4) < 0.1, `max ${ratio("max")}`);
    assert.ok(ratio("grouped") <= 1.15, `grouped ${ratio("grouped")}`);
    assert.ok(ratio("dynamic") > ratio("grouped"), "grouping beats plain dynamic padding");
    const grouped = epochBatches(examples, { ...opts, padding: "grouped" });
    const split = microBatchTokens(grouped, () => 4);
    assert.ok(split <= paddedTokens(grouped), "micro-batches re-pad to their own longest");
  },
});

const BLAS_FIELD = "bench --json: backend.blas names the BLAS in use, null with --blas off";
Deno.test({ name: BLAS_FIELD, ignore: needsBlas(BLAS_FIELD) }, async () => {
  const { dir, args } = await tinyInputs();
  try {
    for (
      const [blas, want] of [["off", null], ["auto", /^\S.* \(\d+ threads?\)$/]] as const
    ) {
      const r = await runMain([...args({ json: "", parts: "matmul" }), "--blas", blas]);
      assert.equal(r.code, 0, r.stderr);
      const j = JSON.parse(r.stdout);
      if (want === null) assert.equal(j.backend.blas, null);
      else assert.match(j.backend.blas, want);
      positive(j.matmul.gflops, `matmul gflops, --blas ${blas}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
