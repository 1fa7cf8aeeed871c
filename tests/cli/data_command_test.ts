import assert from "node:assert/strict";
import { join } from "node:path";
import {
  assertUsageError,
  needsShared,
  runMain,
  SHARED_DIR,
  sharedPath,
  withTempDir,
} from "../_helpers.ts";
import { startHubServer } from "../hub/_hub_server.ts";
import { mrpcParquetBytes, SAMPLE_ROWS } from "../data/_mrpc_fixture.ts";

const HEADER = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String";
const MRPC = "data/mrpc/train.tsv";
const DISTIL = "data/tokenizers/distilbert-base-uncased";
const TINY = "fixtures/distilbert-tiny-1/model";

/** An environment where the Hub is unreachable and the cache is empty. */
function offlineEnv(cacheDir: string): Record<string, string> {
  return { HF_HUB_OFFLINE: "1", HF_HUB_CACHE: cacheDir, HF_ENDPOINT: "http://127.0.0.1:9" };
}

Deno.test({
  name: "data: real MRPC files give the documented counts, balance and token lengths (--json)",
  ignore: needsShared(MRPC, "data: real MRPC files --json") ||
    needsShared(DISTIL, "data: real MRPC files --json"),
  async fn() {
    const mrpc = (name: string) => sharedPath("data", "mrpc", name);
    const r = await runMain([
      ...["data", "--train_file", mrpc("train.tsv"), "--validation_file", mrpc("dev.tsv")],
      ...["--test_file", mrpc("test.tsv"), "--model", sharedPath(DISTIL), "--json"],
    ]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines.length, 1, `exactly one JSON object on stdout: ${r.stdout}`);
    // Over all three splits. Counts and balance are ../shared/data/README.md's. No reference
    // gives the test split's lengths: its longest pair (104 tokens, one more than train+dev's
    // 103) is what this tokenizer measures, and the tokenizer reproduces the reference lengths of
    // all 4,076 train+dev pairs exactly (tests/data/tokenizer_test.ts). The next test derives
    // the statistics from those reference lengths alone.
    assert.deepEqual(JSON.parse(lines[0]), {
      splits: {
        train: { count: 3668, positive: 2474 },
        validation: { count: 408, positive: 279 },
        test: { count: 1725 },
      },
      tokens: { p50: 53, p90: 70, max: 104, truncated: 0 },
    });
  },
});

const DERIVED = "data: token statistics equal numpy-style percentiles of the reference lengths";
Deno.test({
  name: DERIVED,
  ignore: needsShared(MRPC, DERIVED) || needsShared(DISTIL, DERIVED) ||
    needsShared("data/mrpc/token_lengths.json", DERIVED),
  async fn() {
    // dev.tsv given as the test split too: every length then has a reference.
    const mrpc = (name: string) => sharedPath("data", "mrpc", name);
    const r = await runMain([
      ...["data", "--train_file", mrpc("train.tsv"), "--validation_file", mrpc("dev.tsv")],
      ...["--test_file", mrpc("dev.tsv"), "--model", sharedPath(DISTIL), "--json"],
      ...["--max_seq_length", "64"],
    ]);
    assert.equal(r.code, 0, r.stderr);
    const ref = JSON.parse(await Deno.readTextFile(mrpc("token_lengths.json")));
    const lengths: number[] = [...ref.train, ...ref.validation, ...ref.validation];
    const sorted = [...lengths].sort((a, b) => a - b);
    const numpyPercentile = (q: number) => {
      const pos = (sorted.length - 1) * q, lo = Math.floor(pos);
      return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (pos - lo);
    };
    assert.deepEqual(JSON.parse(r.stdout).tokens, {
      p50: numpyPercentile(0.5),
      p90: numpyPercentile(0.9),
      max: sorted.at(-1),
      truncated: lengths.filter((n) => n > 64).length,
    });
  },
});

