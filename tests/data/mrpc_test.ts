import assert from "node:assert/strict";
import { join } from "node:path";
import { loadMrpcSplit } from "../../data/mod.ts";
import { startHubServer } from "../hub/_hub_server.ts";
import { mrpcParquetBytes, SAMPLE_ROWS } from "./_mrpc_fixture.ts";
import { withTempDir } from "../_helpers.ts";

const TSV = "\uFEFFQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\ta b\tc d\n";

Deno.test("mrpc: a given file is read as TSV, or as parquet by its extension", async () => {
  await withTempDir(async (dir) => {
    const hub = { endpoint: "http://127.0.0.1:9", cacheDir: join(dir, "cache"), offline: true };
    await Deno.writeTextFile(join(dir, "train.tsv"), TSV);
    assert.deepEqual(await loadMrpcSplit("train", { file: join(dir, "train.tsv"), hub }), [
      { idx: 0, sentence1: "a b", sentence2: "c d", label: 1 },
    ]);
    await Deno.writeFile(join(dir, "dev.parquet"), mrpcParquetBytes(SAMPLE_ROWS.slice(0, 2)));
    const dev = await loadMrpcSplit("validation", { file: join(dir, "dev.parquet"), hub });
    assert.deepEqual(dev.map((e) => [e.idx, e.label]), [[0, 1], [1, 0]]);
  });
});

Deno.test("mrpc: without a file the split comes from nyu-mll/glue on the Hub", async () => {
  const server = startHubServer([{
    repoType: "dataset",
    repoId: "nyu-mll/glue",
    filename: "mrpc/test-00000-of-00001.parquet",
    bytes: mrpcParquetBytes(SAMPLE_ROWS.slice(3, 4)),
  }]);
  const cacheDir = await Deno.makeTempDir();
  try {
    const hub = { endpoint: server.endpoint, cacheDir, offline: false };
    const test = await loadMrpcSplit("test", { hub });
    assert.deepEqual(test.map((e) => [e.idx, e.sentence1, e.label]), [
      [3, "The tech-heavy index fell.", undefined],
    ]);
    assert.ok(
      server.requests.some((r) =>
        r.path === "/datasets/nyu-mll/glue/resolve/main/mrpc/test-00000-of-00001.parquet"
      ),
    );
    await assert.rejects(loadMrpcSplit("train", { hub: { ...hub, offline: true } }), {
      name: "InputError",
      message: /"mrpc\/train-00000-of-00001\.parquet".*nyu-mll\/glue.*HF_HUB_OFFLINE=1/,
    });
  } finally {
    await server.close();
    await Deno.remove(cacheDir, { recursive: true });
  }
});
