import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { assemblePair, loadTokenizer, longestFirstLengths, readMrpcTsv } from "../../data/mod.ts";
import { startHubServer } from "../hub/_hub_server.ts";
import { needsShared, sharedPath, withTempDir } from "../_helpers.ts";

const DISTIL = "data/tokenizers/distilbert-base-uncased";
const PROFITS = [101, 1996, 2194, 2056, 11372, 3123, 1012, 102, 11372, 3445, 1010, 1996, 3813];

/** Python's `truncate_sequences(..., "longest_first")`, literally, as the reference. */
function pythonLongestFirst(ids: number[], pair: number[], toRemove: number): [number[], number[]] {
  let a = ids;
  let b = pair;
  for (let i = 0; i < toRemove; i++) {
    if (a.length > b.length) a = a.slice(0, -1);
    else b = b.slice(0, -1);
  }
  return [a, b];
}

Deno.test("tokenizer: longest_first removes from the longer, from the second on ties", () => {
  assert.deepEqual(longestFirstLengths(10, 3, 7), [4, 3]); // only the longer (first) is cut
  assert.deepEqual(longestFirstLengths(3, 10, 7), [3, 4]); // only the longer (second) is cut
  assert.deepEqual(longestFirstLengths(4, 4, 7), [4, 3]); // tie: the second loses first
  assert.deepEqual(longestFirstLengths(6, 10, 7), [4, 3]); // both cut: first keeps ceil
  assert.deepEqual(longestFirstLengths(10, 6, 7), [4, 3]);
  assert.deepEqual(longestFirstLengths(5, 5, 8), [4, 4]);
  assert.deepEqual(longestFirstLengths(5, 2, 0), [0, 0]);
  assert.deepEqual(longestFirstLengths(2, 3, 9), [2, 3]); // fits: untouched
  for (let n1 = 0; n1 < 9; n1++) {
    for (let n2 = 0; n2 < 9; n2++) {
      for (let budget = 0; budget < 12; budget++) {
        const a = Array.from({ length: n1 }, (_, i) => i);
        const b = Array.from({ length: n2 }, (_, i) => 100 + i);
        const [ra, rb] = pythonLongestFirst(a, b, Math.max(0, n1 + n2 - budget));
        const got = assemblePair(a, b, { clsId: -1, sepId: -2, maxSeqLength: budget + 3 });
        assert.deepEqual(got.inputIds, [-1, ...ra, -2, ...rb, -2], `${n1} ${n2} ${budget}`);
        assert.equal(got.truncated, n1 + n2 > budget);
        assert.equal(got.fullLength, n1 + n2 + 3);
      }
    }
  }
});

Deno.test({
  name: "tokenizer: distilbert-base-uncased pair encoding and truncation",
  ignore: needsShared(DISTIL, "tokenizer: distilbert-base-uncased pair encoding"),
  async fn() {
    const dir = sharedPath(DISTIL);
    const full = await loadTokenizer(dir, { maxSeqLength: 128 });
    assert.deepEqual([full.clsId, full.sepId, full.padId, full.vocabSize], [101, 102, 0, 30522]);
    const a = "The company said profits rose.";
    const b = "Profits increased, the firm said.";
    assert.deepEqual(full.encodePair(a, b), {
      inputIds: [...PROFITS, 2056, 1012, 102],
      truncated: false,
      fullLength: 16,
    });
    // a = 6 tokens, b = 7 tokens. Budget 9 (max 12): cut b to 6, then tie -> b to 5, a to 5, b to 4.
    const at12 = await loadTokenizer(dir, { maxSeqLength: 12 });
    assert.deepEqual(at12.encodePair(a, b), {
      inputIds: [101, 1996, 2194, 2056, 11372, 3123, 102, 11372, 3445, 1010, 1996, 102],
      truncated: true,
      fullLength: 16,
    });
    // Longer first (8 vs 2 tokens, budget 7): only the first is cut, to 5.
    const at10 = await loadTokenizer(dir, { maxSeqLength: 10 });
    const letters = "a b c d e f g h"; // 1037 ... 1044
    assert.deepEqual(at10.encodePair(letters, "x y"), {
      inputIds: [101, 1037, 1038, 1039, 1040, 1041, 102, 1060, 1061, 102],
      truncated: true,
      fullLength: 13,
    });
    // Longer second: only the second is cut.
    assert.deepEqual(at10.encodePair("x y", letters).inputIds, [
      ...[101, 1060, 1061, 102],
      ...[1037, 1038, 1039, 1040, 1041, 102],
    ]);
    // Very short max: only the special tokens survive.
    const at3 = await loadTokenizer(dir, { maxSeqLength: 3 });
    assert.deepEqual(at3.encodePair(a, b), {
      inputIds: [101, 102, 102],
      truncated: true,
      fullLength: 16,
    });
    assert.deepEqual(at3.encodePair("", ""), {
      inputIds: [101, 102, 102],
      truncated: false,
      fullLength: 3,
    });
  },
});

