/**
 * The Redis journal against a real `redis-server` (Debian's) on a free loopback port: two workers
 * share one study, and Python Optuna's `JournalRedisStorage` reads what they wrote. Skipped, with
 * the reason printed, where redis-server (or python3-optuna + python3-redis, for the last part)
 * is absent.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createClient } from "redis";
import {
  Direction,
  floatDist,
  JournalRedis,
  RandomSampler,
  STATE_NAMES,
  TrialState,
} from "../../tune/mod.ts";
import {
  freePort,
  needsProgram,
  needsPython,
  REPO_ROOT,
  runMain,
  SYSTEM_PYTHON,
  withTempDir,
} from "../_helpers.ts";
import { runAndSignal } from "../train/_resume.ts";
import { assertSectionsExclude, makeStudy } from "./_study.ts";

/**
 * A redis-server on `port` (a free one by default); with `dir`, persistent (append-only file,
 * fsynced on every write) so that a restart keeps the study, as a production Redis would.
 */
async function startRedis(
  options: { port?: number; dir?: string } = {},
): Promise<{ url: string; port: number; stop: () => Promise<void> }> {
  const port = options.port ?? freePort();
  const persistence = options.dir
    ? ["--dir", options.dir, "--appendonly", "yes", "--appendfsync", "always"]
    : ["--save", "", "--appendonly", "no"];
  const child = new Deno.Command("redis-server", {
    args: ["--port", String(port), "--bind", "127.0.0.1", ...persistence],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  // Wait for it to listen (a generous bound: it only catches a server that never starts).
  for (let i = 0;; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch (err) {
      if (i >= 1200) throw new Error(`redis-server did not listen on port ${port} in 60 s: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: async () => {
      child.kill("SIGTERM");
      await output;
    },
  };
}

const noRedis = needsProgram("redis-server", "Redis journal", "redis-server");

Deno.test({
  name: "redis: two workers share a study; Python Optuna reads it",
  ignore: noRedis,
  fn: async () => {
    const redis = await startRedis();
    try {
      const url = `${redis.url}/3`;
      const workers = await Promise.all(
        [0, 1].map(async () =>
          makeStudy(new RandomSampler({ seed: 9 }), {
            backend: await new JournalRedis(url).open(),
            nTrials: 8,
          })
        ),
      );
      await Promise.all(workers.map((w, i) =>
        w.optimize(async (t) => {
          const x = await t.suggest("x", floatDist(0, 1)) as number;
          await t.report(x / 2, 5);
          await w.options.storage.setUserAttr(t.trial, "worker", i);
          await new Promise((r) => setTimeout(r, Math.random() * 20));
          return x;
        })
      ));
      const trials = await workers[0].trials();
      assert.deepEqual(trials.map((t) => t.number), [...Array(8).keys()]);
      assert.ok(trials.every((t) => t.state === TrialState.COMPLETE));
      assert.equal(new Set(trials.map((t) => t.userAttrs.worker)).size, 2, "both workers ran");
      for (const w of workers) await w.options.storage.close();
      if (needsPython(["optuna", "redis"], "redis: Python reads the study")) return;
      const out = await new Deno.Command(SYSTEM_PYTHON, {
        args: [join(REPO_ROOT, "tests", "tune", "_optuna.py"), "dump", url, "s"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      const py = JSON.parse(new TextDecoder().decode(out.stdout));
      assert.deepEqual(
        py.trials.map((t: { number: number; state: string; params: unknown; values: unknown }) => [
          t.number,
          t.state,
          t.params,
          t.values,
        ]),
        trials.map((t) => [t.number, STATE_NAMES[t.state], t.params, t.values]),
      );
    } finally {
      await redis.stop();
    }
  },
});

Deno.test({
  name: "redis lock: concurrent read-modify-write sections exclude each other",
  ignore: noRedis,
  fn: async () => {
    const redis = await startRedis();
    try {
      const writers = await Promise.all([0, 1, 2].map(() => new JournalRedis(redis.url).open()));
      try {
        await assertSectionsExclude(writers);
      } finally {
        for (const w of writers) await w.close();
      }
    } finally {
      await redis.stop();
    }
  },
});

Deno.test({
  name:
    "redis lock: it outlives the storage timeout, so that a holder waiting out an outage keeps it",
  ignore: noRedis,
  fn: async () => {
    const redis = await startRedis();
    try {
      const client = createClient({ url: redis.url });
      await client.connect();
      try {
        const remaining = () => client.pTTL(":mrpc_tune_lock"); // no prefix, as Optuna's default
        for (const timeoutSeconds of [60, 300]) {
          const holder = await new JournalRedis(redis.url, { timeoutSeconds }).open();
          try {
            const ttl = await holder.withLock(remaining);
            assert.ok(
              ttl > timeoutSeconds * 1000,
              `lock TTL ${ttl} ms, timeout ${timeoutSeconds} s`,
            );
            assert.equal(holder.lockTtlMs, timeoutSeconds * 1000 + 30_000);
            assert.equal(await remaining(), -2, "released after the section");
          } finally {
            await holder.close();
          }
        }
      } finally {
        await client.quit();
      }
    } finally {
      await redis.stop();
    }
  },
});

Deno.test({
  name: "redis: a server that cannot be reached is one line naming it",
  ignore: noRedis,
  fn: async () => {
    const url = `redis://127.0.0.1:${freePort()}`;
    await assert.rejects(() => new JournalRedis(url).open(), (err: Error) => {
      assert.ok(
        err.message.startsWith(`Cannot connect to the study storage "${url}": `),
        err.message,
      );
      assert.ok(!err.message.includes("\n"));
      return true;
    });
  },
});

/** A demo study on Redis whose one trial runs long enough (500 steps) to lose Redis during it. */
function longTrial(url: string, dir: string, extra: string[] = []): string[] {
  return [
    ...["tune", "--demo", "--n_trials", "1", "--storage", `${url}/0`, "--checkpoint_dir", dir],
    ...["--max_train_samples", "2000", "--epochs", "2", "--batch_size", "8", "--eval_steps", "50"],
    ...["--max_eval_samples", "40", "--heartbeat_interval", "0.5", ...extra],
  ];
}

Deno.test({
  name: "redis: a Redis restart mid-trial is survived; the study ends as if nothing happened",
  ignore: noRedis,
  fn: () =>
    withTempDir(async (dir) => {
      const data = join(dir, "redis");
      await Deno.mkdir(data);
      let redis = await startRedis({ dir: data });
      try {
        const { status, stderr } = await runAndSignal(
          longTrial(redis.url, join(dir, "ck")),
          async (err) => {
            if (!/Trial 0 started[\s\S]* step 60\//.test(err)) return false;
            await redis.stop();
            await new Promise((r) => setTimeout(r, 1500)); // down for a while
            redis = await startRedis({ dir: data, port: redis.port });
            return true;
          },
          { signals: [] },
        );
        assert.equal(status.code, 0, stderr);
        assert.match(
          stderr,
          /^Lost the study storage "redis:\/\/127\.0\.0\.1:\d+\/0" \(.*\): reconnecting for up to 60 s \(--storage_timeout\)$/m,
        );
        assert.match(stderr, /^The study storage "redis:.*" is back$/m);
        assert.match(stderr, /^Trial 0 COMPLETE /m);
        const url = `${redis.url}/0`;
        const backend = await new JournalRedis(url).open();
        try {
          const study = await makeStudy(new RandomSampler({ seed: 0 }), {
            backend,
            name: "mrpc-tune",
            direction: Direction.MAXIMIZE,
            nTrials: 1,
          });
          assert.deepEqual((await study.trials()).map((t) => t.state), [TrialState.COMPLETE]);
        } finally {
          await backend.close();
        }
      } finally {
        await redis.stop();
      }
    }),
});

Deno.test({
  name: "redis: lost past --storage_timeout, the worker stops (exit 1, one line), the trial saved",
  ignore: noRedis,
  fn: () =>
    withTempDir(async (dir) => {
      const data = join(dir, "redis");
      await Deno.mkdir(data);
      let redis = await startRedis({ dir: data });
      const ck = join(dir, "ck");
      try {
        const args = longTrial(redis.url, ck, ["--storage_timeout", "2"]);
        const { status, stderr } = await runAndSignal(args, async (err) => {
          if (!/Trial 0 started[\s\S]* step 60\//.test(err)) return false;
          await redis.stop();
          return true;
        }, { signals: [] });
        assert.equal(status.code, 1, stderr);
        const last = stderr.trim().split("\n").at(-1)!;
        assert.match(
          last,
          /^error: Lost the study storage "redis:\/\/127\.0\.0\.1:\d+\/0" for 2 s \(--storage_timeout\): /,
        );
        assert.doesNotMatch(stderr, /internal error/);
        assert.match(stderr, /^Interrupted at step \d+: checkpoint-\d+ saved/m);
        const trialDir = join(ck, "mrpc-tune", "trials", "trial-0");
        const saved = (await Array.fromAsync(Deno.readDir(trialDir)))
          .filter((e) => /^checkpoint-\d+$/.test(e.name));
        assert.ok(saved.length > 0, "the trial saved a checkpoint");
        // Redis back: the next run resumes the trial from that checkpoint.
        redis = await startRedis({ dir: data, port: redis.port });
        const again = await runMain(args, { env: { HF_HUB_OFFLINE: "1" } });
        assert.equal(again.code, 0, again.stderr);
        assert.match(again.stderr, /^Trial 1 started: lr=[\d.e-]+ \(resuming trial 0 from /m);
      } finally {
        await redis.stop();
      }
    }),
});
