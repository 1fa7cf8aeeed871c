/**
 * What `train` says when the Hub cannot give it a file: one line naming the file, the endpoint,
 * why, and what to do, exit 1, within a bounded time (3 × HF_HUB_ETAG_TIMEOUT) — for a closed
 * port, no DNS, HTTP 500, a reply that is not HTTP, a silent server, a server that is not a Hub,
 * and a corrupt download. A model the Hub does not know, and a path that is no folder, are input
 * errors (exit 2); the cheap local inputs fail before any request.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { assertUsageError, runMain, withTempDir, writeTinyModel } from "../_helpers.ts";
import { type HubFile, type HubServer, startHubServer } from "../hub/_hub_server.ts";
import { tinyPairs, writeMrpcTsv } from "./_train_helpers.ts";

const REPO = "acme/tiny";
/** Seconds a metadata request waits; giving up takes at most three times this. */
const ETAG_TIMEOUT = 1;

async function tinyHubFiles(dir: string): Promise<HubFile[]> {
  const model = join(dir, "tiny-model");
  await writeTinyModel(model);
  const files: HubFile[] = [];
  for (const name of ["config.json", "model.safetensors", "vocab.txt"]) {
    files.push({
      repoType: "model",
      repoId: REPO,
      filename: name,
      bytes: await Deno.readFile(join(model, name)),
      lfs: name.endsWith(".safetensors"),
    });
  }
  return files;
}

/** Runs `train --model acme/tiny` with local data against `endpoint`; times it. */
async function trainFrom(dir: string, endpoint: string, extra: string[] = []) {
  const train = join(dir, "train.tsv");
  await writeMrpcTsv(train, tinyPairs(8, 1));
  const t0 = performance.now();
  const r = await runMain([
    ...["train", "--model", REPO, "--train_file", train, "--validation_file", train],
    ...["--max_steps", "1", "--batch_size", "4", "--backend", "wasm"],
    ...["--checkpoint_dir", join(dir, `ck-${crypto.randomUUID()}`), ...extra],
  ], {
    env: {
      HF_ENDPOINT: endpoint,
      HF_HUB_CACHE: join(dir, "cache"),
      HF_HUB_ETAG_TIMEOUT: String(ETAG_TIMEOUT),
      HF_HUB_DOWNLOAD_TIMEOUT: String(ETAG_TIMEOUT),
    },
  });
  return { ...r, seconds: (performance.now() - t0) / 1000 };
}

/**
 * One error line, exit 1, in bounded time (the bound is generous: it catches a hang, not a slow
 * machine). A Hub that cannot be reached: the line names the endpoint, the reason, what could
 * not be fetched (only the model: the data are local files), the local-files command and the
 * demo. A Hub that answered with something unusable: the line names the file and the reason.
 */
