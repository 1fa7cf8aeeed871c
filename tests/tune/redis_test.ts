/**
 * The Redis journal against a real `redis-server` (Debian's) on a free loopback port: two workers
 * share one study, and Python Optuna's `JournalRedisStorage` reads what they wrote. Skipped, with
 * the reason printed, where redis-server (or python3-optuna + python3-redis, for the last part)
 * is absent.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { floatDist, JournalRedis, RandomSampler, STATE_NAMES, TrialState } from "../../tune/mod.ts";
import { needsProgram, needsPython, REPO_ROOT, SYSTEM_PYTHON } from "../_helpers.ts";
import { assertSectionsExclude, makeStudy } from "./_study.ts";

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function startRedis(): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = freePort();
  const child = new Deno.Command("redis-server", {
    args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
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
