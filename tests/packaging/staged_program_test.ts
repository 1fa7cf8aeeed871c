/**
 * The module graph `deno task compile` embeds is complete: the program staged with only that
 * graph, its includes and its npm packages (scripts/stage_program.ts) runs from a folder without
 * the sources — `--version` with the commit, a demo run whose W&B upload Worker loads (against
 * the loopback W&B server), a tuning trial (the program starting itself again), a report. And it
 * is what `deno compile` embeds: the same npm packages (compile's own list of embedded files), no
 * test-only, script-only or native package, within its size.
 */
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { compileTask, embeddedPackages, stageProgram } from "../../scripts/stage_program.ts";
import { TFJS_RUNTIME_FILES } from "../../scripts/build_tfjs.ts";
import { REPO_ROOT, TEST_ENV, withTempDir } from "../_helpers.ts";
import { startWandbServer } from "../tracking/_wandb_server.ts";

const KEY = "wandb-canary-staged-0123456789";

Deno.test("staged program: runs every kind of command from a folder without the sources", async () => {
  await withTempDir(async (dir) => {
    const launcher = await stageProgram(join(dir, "stage"));
    const work = join(dir, "work");
    await Deno.mkdir(work);
    const run = async (args: string[], env: Record<string, string> = {}) => {
      const out = await new Deno.Command(launcher, {
        args,
        cwd: work,
        env: { ...TEST_ENV, HF_HUB_OFFLINE: "1", ...env },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
    };
    const version = await run(["--version"]);
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, /^mrpc-tune \d+\.\d+\.\d+ \(commit ([0-9a-f]{40}|unknown); Deno /);
    const server = startWandbServer(KEY);
    try {
      const demo = await run(
        ["demo", "--max_steps", "20", "--max_eval_samples", "40", "--logging_steps", "5"],
        {
          WANDB_MODE: "online",
          WANDB_API_KEY: KEY,
          WANDB_BASE_URL: server.baseUrl,
          NETRC: join(dir, "none"),
        },
      );
      assert.equal(demo.code, 0, demo.stderr);
      // The SIMD kernels' binary (a compile --include) is staged: they load from it.
      assert.match(demo.stderr, /^Backend: wasm .*\+ mrpc-tune wasm SIMD kernels/m);
      const [remote] = [...server.runs.values()];
      assert.ok(remote && remote.history.length > 0, "the upload Worker ran from the staged graph");
      assert.equal(remote.exitCode, 0);
    } finally {
      await server.close();
    }
    await Deno.stat(join(work, "models-demo", "model.safetensors"));
    const tune = await run([
      "tune",
      "--demo",
      "--n_trials",
      "1",
      "--checkpoint_dir",
      "t",
      "--max_train_samples",
      "40",
      "--epochs",
      "1",
      "--max_eval_samples",
      "20",
    ]);
    assert.equal(tune.code, 0, tune.stderr);
    assert.match(tune.stdout, /1 trials \(1 COMPLETE\)/);
    const report = await run(["report", "--run", "models-demo"]);
    assert.equal(report.code, 0, report.stderr);
    // Nothing of the sources was needed: the folder it ran in holds only its own outputs.
    assert.deepEqual((await Array.fromAsync(Deno.readDir(work))).map((e) => e.name).sort(), [
      "models-demo",
      "t",
    ]);
  });
});

/** Apparent bytes under `path`. */
async function bytesUnder(path: string): Promise<number> {
  let total = 0;
  for await (const e of Deno.readDir(path)) {
    const p = join(path, e.name);
    if (e.isDirectory) total += await bytesUnder(p);
    else if (e.isFile) total += (await Deno.stat(p)).size;
  }
  return total;
}

Deno.test("staged program: exactly the npm packages deno compile embeds, none test-only, within its size", async () => {
  await withTempDir(async (dir) => {
    const stage = join(dir, "stage");
    await stageProgram(stage);
    const npm = join(stage, "deno_dir", "npm", "registry.npmjs.org");
    const staged = new Set<string>();
    for await (const e of Deno.readDir(npm)) {
      if (!e.name.startsWith("@")) staged.add(e.name);
      else for await (const f of Deno.readDir(join(npm, e.name))) staged.add(`${e.name}/${f.name}`);
    }
    // deno compile with the compile task's own flags prints the files it embeds before it needs
    // its runtime; DENORT_BIN (this deno) stands in for the runtime it cannot download here.
    const { permissions, includes } = await compileTask();
    const compiled = await new Deno.Command(Deno.execPath(), {
      args: [
        "compile",
        "--exclude-unused-npm",
        ...permissions,
        ...includes.flatMap((f) => ["--include", f]),
        "--output",
        join(dir, "mrpc-tune"),
        "main.ts",
      ],
      cwd: REPO_ROOT,
      env: { DENORT_BIN: await Deno.realPath(Deno.execPath()), NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    const printed = dec.decode(compiled.stdout) + dec.decode(compiled.stderr);
    assert.ok(compiled.success, printed.slice(-2000));
    const embedded = embeddedPackages(printed);
    assert.ok(embedded.size > 10, printed.slice(0, 2000));
    assert.deepEqual([...staged].sort(), [...embedded].sort());
    // What only tests, scripts or the optional native backend use is in neither, nor any tfjs
    // package (the types of tfjs.d.ts are a type-only import).
    for (
      const name of [
        "playwright-core",
        "esbuild-wasm",
        "wabt",
        "hyparquet-writer",
        "@tensorflow/tfjs",
        "@tensorflow/tfjs-core",
        "@tensorflow/tfjs-backend-cpu",
        "@tensorflow/tfjs-backend-wasm",
        "@tensorflow/tfjs-layers",
        "@tensorflow/tfjs-converter",
        "@tensorflow/tfjs-data",
        "@tensorflow/tfjs-backend-webgl",
        "@tensorflow/tfjs-node",
        "@tensorflow/tfjs-node-gpu",
        "@wandb/sdk",
        "graphql",
      ]
    ) assert.ok(!staged.has(name), `${name} is staged`);
    // tfjs is the program's own backend/tfjs/ (deno task build:tfjs): its runtime files are
    // compile includes, staged with the sources.
    for (const file of TFJS_RUNTIME_FILES) {
      assert.ok(includes.includes(file), `deno task compile does not --include ${file}`);
      assert.ok(printed.includes(basename(file)), `deno compile does not embed ${file}`);
      await Deno.stat(join(stage, "app", file));
    }
    // Sizes: the targets, the program <= 200 MiB and its npm snapshot <= 60 MiB.
    const mib = (b: number) => b / 2 ** 20;
    const total = mib(await bytesUnder(stage)), snapshot = mib(await bytesUnder(npm));
    console.log(`staged program ${total.toFixed(1)} MiB, npm snapshot ${snapshot.toFixed(1)} MiB`);
    assert.ok(total <= 200, `staged program ${total.toFixed(1)} MiB`);
    assert.ok(snapshot <= 60, `npm snapshot ${snapshot.toFixed(1)} MiB`);
  });
});