function assertNetworkError(
  r: { code: number; stderr: string; seconds: number },
  endpoint: string,
  reason: RegExp,
  kind: "unreachable" | "bad reply" = "unreachable",
): void {
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line: ${r.stderr}`);
  const origin = new URL(endpoint).origin;
  assert.match(lines[0], reason);
  if (kind === "unreachable") {
    assert.ok(
      lines[0].startsWith(`error: Cannot reach the Hugging Face Hub at "${origin}" (`),
      lines[0],
    );
    assert.ok(
      lines[0].endsWith(
        `), so the model "${REPO}" could not be fetched: run from local files with ` +
          "`deno task train --model DIR`, set HF_HUB_OFFLINE=1 to use the cache, or try it " +
          "offline with `deno task demo`",
      ),
      lines[0],
    );
  } else {
    assert.ok(
      lines[0].startsWith(
        `error: Cannot download "config.json" of model "${REPO}" from "${origin}": `,
      ),
      lines[0],
    );
    assert.match(
      lines[0],
      /; check the network and HF_ENDPOINT, pass a local --model folder, or set HF_HUB_OFFLINE=1 to use the cache$/,
    );
  }
  assert.ok(r.seconds < 3 * ETAG_TIMEOUT + 60, `gave up after ${r.seconds.toFixed(1)} s`);
}

/** A TCP server on 127.0.0.1 that answers every connection with `reply` (or never, if null). */
function rawServer(reply: string | null): { endpoint: string; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      if (reply !== null) {
        conn.write(new TextEncoder().encode(reply)).then(() => conn.close()).catch(() => {});
      }
    }
  })().catch(() => {});
  return {
    endpoint: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    close() {
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      listener.close();
    },
  };
}

async function withHub(dir: string, body: (server: HubServer) => Promise<void>): Promise<void> {
  const server = startHubServer(await tinyHubFiles(dir));
  try {
    await body(server);
  } finally {
    await server.close();
  }
}

Deno.test("network: each Hub failure is one line, exit 1, in bounded time", async (t) => {
  await withTempDir(async (dir) => {
    await t.step("a closed port", async () => {
      const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const endpoint = `http://127.0.0.1:${(probe.addr as Deno.NetAddr).port}`;
      probe.close();
      assertNetworkError(
        await trainFrom(dir, endpoint),
        endpoint,
        /\(connection refused \(gave up after \d+ tries in [\d.]+ s\)\)/,
      );
    });

    await t.step("a host name that does not resolve", async () => {
      const endpoint = "http://no-such-host.invalid";
      assertNetworkError(
        await trainFrom(dir, endpoint),
        endpoint,
        /\(host not found \(DNS\) \(gave up/,
      );
    });

    await t.step("HTTP 500 on every request", async () => {
      await withHub(dir, async (server) => {
        server.faults.resolveErrors = { status: 500, times: 1000 };
        assertNetworkError(
          await trainFrom(dir, server.endpoint),
          server.endpoint,
          /\(HTTP 500 from ".*" \(gave up after \d+ tries/,
        );
      });
    });

    await t.step("a reply that is not HTTP", async () => {
      const garbage = rawServer("\x00\x01garbage, not HTTP\r\n\r\n");
      try {
        assertNetworkError(
          await trainFrom(dir, garbage.endpoint),
          garbage.endpoint,
          /\((the reply was not valid HTTP|the connection was closed) \(gave up/,
        );
      } finally {
        garbage.close();
      }
    });

    await t.step("a server that accepts and never answers", async () => {
      const silent = rawServer(null);
      try {
        const r = await trainFrom(dir, silent.endpoint);
        assertNetworkError(r, silent.endpoint, /\(no reply within 1 s \(gave up after \d+ tries/);
        assert.ok(r.seconds >= ETAG_TIMEOUT, "it did wait for the reply");
      } finally {
        silent.close();
      }
    });

    await t.step("a server that is not a Hub (no X-Repo-Commit)", async () => {
      await withHub(dir, async (server) => {
        server.faults.noCommit = true;
        assertNetworkError(
          await trainFrom(dir, server.endpoint),
          server.endpoint,
          /: the reply from ".*" lacks X-Repo-Commit \(is HF_ENDPOINT a Hugging Face Hub\?\);/,
          "bad reply",
        );
      });
    });

    await t.step("a corrupt download (checksum mismatch)", async () => {
      await withHub(dir, async (server) => {
        server.faults.corrupt = true;
        assertNetworkError(
          await trainFrom(dir, server.endpoint),
          server.endpoint,
          /: the download is corrupt: its git blob sha1 is [0-9a-f]{40}, the Hub said [0-9a-f]{40};/,
          "bad reply",
        );
      });
    });
  });
});

Deno.test("network: an unknown model id and a path that is no folder say both", async () => {
  await withTempDir(async (dir) => {
    await withHub(dir, async (server) => {
      const train = join(dir, "t.tsv");
      await writeMrpcTsv(train, tinyPairs(4, 1));
      const run = (model: string) =>
        runMain([
          ...["train", "--model", model, "--train_file", train, "--validation_file", train],
          ...["--checkpoint_dir", join(dir, "ck"), "--backend", "wasm"],
        ], { env: { HF_ENDPOINT: server.endpoint, HF_HUB_CACHE: join(dir, "cache") } });
      assertUsageError(
        await run("acme/no-such-model"),
        new RegExp(
          `^error: Cannot find model "acme/no-such-model": no such local folder, and the Hub ` +
            `"${server.endpoint}" has no model "acme/no-such-model" \\(HTTP 404`,
        ),
      );
      assertUsageError(
        await run("./my-modle"),
        /^error: Cannot find model "\.\/my-modle": no such folder, and it is not a Hub model id$/,
      );
    });
  });
});

Deno.test("network: bad local inputs fail before any request", async () => {
  await withTempDir(async (dir) => {
    await withHub(dir, async (server) => {
      const bad = join(dir, "bad.tsv");
      await Deno.writeTextFile(bad, "not a GLUE file\n");
      const r = await runMain([
        ...["train", "--model", REPO, "--train_file", bad, "--validation_file", bad],
        ...["--checkpoint_dir", join(dir, "ck"), "--backend", "wasm"],
      ], { env: { HF_ENDPOINT: server.endpoint, HF_HUB_CACHE: join(dir, "cache") } });
      assertUsageError(r, /bad\.tsv/);
      assert.deepEqual(server.requests, [], "no request was made");
      assert.ok(!(await Deno.stat(join(dir, "ck")).catch(() => null)), "no folder was made");
    });
  });
});

Deno.test("cache: a cached file that does not parse names its path and --force_download", async () => {
  await withTempDir(async (dir) => {
    const files = await tinyHubFiles(dir);
    const good = files.find((f) => f.filename === "config.json")!;
    const html = new TextEncoder().encode("<!doctype html><title>Login</title>");
    const server = startHubServer(files.map((f) => f === good ? { ...f, bytes: html } : f));
    const train = join(dir, "t.tsv");
    await writeMrpcTsv(train, tinyPairs(4, 1));
    const env = { HF_ENDPOINT: server.endpoint, HF_HUB_CACHE: join(dir, "cache") };
    const run = (extra: string[], e: Record<string, string>) =>
      runMain([
        ...["train", "--model", REPO, "--train_file", train, "--validation_file", train],
        ...["--max_steps", "1", "--batch_size", "4", "--backend", "wasm"],
        ...["--checkpoint_dir", join(dir, `ck-${crypto.randomUUID()}`), ...extra],
      ], { env: e });
    try {
      const poisoned = await run([], env);
      assertUsageError(
        poisoned,
        /Invalid ".*cache.*config\.json": .*\(a cached download: fetch it again with --force_download\)$/,
      );
      // Offline, the cache alone: the same clear line, not a parse error without a remedy.
      assertUsageError(await run([], { ...env, HF_HUB_OFFLINE: "1" }), /--force_download\)$/);
    } finally {
      await server.close();
    }
    const mended = startHubServer(files);
    try {
      const r = await run(["--force_download"], {
        HF_ENDPOINT: mended.endpoint,
        HF_HUB_CACHE: env.HF_HUB_CACHE,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(mended.requests.some((q) => q.path.endsWith("/config.json") && q.method === "GET"));
    } finally {
      await mended.close();
    }
  });
});

Deno.test("network: offline, the first train or data run says in one line all it needs, and the demo", async () => {
  await withTempDir(async (dir) => {
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const endpoint = `http://127.0.0.1:${(probe.addr as Deno.NetAddr).port}`;
    probe.close();
    const env = {
      HF_ENDPOINT: endpoint,
      HF_HUB_CACHE: join(dir, "cache"),
      HF_HUB_ETAG_TIMEOUT: String(ETAG_TIMEOUT),
    };
    const start = `error: Cannot reach the Hugging Face Hub at "${endpoint}" (connection refused `;
    // `deno task train` with nothing local: the model and both splits, in one line.
    const train = await runMain(["train", "--checkpoint_dir", join(dir, "ck")], { env });
    assert.equal(train.code, 1, train.stderr);
    const [line, ...more] = train.stderr.trim().split("\n");
    assert.deepEqual(more, [], "one line");
    assert.ok(line.startsWith(start), line);
    assert.ok(
      line.endsWith(
        `, so the model "distilbert-base-uncased" and MRPC's train and validation splits ` +
          `(dataset "nyu-mll/glue") could not be fetched: run from local files with \`deno task ` +
          "train --model DIR --train_file train.tsv --validation_file dev.tsv`, set " +
          "HF_HUB_OFFLINE=1 to use the cache, or try it offline with `deno task demo`",
      ),
      line,
    );
    // `data` with a local train file: the model and the two other splits, --test_file named.
    const tsv = join(dir, "train.tsv");
    await writeMrpcTsv(tsv, tinyPairs(4, 1));
    const data = await runMain(["data", "--train_file", tsv], { env });
    assert.equal(data.code, 1, data.stderr);
    assert.equal(data.stderr.trim().split("\n").length, 1, data.stderr);
    assert.match(
      data.stderr,
      /MRPC's validation and test splits \(dataset "nyu-mll\/glue"\) could not be fetched: run from local files with `deno task data --model DIR --validation_file dev\.tsv --test_file test\.tsv`/,
    );
  });
});