Deno.test({
  name: "data: the table shows each split, its balance and truncation at --max_seq_length",
  ignore: needsShared(TINY, "data: the table"),
  async fn() {
    await withTempDir(async (dir) => {
      const rows = [
        "1\t1\t2\tthe bank said\tthe bank reported growth",
        "0\t3\t4\tprices jumped sharply today in the city\tshares fell",
        "1\t5\t6\ta b c\td e",
      ];
      await Deno.writeTextFile(join(dir, "t.tsv"), [HEADER, ...rows].join("\n") + "\n");
      const test = "index\t#1 ID\t#2 ID\t#1 String\t#2 String\n0\t1\t2\tbank\tbank\n";
      await Deno.writeTextFile(join(dir, "test.tsv"), test);
      const f = join(dir, "t.tsv");
      const r = await runMain([
        ...[
          "data",
          "--train_file",
          f,
          "--validation_file",
          f,
          "--test_file",
          join(dir, "test.tsv"),
        ],
        ...["--model", sharedPath(TINY), "--max_seq_length", "10"],
      ], { env: offlineEnv(join(dir, "cache")) });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^train +3 +2 \(66\.7%\) .* 1 +\S*t\.tsv$/m);
      assert.match(r.stdout, /^test +1 +- .* 0 +\S*test\.tsv$/m);
      assert.match(r.stdout, /^all +7 +- /m);
      assert.match(r.stdout, /truncated = longer than 10/);
    });
  },
});

Deno.test("data: bad input is one error line naming the file and line, exit 2", async () => {
  await withTempDir(async (dir) => {
    const env = offlineEnv(join(dir, "cache"));
    const bad = join(dir, "bad.tsv");
    await Deno.writeTextFile(bad, `\uFEFF${HEADER}\n1\t1\t2\ta\tb\n1\t1\t2\ta\n`);
    assertUsageError(
      await runMain(["data", "--train_file", bad], { env }),
      new RegExp(`Cannot read "${bad}" line 3: expected 5 tab-separated columns, found 4$`),
    );
    await Deno.writeTextFile(bad, `${HEADER}\n7\t1\t2\ta\tb\n`);
    assertUsageError(
      await runMain(["data", "--train_file", bad], { env }),
      new RegExp(`Cannot read "${bad}" line 2: label "7" is not 0 or 1$`),
    );
    const missing = join(dir, "missing.tsv");
    assertUsageError(
      await runMain(["data", "--train_file", missing], { env }),
      new RegExp(`Cannot read "${missing}": file not found$`),
    );
    assertUsageError(
      await runMain(["data", "--max_seq_length", "4"], { env }),
      /Invalid value for --max_seq_length: "4" must be >= 8/,
    );
  });
});

Deno.test("data: offline with an empty hub cache says which file is missing", async () => {
  await withTempDir(async (dir) => {
    const r = await runMain(["data", "--json"], { env: offlineEnv(join(dir, "cache")) });
    assertUsageError(
      r,
      /Cannot find "mrpc\/train-00000-of-00001\.parquet" of dataset "?nyu-mll\/glue"? .*HF_HUB_OFFLINE=1/,
    );
    assert.equal(r.stdout, "");
  });
});

Deno.test({
  name: "data: without file flags the splits and the tokenizer come from the Hub",
  ignore: needsShared(TINY, "data: from the Hub"),
  async fn() {
    const parquet = (rows: typeof SAMPLE_ROWS) => mrpcParquetBytes(rows);
    const split = (name: string, rows: typeof SAMPLE_ROWS) => ({
      repoType: "dataset" as const,
      repoId: "nyu-mll/glue",
      filename: `mrpc/${name}-00000-of-00001.parquet`,
      bytes: parquet(rows),
    });
    const tokenizerFile = (filename: string) => ({
      repoType: "model" as const,
      repoId: "org/tiny",
      filename,
      bytes: Deno.readFileSync(join(SHARED_DIR!, TINY, filename)),
      lfs: false,
    });
    const labelled = SAMPLE_ROWS.filter((r) => r.label !== -1);
    const server = startHubServer([
      split("train", labelled),
      split("validation", labelled.slice(0, 2)),
      split("test", SAMPLE_ROWS.filter((r) => r.label === -1)),
      tokenizerFile("tokenizer.json"),
      tokenizerFile("tokenizer_config.json"),
    ]);
    const cache = await Deno.makeTempDir();
    try {
      const r = await runMain(["data", "--model", "org/tiny", "--json"], {
        env: { HF_ENDPOINT: server.endpoint, HF_HUB_CACHE: cache, HF_HUB_OFFLINE: "0" },
      });
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.deepEqual(out.splits, {
        train: { count: 4, positive: 2 },
        validation: { count: 2, positive: 1 },
        test: { count: 1 },
      });
      assert.equal(out.tokens.truncated, 0);
      assert.ok(out.tokens.max > out.tokens.p50 && out.tokens.p50 > 3, JSON.stringify(out));
    } finally {
      await server.close();
      await Deno.remove(cache, { recursive: true });
    }
  },
});
