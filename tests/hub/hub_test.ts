import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { downloadFile, type HubOptions } from "../../hub/mod.ts";
import { InputError } from "../../core/mod.ts";
import { MRPC_HUB_FILES, MRPC_HUB_REPO, readMrpcParquet } from "../../data/mod.ts";
import { type HubFile, type HubServer, startHubServer } from "./_hub_server.ts";
import { mrpcParquetBytes, SAMPLE_ROWS } from "../data/_mrpc_fixture.ts";

const TRAIN = MRPC_HUB_FILES.train;
const TRAIN_BYTES = mrpcParquetBytes(SAMPLE_ROWS);
const BIG = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7919) % 251);
const FILES: HubFile[] = [
  { repoType: "dataset", repoId: MRPC_HUB_REPO, filename: TRAIN, bytes: TRAIN_BYTES },
  { repoType: "model", repoId: "acme/big", filename: "model.safetensors", bytes: BIG },
  {
    repoType: "model",
    repoId: "distilbert-base-uncased",
    filename: "config.json",
    bytes: new TextEncoder().encode('{"dim": 768}\n'),
    lfs: false,
  },
];

/** Runs `body` against a fresh fake Hub and an empty cache, removing both afterwards. */
async function withHub(body: (server: HubServer, hub: HubOptions) => Promise<void>) {
  const server = startHubServer(FILES);
  const cacheDir = await Deno.makeTempDir({ prefix: "mrpc-hub-cache-" });
  try {
    await body(server, {
      endpoint: server.endpoint,
      cacheDir,
      offline: false,
      timeoutMs: 5000,
      retry: { maxAttempts: 4, backoffBaseMs: 1 },
    });
  } finally {
    await server.close();
    await Deno.remove(cacheDir, { recursive: true });
  }
}

/** Every file and symlink under `dir`, relative and sorted. */
async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(path: string) {
    for await (const entry of Deno.readDir(path)) {
      const child = join(path, entry.name);
      if (entry.isDirectory) await walk(child);
      else out.push(relative(dir, child));
    }
  }
  await walk(dir);
  return out.sort();
}

function gets(server: HubServer, host: "hub" | "files") {
  return server.requests.filter((r) => r.host === host && r.method === "GET");
}

Deno.test("downloadFile stores a dataset file in Python huggingface_hub's cache layout", async () => {
  await withHub(async (server, hub) => {
    const path = await downloadFile(MRPC_HUB_REPO, TRAIN, { hub, repoType: "dataset" });
    const repo = join(hub.cacheDir, "datasets--nyu-mll--glue");
    const sha = server.sha256(TRAIN_BYTES);
    assert.equal(path, join(repo, "snapshots", server.commit, "mrpc", TRAIN.split("/")[1]));
    assert.equal((await Deno.lstat(path)).isSymlink, true);
    assert.equal(await Deno.readLink(path), `../../../blobs/${sha}`);
    assert.deepEqual(await Deno.readFile(join(repo, "blobs", sha)), TRAIN_BYTES);
    assert.equal(await Deno.readTextFile(join(repo, "refs", "main")), server.commit);
    assert.deepEqual(await listTree(repo), [
      `blobs/${sha}`,
      "refs/main",
      `snapshots/${server.commit}/${TRAIN}`,
    ]);
    assert.deepEqual(
      server.requests.map((r) => `${r.host} ${r.method} ${r.path}`),
      [
        `hub HEAD /datasets/nyu-mll/glue/resolve/main/${TRAIN}`,
        `files GET /lfs/${sha}`,
      ],
    );
    const examples = await readMrpcParquet(path);
    assert.deepEqual(examples.map((e) => e.label), [1, 0, 1, undefined, 0]);
  });
});

Deno.test("downloadFile serves a second call from the cache without any request", async () => {
  await withHub(async (server, hub) => {
    const first = await downloadFile(MRPC_HUB_REPO, TRAIN, { hub, repoType: "dataset" });
    const seen = server.requests.length;
    assert.equal(await downloadFile(MRPC_HUB_REPO, TRAIN, { hub, repoType: "dataset" }), first);
    const pinned = { hub, repoType: "dataset" as const, revision: server.commit };
    assert.equal(await downloadFile(MRPC_HUB_REPO, TRAIN, pinned), first);
    assert.equal(server.requests.length, seen);
  });
});

