/**
 * `train` launched as a W&B sweep agent launches it, against the loopback W&B server: the run
 * id and sweep id from the environment, the agent's `--name=value` / `--flag=True` flags and its
 * parameters file applied (flags win), its own checkpoint dir, the history uploaded, and the
 * agent's SIGTERM (hyperband's stop) ending in the graceful stop and a completed upload.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseSweepParams } from "../../tracking/mod.ts";
import { parseOptions, TRAIN_OPTIONS } from "../../cli/mod.ts";
import { assertUsageError, REPO_ROOT, runMain, withTempDir } from "../_helpers.ts";
import { runAndSignal } from "../train/_resume.ts";
import { type TinyRun, writeTinyRun } from "../train/_train_helpers.ts";
import { startWandbServer } from "./_wandb_server.ts";

const KEY = "wandb-canary-sweep-0123456789";

/** The environment `wandb agent` gives the command it launches. */
function agentEnv(dir: string, baseUrl: string, runId: string, paramPath: string) {
  return {
    NETRC: join(dir, "no-such-netrc"),
    WANDB_MODE: "",
    HF_HUB_OFFLINE: "1",
    WANDB_API_KEY: KEY,
    WANDB_BASE_URL: baseUrl,
    WANDB_RUN_ID: runId,
    WANDB_SWEEP_ID: "sw42xyz",
    WANDB_PROJECT: "mrpc-sweeps",
    WANDB_ENTITY: "team-a",
    WANDB_SWEEP_PARAM_PATH: paramPath,
    MRPC_TUNE_WANDB_INTERVAL_MS: "100",
  };
}

/** `train` with the flags as `${args}` expands them (`--name=value`). */
function agentArgs(run: TinyRun, ck: string, extra: string[]): string[] {
  return [
    "train",
    `--model=${run.model}`,
    `--train_file=${run.trainFile}`,
    `--validation_file=${run.validationFile}`,
    `--checkpoint_dir=${ck}`,
    "--batch_size=8",
    "--backend=wasm",
    ...extra,
  ];
}

/** The parameters file as the agent writes it (YAML, `wandb_version: 1`, `{value: v}`). */
const PARAMS_YAML = `wandb_version: 1

lr:
  desc: null
  value: 0.0002
weight_decay:
  desc: null
  value: 0.05
lr_scheduler:
  value: cosine
`;

Deno.test("sweep params: the agent's YAML and JSON forms; bad files are one line", () => {
  assert.deepEqual(parseSweepParams(PARAMS_YAML, "p.yaml"), {
    lr: 0.0002,
    weight_decay: 0.05,
    lr_scheduler: "cosine",
  });
  assert.deepEqual(
    parseSweepParams('{"lr": {"value": 3e-5}, "group_by_length": {"value": true}}', "p.json"),
    { lr: 3e-5, group_by_length: true },
  );
  assert.deepEqual(
    parseSweepParams("a:\n  value: 'it''s'\nb:\n  value: True\nc:\n  value: 1e-5\n", "p"),
    {
      a: "it's",
      b: true,
      c: 1e-5,
    },
  );
  assert.throws(
    () => parseSweepParams("lr: 3\n", "p.yaml"),
    /Invalid sweep parameters "p.yaml" \(WANDB_SWEEP_PARAM_PATH\): line 1: "lr" is not a \{value: \.\.\.\} entry/,
  );
  assert.throws(() => parseSweepParams('{"lr": 3}', "p.json"), /"lr" is not \{"value": \.\.\.\}/);
  assert.throws(
    () => parseSweepParams("lr:\n  value: 3\ntags:\n  value: [a, b]\n", "p.yaml"),
    /"p.yaml" \(WANDB_SWEEP_PARAM_PATH\): line 3: "tags" has a non-scalar value/,
  );
  assert.throws(
    () => parseSweepParams("lr:\n  value: [1,\n", "p.yaml"),
    /"p.yaml" \(WANDB_SWEEP_PARAM_PATH\): line \d+: /,
  );
});

