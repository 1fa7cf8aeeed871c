import assert from "node:assert/strict";
import { join } from "node:path";
import { readMrpcTsv } from "../../data/mod.ts";
import { accuracyAndF1 } from "../../train/mod.ts";
import {
  assertUsageError,
  needsShared,
  runMain,
  sharedPath,
  withTempDir,
  writeTinyModel,
} from "../_helpers.ts";

const LABELLED = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String";
const UNLABELLED = "index\t#1 ID\t#2 ID\t#1 String\t#2 String";
/** An environment where the Hub is unreachable, so that nothing is downloaded. */
function offlineEnv(dir: string): Record<string, string> {
  return {
    HF_HUB_OFFLINE: "1",
    HF_HUB_CACHE: join(dir, "cache"),
    HF_ENDPOINT: "http://127.0.0.1:9",
  };
}

/** The tiny model (1 layer, dim 8) as an HF folder in `<dir>/model`. */
function writeModel(dir: string): Promise<unknown> {
  return writeTinyModel(join(dir, "model"), {
    config: { max_position_embeddings: 32, n_layers: 1, dim: 8, hidden_dim: 16 },
  });
}

interface Line {
  index: number;
  logits: number[];
  probability: number;
  label: number;
}

/** Parses JSON lines, checking the exact keys, the index order and probability/label. */
function parseLines(text: string, count: number): Line[] {
  assert.ok(text.endsWith("\n"), "output ends with a newline");
  const lines = text.slice(0, -1).split("\n").map((l) => JSON.parse(l) as Line);
  assert.equal(lines.length, count);
  lines.forEach((line, i) => {
    assert.deepEqual(Object.keys(line), ["index", "logits", "probability", "label"]);
    assert.equal(line.index, i);
    assert.equal(line.logits.length, 2);
    const [l0, l1] = line.logits;
    for (const l of line.logits) assert.equal(Math.fround(l), l, "logits are float32 values");
    assert.ok(Math.abs(line.probability - 1 / (1 + Math.exp(l0 - l1))) < 1e-12, `row ${i}`);
    assert.equal(line.label, l1 > l0 ? 1 : 0);
  });
  return lines;
}

function assertLogitsClose(actual: Line[], expected: number[][], tolerance: number): void {
  actual.forEach((line, i) =>
    line.logits.forEach((l, c) =>
      assert.ok(Math.abs(l - expected[i][c]) <= tolerance, `row ${i}: ${l} vs ${expected[i][c]}`)
    )
  );
}

for (const fixture of ["distilbert-tiny-1", "distilbert-tiny-2"]) {
  Deno.test({
    name: `predict: reproduces the ${fixture} fixture's logits, across batches, into --output`,
    ignore: needsShared(`fixtures/${fixture}/expected.json`, `predict: ${fixture}`),
    async fn() {
      await withTempDir(async (dir) => {
        const expected = JSON.parse(
          await Deno.readTextFile(sharedPath("fixtures", fixture, "expected.json")),
        ).logits as number[][];
        const input = sharedPath("fixtures", fixture, "pairs.tsv");
        const output = join(dir, "predictions.jsonl");
        const r = await runMain([
          ...["predict", "--model", sharedPath("fixtures", fixture, "model"), "--input", input],
          ...["--batch_size", "3", "--output", output],
        ], { env: offlineEnv(dir) });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, "", "nothing on stdout with --output");
        const lines = parseLines(await Deno.readTextFile(output), expected.length);
        assertLogitsClose(lines, expected, 1e-5);
        const labels = (await readMrpcTsv(input)).map((e) => e.label!);
        const { accuracy, f1 } = accuracyAndF1(lines.map((l) => l.label), labels);
        const metrics = `accuracy ${accuracy.toFixed(4)} f1 ${f1.toFixed(4)} ` +
          `(${expected.length} pairs)`;
        assert.match(r.stderr, /^Backend: /m);
        assert.ok(r.stderr.split("\n").includes(metrics), `"${metrics}" in: ${r.stderr}`);
        const names = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name);
        assert.deepEqual(names, ["predictions.jsonl"], "no temporary file is left behind");
      });
    },
  });
}