Deno.test("downloadFile stores a small non-LFS file under its git ETag", async () => {
  await withHub(async (server, hub) => {
    const path = await downloadFile("distilbert-base-uncased", "config.json", { hub });
    assert.equal(await Deno.readTextFile(path), '{"dim": 768}\n');
    const repo = join(hub.cacheDir, "models--distilbert-base-uncased");
    const tree = await listTree(repo);
    assert.equal(tree.length, 3);
    assert.match(tree[0], /^blobs\/[0-9a-f]{40}$/);
    assert.equal(gets(server, "files").length, 0);
  });
});

Deno.test("offline mode reuses a cache laid out by Python and names a missing file", async () => {
  await withHub(async (server, hub) => {
    const repo = join(hub.cacheDir, "datasets--nyu-mll--glue");
    const commit = "0123456789abcdef0123456789abcdef01234567";
    await Deno.mkdir(join(repo, "blobs"), { recursive: true });
    await Deno.mkdir(join(repo, "refs"));
    await Deno.mkdir(join(repo, "snapshots", commit, "mrpc"), { recursive: true });
    await Deno.writeFile(join(repo, "blobs", "abc123"), TRAIN_BYTES);
    await Deno.writeTextFile(join(repo, "refs", "main"), commit);
    const pointer = join(repo, "snapshots", commit, TRAIN);
    await Deno.symlink("../../../blobs/abc123", pointer);

    const offline = { ...hub, offline: true };
    assert.equal(
      await downloadFile(MRPC_HUB_REPO, TRAIN, { hub: offline, repoType: "dataset" }),
      pointer,
    );
    const missing = MRPC_HUB_FILES.validation;
    await assert.rejects(
      downloadFile(MRPC_HUB_REPO, missing, { hub: offline, repoType: "dataset" }),
      new InputError(
        `Cannot find "${missing}" of dataset "nyu-mll/glue" in the cache "${hub.cacheDir}" ` +
          "(HF_HUB_OFFLINE=1)",
      ),
    );
    assert.equal(server.requests.length, 0);
  });
});

Deno.test("downloadFile retries 503 and 429 replies", async () => {
  await withHub(async (server, hub) => {
    server.faults.resolveErrors = { status: 503, times: 1 };
    server.faults.fileErrors = { status: 429, times: 2 };
    const path = await downloadFile("acme/big", "model.safetensors", { hub });
    assert.deepEqual(await Deno.readFile(path), BIG);
    assert.equal(server.requests.filter((r) => r.host === "hub").length, 2);
    assert.equal(gets(server, "files").length, 3);
  });
});

Deno.test("downloadFile waits as long as Retry-After says", async () => {
  await withHub(async (server, hub) => {
    server.faults.resolveErrors = { status: 429, times: 1, retryAfter: "1" };
    const start = performance.now();
    await downloadFile("distilbert-base-uncased", "config.json", { hub });
    assert.ok(performance.now() - start >= 900, "the 1 s Retry-After was not honoured");
  });
});

Deno.test("downloadFile gives up after maxAttempts and leaves no partial file", async () => {
  await withHub(async (server, hub) => {
    server.faults.fileErrors = { status: 503, times: 100 };
    await assert.rejects(
      downloadFile("acme/big", "model.safetensors", {
        hub: { ...hub, retry: { maxAttempts: 3, backoffBaseMs: 1 } },
      }),
      new RegExp(
        '^HubDownloadFailed: Cannot download "model.safetensors" of model "acme/big" from ' +
          '"http://127\\.0\\.0\\.1:\\d+": HTTP 503 from ".*" \\(gave up after 3 tries in ' +
          "\\d+\\.\\d s\\); check the network and HF_ENDPOINT, pass a local --model folder, or " +
          "set HF_HUB_OFFLINE=1 to use the cache$",
      ),
    );
    assert.equal(gets(server, "files").length, 3);
    const tree = await listTree(join(hub.cacheDir, "models--acme--big"));
    assert.deepEqual(tree, ["refs/main"]);
  });
});

Deno.test("downloadFile resumes a dropped download with a Range request", async () => {
  await withHub(async (server, hub) => {
    server.faults.dropAfterBytes = 30_000;
    server.faults.dropTimes = 1;
    const path = await downloadFile("acme/big", "model.safetensors", { hub });
    assert.deepEqual(await Deno.readFile(path), BIG);
    const ranges = gets(server, "files").map((r) => r.range);
    assert.equal(ranges.length, 2);
    assert.equal(ranges[0], null);
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(ranges[1] ?? "")?.[1]);
    assert.ok(resumedAt > 0 && resumedAt <= 30_000, `resumed at ${ranges[1]}`);
  });
});

