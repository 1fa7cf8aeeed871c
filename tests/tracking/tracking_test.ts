/**
 * Runs logged to W&B against a loopback W&B server: the demo online (config wrapped as the UI
 * reads it, every row of the local record exactly once at its step, the summary, completion);
 * every outage costs nothing (weights as with W&B disabled, a complete local record, a prompt
 * exit, the run marked unsynced) and `sync` completes the upload exactly once; kill -9 and
 * resume give one W&B run without duplicate steps; offline never touches the network; secrets
 * appear nowhere.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runMain, withTempDir } from "../_helpers.ts";
import { runAndSignal } from "../train/_resume.ts";
import { writeTinyRun } from "../train/_train_helpers.ts";
import { startWandbServer, type WandbServer } from "./_wandb_server.ts";

const KEY = "wandb-canary-0123456789abcdef";
const HF_TOKEN = "hf_canaryTokenDoNotLeak42";

function env(dir: string, server: { baseUrl: string } | null, extra: Record<string, string> = {}) {
  return {
    NETRC: join(dir, "no-such-netrc"), // not the machine user's ~/.netrc
    WANDB_MODE: "", // unset: the mode follows the key
    HF_HUB_OFFLINE: "1",
    HF_TOKEN,
    WANDB_API_KEY: KEY,
    ...(server ? { WANDB_BASE_URL: server.baseUrl } : {}),
    MRPC_TUNE_WANDB_INTERVAL_MS: "100",
    ...extra,
  };
}

/** The one run's record folder under `<ck>/runs/`. */
async function recordDir(ck: string): Promise<string> {
  const runs = (await Array.fromAsync(Deno.readDir(join(ck, "runs")))).map((e) => e.name);
  assert.equal(runs.length, 1, `one record: ${runs}`);
  return join(ck, "runs", runs[0]);
}

async function readLines(path: string): Promise<string[]> {
  return (await Deno.readTextFile(path)).split("\n").filter((l) => l !== "");
}

/** The server's history equals the record's, line for line, and no step appears twice. */
async function assertSameHistory(server: WandbServer, record: string): Promise<void> {
  const runId = record.split("/").at(-1)!;
  const run = server.run(runId);
  assert.ok(run, `the server has run ${runId}`);
  const lines = await readLines(join(record, "metrics.jsonl"));
  assert.ok(lines.length > 0);
  assert.deepEqual(run.history, lines, "every row, at its offset");
  const steps = lines.map((l) => JSON.parse(l)._step);
  assert.equal(new Set(steps).size, steps.length, "no duplicate step");
  assert.deepEqual(steps, [...steps].sort((a, b) => a - b));
}

/** Every file under `dir` holds none of the secrets. */
async function assertNoSecrets(dir: string, texts: string[]): Promise<void> {
  for (const t of texts) {
    assert.ok(!t.includes(KEY) && !t.includes(HF_TOKEN), "a secret in the output");
  }
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) await assertNoSecrets(path, []);
    else if (e.isFile) {
      const bytes = new TextDecoder().decode(await Deno.readFile(path));
      assert.ok(!bytes.includes(KEY) && !bytes.includes(HF_TOKEN), `a secret in "${path}"`);
    }
  }
}