Deno.test({
  name: "predict: without --output, stdout holds only the JSON lines (default flags)",
  ignore: needsShared("fixtures/distilbert-tiny-2/expected.json", "predict: stdout"),
  async fn() {
    await withTempDir(async (dir) => {
      const fixture = sharedPath("fixtures", "distilbert-tiny-2");
      const expected = JSON.parse(await Deno.readTextFile(join(fixture, "expected.json")))
        .logits as number[][];
      const r = await runMain(
        ["predict", "--model", join(fixture, "model"), "--input", join(fixture, "pairs.tsv")],
        { env: offlineEnv(dir) },
      );
      assert.equal(r.code, 0, r.stderr);
      assertLogitsClose(parseLines(r.stdout, expected.length), expected, 1e-5);
      assert.match(r.stderr, /^accuracy \d\.\d{4} f1 \d\.\d{4} \(16 pairs\)$/m);
    });
  },
});

Deno.test("predict: an unlabelled TSV gives one line per row in order, and no metrics", async () => {
  await withTempDir(async (dir) => {
    await writeModel(dir);
    const rows = [
      "the bank said profits rose\tprofits rose",
      "shares fell\tthe company said shares fell today",
      "a new report\tthe price rose .",
      "bank\tbank",
      "the company said a new price\tshares rose today",
      "profits fell .\tthe bank report",
      "today\tthe report said the bank said the company said the price fell",
    ].map((r, i) => `${i}\t${2 * i}\t${2 * i + 1}\t${r}`);
    const input = join(dir, "test.tsv");
    await Deno.writeTextFile(input, [UNLABELLED, ...rows].join("\n") + "\n");
    const model = join(dir, "model");
    const env = offlineEnv(dir);
    const small = await runMain(
      ["predict", "--model", model, "--input", input, "--batch_size", "3", "--backend", "wasm"],
      { env },
    );
    assert.equal(small.code, 0, small.stderr);
    const lines = parseLines(small.stdout, rows.length);
    assert.equal(new Set(lines.map((l) => l.logits[0])).size, rows.length, "rows differ");
    assert.doesNotMatch(small.stderr, /accuracy/);
    assert.match(small.stderr, /^Backend: wasm /m);

    const output = join(dir, "all.jsonl");
    const whole = await runMain(
      ["predict", "--model", model, "--input", input, "--batch_size", "7", "--output", output],
      { env },
    );
    assert.equal(whole.code, 0, whole.stderr);
    assertLogitsClose(
      parseLines(await Deno.readTextFile(output), 7),
      lines.map((l) => l.logits),
      1e-5,
    );
  });
});

Deno.test("predict: bad flags and bad input are one error line, exit 2", async () => {
  await withTempDir(async (dir) => {
    await writeModel(dir);
    const model = join(dir, "model");
    const input = join(dir, "dev.tsv");
    await Deno.writeTextFile(input, `${LABELLED}\n1\t1\t2\tthe bank\tthe bank\n`);
    const env = offlineEnv(dir);
    const run = (args: string[]) => runMain(["predict", ...args], { env });

    assertUsageError(await run(["--model", model]), /^error: Missing required flag --input$/);
    assertUsageError(await run(["--input", input]), /^error: Missing required flag --model$/);
    const missing = join(dir, "nope.tsv");
    assertUsageError(
      await run(["--model", model, "--input", missing]),
      new RegExp(`^error: Cannot read "${missing}": file not found$`),
    );
    const bad = join(dir, "bad.tsv");
    await Deno.writeTextFile(bad, `${LABELLED}\n1\t1\t2\tonly four columns\n`);
    assertUsageError(await run(["--model", model, "--input", bad]), /"\S*bad\.tsv" line 2: /);
    const empty = join(dir, "empty-model");
    await Deno.mkdir(empty);
    await Deno.copyFile(join(model, "config.json"), join(empty, "config.json"));
    assertUsageError(
      await run(["--model", empty, "--input", input]),
      new RegExp(`^error: Cannot load model "${empty}": missing "model\\.safetensors"$`),
    );
    const out = join(dir, "no-such-folder", "out.jsonl");
    assertUsageError(
      await run(["--model", model, "--input", input, "--output", out]),
      /^error: Cannot write "\S*out\.jsonl": folder "\S*no-such-folder" does not exist$/,
    );
    assertUsageError(
      await run(["--model", model, "--input", input, "--batch_size", "0"]),
      /--batch_size/,
    );
  });
});
