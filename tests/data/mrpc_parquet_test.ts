import assert from "node:assert/strict";
import { join } from "node:path";
import { InputError } from "../../core/mod.ts";
import { MRPC_HUB_FILES, readMrpcParquet } from "../../data/mod.ts";
import { mrpcParquetBytes, SAMPLE_ROWS } from "./_mrpc_fixture.ts";
import { withTempDir } from "../_helpers.ts";

async function withParquet(bytes: Uint8Array, body: (path: string) => Promise<void>) {
  await withTempDir(async (dir) => {
    const path = join(dir, "train-00000-of-00001.parquet");
    await Deno.writeFile(path, bytes);
    await body(path);
  });
}

Deno.test("readMrpcParquet reads every row, dropping the test split's -1 label", async () => {
  await withParquet(mrpcParquetBytes(SAMPLE_ROWS), async (path) => {
    const examples = await readMrpcParquet(path);
    assert.deepEqual(examples, [
      {
        idx: 0,
        sentence1: SAMPLE_ROWS[0].sentence1,
        sentence2: SAMPLE_ROWS[0].sentence2,
        label: 1,
      },
      {
        idx: 1,
        sentence1: SAMPLE_ROWS[1].sentence1,
        sentence2: SAMPLE_ROWS[1].sentence2,
        label: 0,
      },
      {
        idx: 2,
        sentence1: "Café prices rose 5 %.",
        sentence2: "Prices at the café rose — 5 %.",
        label: 1,
      },
      { idx: 3, sentence1: SAMPLE_ROWS[3].sentence1, sentence2: SAMPLE_ROWS[3].sentence2 },
      { idx: 4, sentence1: "", sentence2: SAMPLE_ROWS[4].sentence2, label: 0 },
    ]);
    assert.equal("label" in examples[3], false);
    assert.equal(typeof examples[0].label, "number");
  });
});

Deno.test("readMrpcParquet names the file and the missing column", async () => {
  await withParquet(mrpcParquetBytes(SAMPLE_ROWS, ["label"]), async (path) => {
    await assert.rejects(
      readMrpcParquet(path),
      new InputError(
        `Cannot read "${path}": missing column "label" (found "sentence1", "sentence2", "idx")`,
      ),
    );
  });
  await withParquet(mrpcParquetBytes(SAMPLE_ROWS, ["sentence2", "idx"]), async (path) => {
    await assert.rejects(
      readMrpcParquet(path),
      new InputError(
        `Cannot read "${path}": missing columns "sentence2", "idx" (found "sentence1", "label")`,
      ),
    );
  });
});

Deno.test("readMrpcParquet rejects a label outside 0, 1 and -1 naming the row", async () => {
  const rows = [SAMPLE_ROWS[0], { ...SAMPLE_ROWS[1], label: 2 as unknown as 0 }];
  await withParquet(mrpcParquetBytes(rows), async (path) => {
    await assert.rejects(
      readMrpcParquet(path),
      new InputError(`Cannot read "${path}" row 1: label 2 is not 0, 1 or -1`),
    );
  });
});

Deno.test("readMrpcParquet reports a missing file and a file that is not parquet", async () => {
  await withParquet(new TextEncoder().encode("idx\tsentence1\n"), async (path) => {
    await assert.rejects(readMrpcParquet(path), (err: unknown) => {
      assert.ok(err instanceof InputError);
      assert.match(
        err.message,
        /^Cannot read ".*train-00000-of-00001\.parquet": not a parquet file/,
      );
      return true;
    });
    const missing = `${path}.absent`;
    await assert.rejects(
      readMrpcParquet(missing),
      new InputError(`Cannot read "${missing}": no such file`),
    );
  });
});

Deno.test("MRPC_HUB_FILES names the nyu-mll/glue parquet files", () => {
  assert.deepEqual(MRPC_HUB_FILES, {
    train: "mrpc/train-00000-of-00001.parquet",
    validation: "mrpc/validation-00000-of-00001.parquet",
    test: "mrpc/test-00000-of-00001.parquet",
  });
});