Deno.test("downloadFile abandons a stalled transfer after timeoutMs and resumes", async () => {
  await withHub(async (server, hub) => {
    server.faults.dropAfterBytes = 20_000;
    server.faults.stallTimes = 1;
    const path = await downloadFile("acme/big", "model.safetensors", {
      hub: { ...hub, timeoutMs: 200 },
    });
    assert.deepEqual(await Deno.readFile(path), BIG);
    assert.deepEqual(gets(server, "files").map((r) => r.range), [null, "bytes=20000-"]);
  });
});

Deno.test("concurrent downloads of one file fetch its bytes once", async () => {
  await withHub(async (server, hub) => {
    const paths = await Promise.all(
      [1, 2, 3].map(() => downloadFile("acme/big", "model.safetensors", { hub })),
    );
    assert.equal(new Set(paths).size, 1);
    assert.deepEqual(await Deno.readFile(paths[0]), BIG);
    assert.equal(gets(server, "files").length, 1);
  });
});

Deno.test("downloadFile restarts when the server answers a Range request with 200", async () => {
  await withHub(async (server, hub) => {
    server.faults.dropAfterBytes = 30_000;
    server.faults.dropTimes = 1;
    server.faults.ignoreRangeTimes = 1;
    const path = await downloadFile("acme/big", "model.safetensors", { hub });
    assert.deepEqual(await Deno.readFile(path), BIG);
    assert.match(gets(server, "files")[1].range ?? "", /^bytes=\d+-$/);
  });
});

Deno.test("downloadFile rejects a sha256 mismatch and leaves nothing in blobs", async () => {
  await withHub(async (server, hub) => {
    server.faults.corrupt = true;
    await assert.rejects(
      downloadFile(MRPC_HUB_REPO, TRAIN, { hub, repoType: "dataset" }),
      new RegExp(
        `^HubDownloadFailed: Cannot download "${TRAIN}" of dataset "nyu-mll/glue" from ` +
          `"${server.endpoint}": the download is corrupt: its sha256 is [0-9a-f]{64}, the Hub ` +
          `said ${server.sha256(TRAIN_BYTES)}; check the network and HF_ENDPOINT, pass local ` +
          `--train_file/--validation_file, or set HF_HUB_OFFLINE=1 to use the cache$`,
      ),
    );
    assert.deepEqual(await listTree(join(hub.cacheDir, "datasets--nyu-mll--glue")), ["refs/main"]);
  });
});

Deno.test("downloadFile rejects names that would escape the cache before any I/O", async () => {
  await withHub(async (server, hub) => {
    const cases: [string, string, string][] = [
      ["acme/big", "../../etc/passwd", "main"],
      ["acme/big", "/etc/passwd", "main"],
      ["acme/big", "mrpc/../../x", "main"],
      ["acme/big", "mrpc\\..\\x", "main"],
      ["acme/big", "a\0b", "main"],
      ["acme/big", "C:/x", "main"],
      ["acme/big", "model.safetensors", "../main"],
      ["acme/big", "model.safetensors", "refs//main"],
      ["../acme", "model.safetensors", "main"],
      ["acme/big/extra", "model.safetensors", "main"],
      ["acme--x/big", "model.safetensors", "main"],
    ];
    for (const [repoId, filename, revision] of cases) {
      await assert.rejects(
        downloadFile(repoId, filename, { hub, revision }),
        InputError,
        `${repoId} ${JSON.stringify(filename)} @ ${revision} was accepted`,
      );
    }
    assert.equal(server.requests.length, 0);
    assert.deepEqual(await listTree(hub.cacheDir), []);
  });
});

Deno.test("the token goes to the Hub as Bearer but not to the file host", async () => {
  await withHub(async (server, hub) => {
    const withToken = { ...hub, token: "hf_test_secret" };
    await downloadFile("acme/big", "model.safetensors", { hub: withToken });
    assert.deepEqual(
      server.requests.map((r) => [r.host, r.authorization]),
      [["hub", "Bearer hf_test_secret"], ["files", null]],
    );
    await assert.rejects(
      downloadFile("acme/big", "nope.bin", { hub: withToken }),
      (err: unknown) => {
        assert.ok(err instanceof InputError);
        assert.equal(
          err.message,
          `Cannot find "nope.bin" of model "acme/big" at revision "main" on "${server.endpoint}" ` +
            "(HTTP 404 EntryNotFound)",
        );
        return true;
      },
    );
  });
});