Deno.test("tracking: a demo run online sends the config, every row once, the summary, completion", async () => {
  await withTempDir(async (dir) => {
    const server = startWandbServer(KEY);
    try {
      const ck = join(dir, "demo");
      const r = await runMain([
        ...["demo", "--checkpoint_dir", ck, "--max_steps", "30", "--logging_steps", "5"],
        ...["--eval_steps", "10", "--backend", "wasm", "--wandb_tags", "a,b", "--run_name", "d1"],
      ], { env: env(dir, server) });
      assert.equal(r.code, 0, r.stderr);
      const record = await recordDir(ck);
      const runId = record.split("/").at(-1)!;
      const run = server.run(runId)!;
      assert.equal(run.entity, "loop-entity", "the key's default entity");
      assert.equal(run.project, "mrpc-tune");
      assert.equal(run.displayName, "d1");
      assert.deepEqual(run.tags, ["a", "b"]);
      assert.deepEqual(run.config.lr, { value: 0.001, desc: null }, "wrapped as the UI reads it");
      assert.deepEqual(run.config.batch_size, { value: 32, desc: null });
      await assertSameHistory(server, record);
      const rows = (await readLines(join(record, "metrics.jsonl"))).map((l) => JSON.parse(l));
      assert.deepEqual(rows.map((r) => r._step), [5, 10, 15, 20, 25, 30]);
      for (const row of rows) {
        for (
          const k of [
            "train/loss",
            "train/lr",
            "train/grad_norm",
            "train/epoch",
            "train/examples_per_second",
          ]
        ) {
          assert.equal(typeof row[k], "number", `${k} at step ${row._step}`);
        }
        assert.equal(
          "eval/accuracy" in row,
          row._step % 10 === 0,
          `eval rows at step ${row._step}`,
        );
      }
      assert.equal(run.exitCode, 0);
      assert.equal(typeof run.summary?.["best/accuracy"], "number");
      assert.equal(
        run.summary?.["best/step"],
        10 * Math.round(Number(run.summary?.["best/step"]) / 10),
      );
      assert.equal(typeof run.summary?._runtime, "number");
      const wandb = JSON.parse(await Deno.readTextFile(join(record, "wandb.json")));
      assert.equal(wandb.synced, true);
      assert.equal(wandb.url, `${server.baseUrl}/loop-entity/mrpc-tune/runs/${runId}`);
      assert.equal(
        r.stderr.split(`W&B run: ${wandb.url}`).length - 1,
        2,
        "the URL at start and end",
      );
      const meta = JSON.parse(await Deno.readTextFile(join(record, "meta.json")));
      assert.equal(meta.exit_code, 0);
      assert.equal(meta.backend, "wasm");
      assert.match(meta.version, /^\d+\.\d+\.\d+/);
      await assertNoSecrets(ck, [r.stdout, r.stderr, JSON.stringify(run.config)]);
    } finally {
      await server.close();
    }
  });
});

/** A tiny train run's args into `ck` with tracking on (every step logged). */
function tinyArgs(
  run: { dataFlags: string[] },
  ck: string,
  extra: string[] = [],
  steps = 12,
): string[] {
  return [
    ...["train", ...run.dataFlags, "--batch_size", "4", "--max_steps", String(steps)],
    ...["--eval_steps", "4"],
    ...["--logging_steps", "1", "--checkpoint_dir", ck, "--backend", "wasm", ...extra],
  ];
}

