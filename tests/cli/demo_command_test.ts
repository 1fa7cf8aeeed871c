import os from "node:os";
import assert from "node:assert/strict";
import { join } from "node:path";
import { assertUsageError, REPO_ROOT, runMain, withTempDir } from "../_helpers.ts";
import { runAndSignal } from "../train/_resume.ts";

Deno.test("demo: a tiny random DistilBERT learns the generated paraphrase task (>= 95%)", async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, "models");
    const r = await runMain(["demo", "--checkpoint_dir", out, "--backend", "wasm"]);
    assert.equal(r.code, 0, r.stderr);
    const results = JSON.parse(await Deno.readTextFile(join(out, "eval_results.json")));
    console.log(`demo validation accuracy ${results.eval_accuracy}, f1 ${results.eval_f1}`);
    assert.ok(results.eval_accuracy >= 0.95, `accuracy ${results.eval_accuracy}`);
    assert.equal(results.eval_samples, 400);
    assert.match(r.stdout, /Best model: accuracy 0\.9\d+/);
    const shown = r.stdout.split("\n").filter((l) => /^ {2}(not_)?equivalent \(p=/.test(l));
    assert.equal(shown.length, 5);
    // The exported best model is a complete HF folder that predict can read.
    for (const f of ["config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"]) {
      await Deno.stat(join(out, f));
    }
  });
});

/** mrpc-tune-demo-* folders in `tmp` (the demo's temporary model and data). */
async function demoTemps(tmp: string): Promise<string[]> {
  const names = (await Array.fromAsync(Deno.readDir(tmp))).map((e) => e.name);
  return names.filter((n) => n.startsWith("mrpc-tune-demo-"));
}

Deno.test("demo: --help shows the demo's defaults, and the flags it ignores are refused", async () => {
  const help = await runMain(["demo", "--help"]);
  assert.equal(help.code, 0);
  for (
    const [flag, value] of [
      ["checkpoint_dir DIR", "models-demo"],
      ["lr FLOAT", "0.001"],
      ["batch_size INT", "32"],
      ["epochs FLOAT", "4"],
      ["max_seq_length N", "64"],
      ["warmup_ratio FLOAT", "0.1"],
    ]
  ) {
    assert.match(help.stdout, new RegExp(`--${flag}.*\\(default: ${value.replace(".", "\\.")}\\)`));
  }
  assert.doesNotMatch(help.stdout, /--model |--train_file |--validation_file /);
  assertUsageError(
    await runMain(["demo", "--model", "distilbert-base-uncased"]),
    /^error: --model is not used by the demo: it trains its own tiny model/,
  );
  assertUsageError(
    await runMain(["train", "--demo", "--train_file=x.tsv"]),
    /^error: --train_file is not used by the demo/,
  );
});

Deno.test("demo: runs twice into its own folder, never into one it did not make; cleans up", async () => {
  await withTempDir(async (dir) => {
    const tmp = join(dir, "tmp");
    await Deno.mkdir(tmp);
    const env = { TMPDIR: tmp };
    const out = join(dir, "models-demo");
    const quick = ["--checkpoint_dir", out, "--max_steps", "2", "--backend", "wasm"];
    const first = await runMain(["demo", ...quick], { env });
    assert.equal(first.code, 0, first.stderr);
    const second = await runMain(["demo", ...quick, "--seed", "5"], { env });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /Removed an earlier run from/);
    assert.deepEqual(await demoTemps(tmp), [], "the temporary model and data are gone");

    // A folder with another run's checkpoints is not the demo's: refused, left as it was.
    const other = join(dir, "other");
    const trained = await runMain(
      ["train", "--demo", ...quick.slice(2), "--checkpoint_dir", other],
      { env },
    );
    assert.equal(trained.code, 0, trained.stderr);
    await Deno.remove(join(other, ".mrpc-tune-demo"));
    const before = (await Array.fromAsync(Deno.readDir(other))).map((e) => e.name).sort();
    const refused = await runMain(["demo", ...quick.slice(2), "--checkpoint_dir", other], { env });
    assertUsageError(refused, /already holds checkpoints/);
    const after = (await Array.fromAsync(Deno.readDir(other))).map((e) => e.name).sort();
    assert.deepEqual(after, before);
    assert.deepEqual(await demoTemps(tmp), []);
  });
});

Deno.test("demo: Ctrl-C mid-run removes the temporary folder too", async () => {
  await withTempDir(async (dir) => {
    const tmp = join(dir, "tmp");
    await Deno.mkdir(tmp);
    const { status, stderr } = await runAndSignal(
      ["demo", "--backend", "wasm", "--checkpoint_dir", join(dir, "out"), "--logging_steps", "1"],
      (err) => / step 2\//.test(err),
      { signals: ["SIGINT"], env: { TMPDIR: tmp } },
    );
    assert.equal(status.code, 130, stderr);
    assert.deepEqual(await demoTemps(tmp), []);
  });
});

Deno.test("demo: the temporary folder of a demo killed with -9 is removed by the next run", async () => {
  await withTempDir(async (dir) => {
    const tmp = join(dir, "tmp");
    await Deno.mkdir(tmp);
    const env = { TMPDIR: tmp };
    const args = ["demo", "--backend", "wasm", "--checkpoint_dir", join(dir, "out")];
    const killed = await runAndSignal(
      [...args, "--logging_steps", "1"],
      (err) => / step 2\//.test(err),
      { signals: ["SIGKILL"], env },
    );
    assert.equal(killed.status.signal, "SIGKILL");
    assert.equal((await demoTemps(tmp)).length, 1, "left behind by the kill");
    // A folder of a demo that still runs is left alone.
    const alive = join(tmp, "mrpc-tune-demo-alive");
    await Deno.mkdir(alive);
    await Deno.writeTextFile(
      join(alive, ".owner.json"),
      JSON.stringify({ pid: Deno.pid, host: os.hostname() }),
    );
    const next = await runMain([...args, "--max_steps", "1"], { env });
    assert.equal(next.code, 0, next.stderr);
    assert.deepEqual(await demoTemps(tmp), ["mrpc-tune-demo-alive"]);
  });
});

Deno.test("demo: its output folders are outside fmt, lint and git", async () => {
  await withTempDir(async (dir) => {
    await Deno.copyFile(join(REPO_ROOT, "deno.json"), join(dir, "deno.json"));
    for (const folder of ["models", "models-demo"]) {
      await Deno.mkdir(join(dir, folder));
      await Deno.writeTextFile(join(dir, folder, "config.json"), '{"dim":64,  "n_layers":2}');
      await Deno.writeTextFile(join(dir, folder, "x.ts"), "var  unused = 1");
    }
    await Deno.writeTextFile(join(dir, "ok.ts"), "export const ok = 1;\n");
    for (const args of [["fmt", "--check"], ["lint"]]) {
      const r = await new Deno.Command(Deno.execPath(), { args, cwd: dir, stderr: "piped" })
        .output();
      assert.ok(r.success, `deno ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
    }
    const ignore = await Deno.readTextFile(join(REPO_ROOT, ".gitignore"));
    for (const folder of ["models/", "models-demo/"]) {
      assert.match(ignore, new RegExp(`^${folder}$`, "m"));
    }
  });
});