const FIXTURES = "fixtures";
Deno.test({
  name: "tokenizer: fixtures' input_ids from their pairs.tsv and model tokenizer",
  ignore: needsShared(FIXTURES, "tokenizer: fixtures' input_ids"),
  async fn() {
    const names = readdirSync(sharedPath(FIXTURES), { withFileTypes: true })
      .filter((d) => d.isDirectory()).map((d) => d.name);
    assert.ok(names.length >= 2, `fixtures: ${names}`);
    for (const name of names) {
      const dir = sharedPath(FIXTURES, name);
      const expected = JSON.parse(await Deno.readTextFile(join(dir, "expected.json")));
      const pairs = await readMrpcTsv(join(dir, "pairs.tsv"));
      const tok = await loadTokenizer(join(dir, "model"), { maxSeqLength: 512 });
      assert.equal(tok.maxSeqLength, 64, "capped by model_max_length");
      const ids = pairs.map((p) => tok.encodePair(p.sentence1, p.sentence2).inputIds);
      assert.deepEqual(ids, expected.input_ids, name);
    }
  },
});

Deno.test({
  name: "tokenizer: a vocab.txt-only folder encodes like tokenizer.json",
  ignore: needsShared(DISTIL, "tokenizer: vocab.txt-only folder"),
  async fn() {
    await withTempDir(async (tmp) => {
      await Deno.copyFile(sharedPath(DISTIL, "vocab.txt"), join(tmp, "vocab.txt"));
      const fromVocab = await loadTokenizer(tmp, { maxSeqLength: 128 });
      const fromJson = await loadTokenizer(sharedPath(DISTIL), { maxSeqLength: 128 });
      assert.deepEqual(
        [fromVocab.clsId, fromVocab.sepId, fromVocab.padId, fromVocab.vocabSize],
        [101, 102, 0, 30522],
      );
      const texts = [
        ["The company said profits rose.", "Profits increased, the firm said."],
        ["Ångström's café — naïve 中文 [SEP] x", 'Treasury\x12s "quoted U.S. $2.5 billion'],
      ];
      for (const [a, b] of texts) {
        assert.deepEqual(fromVocab.encodePair(a, b), fromJson.encodePair(a, b));
      }
    });
  },
});

Deno.test("tokenizer: a folder with neither tokenizer.json nor vocab.txt is an InputError", async () => {
  await withTempDir(async (tmp) => {
    await assert.rejects(loadTokenizer(tmp), {
      name: "InputError",
      message: `Cannot load tokenizer "${tmp}": no tokenizer.json or vocab.txt in it`,
    });
    await Deno.writeTextFile(join(tmp, "tokenizer.json"), "{not json");
    await assert.rejects(loadTokenizer(tmp), {
      name: "InputError",
      message: new RegExp(`^Cannot load tokenizer "${tmp}/tokenizer.json": invalid JSON`),
    });
    await assert.rejects(loadTokenizer(join(tmp, "missing", "dir")), {
      name: "InputError",
      message: `Cannot load tokenizer "${join(tmp, "missing", "dir")}": directory not found`,
    });
  });
});

Deno.test({
  name: "tokenizer: all of MRPC train+dev, lengths as documented",
  ignore: needsShared("data/mrpc/token_lengths.json", "tokenizer: all of MRPC"),
  async fn() {
    const tok = await loadTokenizer(sharedPath(DISTIL), { maxSeqLength: 512 });
    const ref = JSON.parse(await Deno.readTextFile(sharedPath("data/mrpc/token_lengths.json")));
    for (const [split, file] of [["train", "train"], ["validation", "dev"]]) {
      const rows = await readMrpcTsv(sharedPath("data", "mrpc", `${file}.tsv`));
      const lengths = rows.map((r) => tok.encodePair(r.sentence1, r.sentence2).inputIds.length);
      assert.deepEqual(lengths, ref[split], split);
    }
  },
});

Deno.test({
  name: "tokenizer: a hub id downloads tokenizer files through the hub cache",
  ignore: needsShared(DISTIL, "tokenizer: a hub id"),
  async fn() {
    const read = (name: string) => Deno.readFileSync(sharedPath(DISTIL, name));
    const server = startHubServer(
      ["tokenizer.json", "tokenizer_config.json"].map((filename) => ({
        repoType: "model" as const,
        repoId: "distilbert-base-uncased",
        filename,
        bytes: read(filename),
        lfs: false,
      })),
    );
    const cacheDir = await Deno.makeTempDir();
    try {
      const hub = { endpoint: server.endpoint, cacheDir, offline: false };
      const online = await loadTokenizer("distilbert-base-uncased", { hub });
      const pair = online.encodePair("The company said profits rose.", "Profits increased.");
      assert.deepEqual(pair.inputIds.slice(0, 10), PROFITS.slice(0, 10));
      assert.ok(server.requests.some((r) => r.path.endsWith("/resolve/main/tokenizer.json")));
      // Now cached: offline works and makes no request.
      const before = server.requests.length;
      const offline = await loadTokenizer("distilbert-base-uncased", {
        hub: { ...hub, offline: true },
      });
      assert.equal(offline.vocabSize, 30522);
      assert.equal(server.requests.length, before);
      // Offline with an empty cache: the hub's clear error.
      const empty = await Deno.makeTempDir();
      await assert.rejects(
        loadTokenizer("distilbert-base-uncased", {
          hub: { endpoint: server.endpoint, cacheDir: empty, offline: true },
        }),
        { name: "InputError", message: /HF_HUB_OFFLINE=1/ },
      );
      await Deno.remove(empty, { recursive: true });
    } finally {
      await server.close();
      await Deno.remove(cacheDir, { recursive: true });
    }
  },
});