Deno.test("sweep: a run launched as the agent does attaches to the sweep with the agent's parameters", async () => {
  await withTempDir(async (dir) => {
    const server = startWandbServer(KEY);
    try {
      const run = await writeTinyRun(dir);
      const params = join(dir, "config-abc123.yaml");
      await Deno.writeTextFile(params, PARAMS_YAML);
      const ck = join(dir, "models");
      // `command: [mrpc-tune, train, "${args}"]`: ${args} as --name=value, booleans as True.
      const args = agentArgs(run, ck, [
        "--epochs=2",
        "--weight_decay=0.1",
        "--group_by_length=True",
      ]);
      const r = await runMain(args, { env: agentEnv(dir, server.baseUrl, "abc123", params) });
      assert.equal(r.code, 0, r.stderr);
      const remote = server.run("abc123");
      assert.ok(remote, `the run has the agent's id: ${[...server.runs.keys()]}`);
      assert.equal(remote.sweep, "sw42xyz");
      assert.equal(remote.project, "mrpc-sweeps");
      assert.equal(remote.entity, "team-a");
      assert.deepEqual(remote.config.lr, { value: 0.0002, desc: null }, "from the parameters file");
      assert.deepEqual(remote.config.lr_scheduler, { value: "cosine", desc: null });
      assert.deepEqual(remote.config.weight_decay, { value: 0.1, desc: null }, "the flag wins");
      assert.deepEqual(remote.config.group_by_length, { value: true, desc: null });
      // Its own folder: the sweep's runs share --checkpoint_dir.
      const own = join(ck, "sweep-sw42xyz", "abc123");
      assert.deepEqual(remote.config.checkpoint_dir, { value: own, desc: null });
      await Deno.stat(join(own, "model.safetensors"));
      const record = join(own, "runs", "abc123");
      const lines = (await Deno.readTextFile(join(record, "metrics.jsonl"))).split("\n").filter((
        l,
      ) => l);
      assert.deepEqual(remote.history, lines, "the history arrived");
      assert.ok(lines.some((l) => "eval/accuracy" in JSON.parse(l)), "the sweep's metric name");
      assert.equal(remote.exitCode, 0);
      // A bad parameters file is one line, exit 2, before anything runs.
      await Deno.writeTextFile(params, "lr:\n  value: fast\n");
      assertUsageError(
        await runMain(args, { env: agentEnv(dir, server.baseUrl, "def456", params) }),
        /Invalid sweep parameters ".*config-abc123\.yaml" \(WANDB_SWEEP_PARAM_PATH\): Invalid value for --lr: "fast"/,
      );
    } finally {
      await server.close();
    }
  });
});

Deno.test("sweep: the agent's SIGTERM (hyperband) saves a checkpoint, exits 143, finishes the upload", async () => {
  await withTempDir(async (dir) => {
    const server = startWandbServer(KEY);
    try {
      const run = await writeTinyRun(dir, { train: 64 });
      const params = join(dir, "params.json");
      await Deno.writeTextFile(params, JSON.stringify({ lr: { value: 1e-3 } }));
      const ck = join(dir, "models");
      const { status, stderr } = await runAndSignal(
        agentArgs(run, ck, ["--epochs=20", "--logging_steps=2"]),
        (e) => /step \d+\/\d+/.test(e) && /W&B run:/.test(e),
        { signals: ["SIGTERM"], env: agentEnv(dir, server.baseUrl, "term01", params) },
      );
      assert.equal(status.code, 143, stderr);
      assert.match(stderr, /SIGTERM: finishing this step and saving a checkpoint/);
      const own = join(ck, "sweep-sw42xyz", "term01");
      const checkpoints = (await Array.fromAsync(Deno.readDir(own))).map((e) => e.name)
        .filter((n) => n.startsWith("checkpoint-"));
      assert.ok(checkpoints.length > 0, "a checkpoint was saved");
      const remote = server.run("term01")!;
      assert.equal(remote.sweep, "sw42xyz");
      assert.equal(remote.exitCode, 143);
      const lines = (await Deno.readTextFile(join(own, "runs", "term01", "metrics.jsonl"))).split(
        "\n",
      ).filter((l) => l);
      assert.deepEqual(remote.history, lines, "the upload completed");
    } finally {
      await server.close();
    }
  });
});

Deno.test("docs/sweep.yaml: its parameters are train flags, its metric one we log, its command ours", async () => {
  const text = await Deno.readTextFile(join(REPO_ROOT, "docs", "sweep.yaml"));
  const lines = text.split("\n").filter((l) => !l.trimStart().startsWith("#"));
  const start = lines.indexOf("parameters:");
  const end = lines.findIndex((l, i) => i > start && /^\S/.test(l));
  const names = lines.slice(start + 1, end).filter((l) => /^ {2}\w+:$/.test(l)).map((l) =>
    l.trim().slice(0, -1)
  );
  assert.deepEqual(names, ["lr", "batch_size", "epochs", "eval_steps", "seed"]);
  const flags = new Set<string>(TRAIN_OPTIONS.map((o) => o.name));
  for (const n of names) assert.ok(flags.has(n), `${n} is a train flag`);
  assert.match(text, /metric:\n {2}name: eval\/accuracy\n {2}goal: maximize/);
  assert.match(
    text,
    /lr:\n {4}distribution: log_uniform_values\n {4}min: 1\.0e-6\n {4}max: 1\.0e-4/,
  );
  assert.match(text, /command:\n {2}- mrpc-tune\n {2}- train\n(?: {2}- .*\n)* {2}- \$\{args\}/);
  // The flags the agent passes for it (the --name=value form, booleans as True/False) parse.
  const values = parseOptions(TRAIN_OPTIONS, [
    "--lr=3.5e-05",
    "--batch_size=16",
    "--epochs=3",
    "--eval_steps=115",
    "--seed=42",
    "--group_by_length=False",
    "--overwrite_output_dir=True",
  ]);
  assert.equal(values.lr, 3.5e-5);
  assert.equal(values.eval_steps, 115);
  assert.equal(values.group_by_length, false);
  assert.equal(values.overwrite_output_dir, true);
});
