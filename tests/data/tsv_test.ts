import assert from "node:assert/strict";
import { join } from "node:path";
import { InputError } from "../../core/mod.ts";
import { parseMrpcTsv, readMrpcTsv } from "../../data/mod.ts";
import { needsShared, sharedPath, withTempDir } from "../_helpers.ts";

const HEADER = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String";
const TEST_HEADER = "index\t#1 ID\t#2 ID\t#1 String\t#2 String";

function parse(text: string) {
  return parseMrpcTsv(text, { source: "x.tsv" });
}

function assertInputError(fn: () => unknown, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InputError, `expected InputError, got ${err}`);
    assert.equal(err.message, message);
    return true;
  });
}

Deno.test("tsv: BOM, CRLF, quotes and control characters are kept; trailing newline ignored", () => {
  const text = `\uFEFF${HEADER}\r\n1\t1\t2\tHe said "hi\tit's \x1e here\r\n0\t3\t4\ta\tb\r\n`;
  assert.deepEqual(parse(text), [
    { idx: 0, sentence1: 'He said "hi', sentence2: "it's \x1e here", label: 1 },
    { idx: 1, sentence1: "a", sentence2: "b", label: 0 },
  ]);
});

Deno.test("tsv: unlabelled test form takes idx from the index column and has no label", () => {
  const rows = parse(`${TEST_HEADER}\n7\t1\t2\tx\ty`);
  assert.deepEqual(rows, [{ idx: 7, sentence1: "x", sentence2: "y" }]);
  assert.ok(!("label" in rows[0]));
});

Deno.test("tsv: bad content names the file and line", () => {
  assertInputError(() => parse(""), 'Cannot read "x.tsv": the file is empty');
  assertInputError(() => parse("\uFEFF\n\n"), 'Cannot read "x.tsv": the file is empty');
  assertInputError(
    () => parse("a\tb\n"),
    'Cannot read "x.tsv" line 1: unknown header "a\\tb" (expected ' +
      '"Quality\\t#1 ID\\t#2 ID\\t#1 String\\t#2 String" or ' +
      '"index\\t#1 ID\\t#2 ID\\t#1 String\\t#2 String")',
  );
  assertInputError(() => parse(`${HEADER}\n`), 'Cannot read "x.tsv": no rows after the header');
  assertInputError(
    () => parse(`${HEADER}\n1\t1\t2\ta\tb\n1\t1\t2\ta\n`),
    'Cannot read "x.tsv" line 3: expected 5 tab-separated columns, found 4',
  );
  assertInputError(
    () => parse(`${HEADER}\n1\t1\t2\ta\tb\n\n1\t1\t2\ta\tb\n`),
    'Cannot read "x.tsv" line 3: expected 5 tab-separated columns, found 1',
  );
  assertInputError(
    () => parse(`${HEADER}\nyes\t1\t2\ta\tb`),
    'Cannot read "x.tsv" line 2: label "yes" is not an integer',
  );
  assertInputError(
    () => parse(`${HEADER}\n1.0\t1\t2\ta\tb`),
    'Cannot read "x.tsv" line 2: label "1.0" is not an integer',
  );
  assertInputError(
    () => parse(`${HEADER}\n1\t1\t2\ta\tb\n2\t1\t2\ta\tb`),
    'Cannot read "x.tsv" line 3: label "2" is not 0 or 1',
  );
  assertInputError(
    () => parse(`${TEST_HEADER}\n-1\t1\t2\ta\tb`),
    'Cannot read "x.tsv" line 2: index "-1" is not a non-negative integer',
  );
});

Deno.test("tsv: an error line quotes at most a couple of hundred characters of a huge line", () => {
  const huge = "x".repeat(10 * 1024 * 1024);
  for (const text of [`${huge}\n`, `${HEADER}\n${huge}\t1\t2\ta\tb\n`]) {
    const err = (() => {
      try {
        parse(text);
      } catch (e) {
        return e as Error;
      }
      throw new Error("no error");
    })();
    assert.ok(err.message.length < 400, `${err.message.length} characters`);
    assert.match(err.message, /…" \(10485760 characters\)/);
  }
});

Deno.test("tsv: missing file, directory and non-UTF-8 file are InputErrors", async () => {
  await withTempDir(async (dir) => {
    const missing = join(dir, "nope.tsv");
    await assert.rejects(readMrpcTsv(missing), {
      name: "InputError",
      message: `Cannot read "${missing}": file not found`,
    });
    await assert.rejects(readMrpcTsv(dir), {
      name: "InputError",
      message: `Cannot read "${dir}": it is a directory`,
    });
    const latin1 = join(dir, "latin1.tsv");
    await Deno.writeFile(latin1, new Uint8Array([...new TextEncoder().encode(HEADER), 10, 0xe9]));
    await assert.rejects(readMrpcTsv(latin1), {
      name: "InputError",
      message: `Cannot read "${latin1}": not valid UTF-8 text`,
    });
  });
});

const REAL = "data/mrpc/train.tsv";
Deno.test({
  name: "tsv: the real MRPC splits have the documented sizes and label balance",
  ignore: needsShared(REAL, "tsv: the real MRPC splits"),
  async fn() {
    const dir = sharedPath("data", "mrpc");
    const train = await readMrpcTsv(join(dir, "train.tsv"));
    const dev = await readMrpcTsv(join(dir, "dev.tsv"));
    const test = await readMrpcTsv(join(dir, "test.tsv"));
    assert.deepEqual([train.length, dev.length, test.length], [3668, 408, 1725]);
    assert.equal(train.filter((e) => e.label === 1).length, 2474);
    assert.equal(dev.filter((e) => e.label === 1).length, 279);
    assert.ok(test.every((e) => e.label === undefined));
    assert.deepEqual(test.slice(0, 2).map((e) => e.idx), [0, 1]);
    assert.equal(train[0].label, 1);
    assert.match(train[0].sentence1, /^Amrozi accused his brother, whom he called "the witness"/);
    // The control character in train line 1587 survives.
    assert.ok(train[1585].sentence1.includes("\x12"), train[1585].sentence1);
  },
});