Deno.test("tracking: every outage costs nothing, and sync then uploads every row exactly once", async (t) => {
  await withTempDir(async (dir) => {
    const run = await writeTinyRun(dir, { train: 16, validation: 8 });
    const disabledDir = join(dir, "disabled");
    const t0 = performance.now();
    const plain = await runMain(tinyArgs(run, disabledDir, ["--wandb_mode", "disabled"]), {
      env: env(dir, null),
    });
    const plainSeconds = (performance.now() - t0) / 1000;
    assert.equal(plain.code, 0, plain.stderr);
    const reference = await Deno.readFile(join(disabledDir, "model.safetensors"));
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const downUrl = `http://127.0.0.1:${(probe.addr as Deno.NetAddr).port}`;
    probe.close();

    // Each outage, and the cause its one failure line must name.
    const cause: Record<string, RegExp> = {
      "the server is down": /: connection refused/,
      "HTTP 500 on GraphQL": /: HTTP 500 from "http:\/\/127\.0\.0\.1:\d+\/graphql"/,
      "HTTP 500 on file_stream": /: HTTP 500 from "http:\/\/127\.0\.0\.1:\d+\/files\//,
      "a server that accepts and never answers":
        /\(no reply (from "http:\/\/127\.0\.0\.1:\d+" )?within /,
    };
    const outages: [string, (s: WandbServer) => void, boolean][] = [
      ["the server is down", () => {}, true],
      ["HTTP 500 on GraphQL", (s) => s.faults.graphql = { status: 500, times: 1000 }, false],
      ["HTTP 500 on file_stream", (s) => s.faults.stream = { status: 500, times: 1000 }, false],
      [
        "429 with Retry-After",
        (s) => s.faults.stream = { status: 429, times: 2, retryAfter: "1" },
        false,
      ],
      [
        "503 twice on GraphQL, then 200",
        (s) => s.faults.graphql = { status: 503, times: 2 },
        false,
      ],
      [
        "503 twice on file_stream, then 200",
        (s) => s.faults.stream = { status: 503, times: 2 },
        false,
      ],
      ["a server that accepts and never answers", (s) => s.faults.hang = true, false],
    ];
    for (const [name, inject, down] of outages) {
      await t.step(name, async () => {
        const server = startWandbServer(KEY);
        const ck = join(dir, name.replaceAll(" ", "-"));
        try {
          inject(server);
          const started = performance.now();
          const r = await runMain(tinyArgs(run, ck), {
            env: env(dir, down ? { baseUrl: downUrl } : server),
          });
          const seconds = (performance.now() - started) / 1000;
          assert.equal(r.code, 0, r.stderr);
          assert.ok(
            seconds < 2 * plainSeconds + 30, // a generous bound: it catches a hang, not a slow machine
            `prompt exit: ${seconds.toFixed(1)} s vs ${plainSeconds.toFixed(1)} s`,
          );
          assert.deepEqual(
            await Deno.readFile(join(ck, "model.safetensors")),
            reference,
            "same weights",
          );
          const record = await recordDir(ck);
          const lines = await readLines(join(record, "metrics.jsonl"));
          assert.deepEqual(lines.map((l) => JSON.parse(l)._step), [
            1,
            2,
            3,
            4,
            5,
            6,
            7,
            8,
            9,
            10,
            11,
            12,
          ]);
          const state = JSON.parse(await Deno.readTextFile(join(record, "wandb.json")));
          if (name.startsWith("429") || name.startsWith("503")) {
            assert.equal(state.synced, true, "retried: " + r.stderr);
            assert.doesNotMatch(r.stderr, /W&B upload failed/);
          } else {
            assert.equal(state.synced, false);
            const failed = r.stderr.split("\n").filter((l) => l.startsWith("W&B upload failed"));
            assert.equal(failed.length, 1, `said once: ${r.stderr}`);
            assert.doesNotMatch(r.stderr, /W&B upload incomplete/, "one line, not two");
            assert.match(failed[0], cause[name], `names the cause: ${failed[0]}`);
            assert.match(failed[0], /finish the upload with `deno task sync .*runs\/\w+`/);
            // "training goes on" only while it does: before the run's last line of training.
            const ended = r.stderr.indexOf("Best model (");
            if (r.stderr.indexOf(failed[0]) > ended) {
              assert.match(failed[0], /: the run is recorded offline in "/, failed[0]);
            } else {
              assert.match(failed[0], /: training goes on, recorded offline in "/, failed[0]);
            }
          }
          // A healthy server: sync delivers every row exactly once; a second sync changes nothing.
          server.faults.graphql = server.faults.stream = null;
          server.faults.hang = false;
          const healthy = down ? startWandbServer(KEY) : server;
          try {
            const s1 = await runMain(["sync", ck], { env: env(dir, healthy) });
            assert.equal(s1.code, 0, s1.stderr);
            await assertSameHistory(healthy, record);
            const remote = healthy.run(record.split("/").at(-1)!)!;
            assert.equal(remote.exitCode, 0);
            assert.ok(remote.writes.every((n) => n >= 1));
            const before = healthy.requests.length;
            const s2 = await runMain(["sync", ck], { env: env(dir, healthy) });
            assert.equal(s2.code, 0, s2.stderr);
            assert.match(s2.stderr, /already synced/);
            assert.equal(healthy.requests.length, before, "the second sync sends nothing");
            const status = await runMain(["sync", "--status", ck], { env: env(dir, healthy) });
            assert.match(status.stdout, /synced: 12 rows/);
          } finally {
            if (healthy !== server) await healthy.close();
          }
        } finally {
          await server.close();
        }
      });
    }
  });
});

Deno.test("tracking: offline sends nothing; sync --status lists it pending; sync uploads it", async () => {
  await withTempDir(async (dir) => {
    const run = await writeTinyRun(dir, { train: 8, validation: 4 });
    const server = startWandbServer(KEY);
    try {
      const ck = join(dir, "ck");
      const r = await runMain(tinyArgs(run, ck, ["--wandb_mode", "offline"], 4), {
        env: env(dir, server),
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(server.requests.length, 0, "offline touches no network");
      assert.match(
        r.stderr,
        /W&B offline: the run is recorded in ".*runs\/\w+"; upload it with `deno task sync/,
      );
      const status = await runMain(["sync", "--status", ck], { env: env(dir, server) });
      assert.match(status.stdout, /pending: 0\/4 rows uploaded, not complete/);
      assert.equal(server.requests.length, 0);
      const s = await runMain(["sync", ck], { env: env(dir, server) });
      assert.equal(s.code, 0, s.stderr);
      await assertSameHistory(server, await recordDir(ck));
      // No key at all: offline by default, with one line saying how to turn it on.
      const none = await runMain(tinyArgs(run, join(dir, "nokey"), [], 2), {
        env: { ...env(dir, server), WANDB_API_KEY: "" },
      });
      assert.equal(none.code, 0, none.stderr);
      assert.match(
        none.stderr,
        /^W&B: no API key \(WANDB_API_KEY or ~\/\.netrc\), so the run is logged offline/m,
      );
      assert.equal(server.runs.size, 1, "the keyless run sent nothing");
      const online = await runMain(tinyArgs(run, join(dir, "x"), ["--wandb_mode", "online"]), {
        env: { ...env(dir, server), WANDB_API_KEY: "" },
      });
      assert.equal(online.code, 2);
      assert.match(online.stderr, /^error: W&B mode online needs an API key/);
    } finally {
      await server.close();
    }
  });
});

Deno.test("tracking: kill -9, sync, then resume: one W&B run, no duplicate steps", async () => {
  await withTempDir(async (dir) => {
    const run = await writeTinyRun(dir, {
      train: 48,
      validation: 8,
      config: { dim: 32, hidden_dim: 64 },
    });
    const server = startWandbServer(KEY);
    try {
      const ck = join(dir, "ck");
      const args = [
        ...["train", ...run.dataFlags, "--batch_size", "4", "--epochs", "2", "--eval_steps", "4"],
        ...["--logging_steps", "1", "--checkpoint_dir", ck, "--backend", "wasm"],
      ];
      const killed = await runAndSignal(args, (err) => / step 10\//.test(err), {
        env: env(dir, server),
      });
      assert.equal(killed.status.signal, "SIGKILL", killed.stderr);
      const record = await recordDir(ck);
      const synced = await runMain(["sync", ck], { env: env(dir, server) });
      assert.equal(synced.code, 0, synced.stderr);
      const resumed = await runMain([...args, "--resume", "auto"], { env: env(dir, server) });
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.equal(await recordDir(ck), record, "the same record continues");
      assert.equal(server.runs.size, 1, "one W&B run");
      await assertSameHistory(server, record);
      const steps = (await readLines(join(record, "metrics.jsonl"))).map((l) =>
        JSON.parse(l)._step
      );
      assert.deepEqual(steps, Array.from({ length: 24 }, (_, i) => i + 1));
      assert.equal(server.run(record.split("/").at(-1)!)!.exitCode, 0);
    } finally {
      await server.close();
    }
  });
});
