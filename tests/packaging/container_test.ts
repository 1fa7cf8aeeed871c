/**
 * The container contract, in a real Docker engine (Debian docker.io; `dockerd --bridge=none
 * --iptables=false`, everything `--network none` or the host's loopback). Base images cannot be
 * pulled here, so a Debian base is made from Debian packages (debootstrap, `docker import`) and the
 * Dockerfile's runtime stage is built on it in its CPU-only form with the program in the form that
 * can be built here (the staged program, scripts/stage_program.ts, in place of the compiled
 * binary). Then, as a user would: `--help`, a demo training run as a non-root user into a
 * bind-mounted folder owned by the calling user, `predict` on that model, exit codes passed
 * through, `docker stop` reaching the graceful stop, no secret in `docker history` or `docker
 * inspect`; and compose.yaml with Debian's docker-compose: two workers on one `--demo` study of 6
 * trials in Redis (an image of Debian's redis-server), one worker killed mid-trial, the other
 * resuming its trial, exactly 6 finished, Python Optuna reading the study from Redis, `best/` in
 * the shared volume. The engine is left as it was found: the test's images, containers, volumes
 * and build cache are removed, also when it fails. Skipped, saying why, where the engine,
 * debootstrap or docker-compose is missing or the daemon is not running (.ci/run installs and
 * starts them).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { stageProgram } from "../../scripts/stage_program.ts";
import {
  freePort,
  needsPython,
  REPO_ROOT,
  stepsIntoTrial,
  SYSTEM_PYTHON,
  waitFor,
  withTempDir,
} from "../_helpers.ts";

const DOCKER = "/usr/bin/docker";
const BASE = "local/debian:bookworm";
const PROGRAM = "local/mrpc-tune-program:test";
const IMAGE = "local/mrpc-tune:test";
const REDIS_IMAGE = "local/redis-debian:test";
const COMPOSE = "/usr/bin/docker-compose";
const MIRROR = "http://deb.debian.org/debian";

async function sh(
  cmd: string,
  args: string[],
  options: { stdin?: Uint8Array; env?: Record<string, string>; cwd?: string } = {},
) {
  const child = new Deno.Command(cmd, {
    args,
    env: { DOCKER_BUILDKIT: "1", ...options.env },
    cwd: options.cwd,
    stdin: options.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin) {
    const w = child.stdin.getWriter();
    await w.write(options.stdin);
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

const docker = (args: string[], options = {}) => sh(DOCKER, args, options);

/** Why the test cannot run here, or null. */
function unavailable(): string | null {
  for (const [path, pkg] of [[DOCKER, "docker.io"], ["/usr/sbin/debootstrap", "debootstrap"]]) {
    try {
      Deno.statSync(path);
    } catch {
      return `${path} is not installed (Debian package ${pkg})`;
    }
  }
  const info = new Deno.Command(DOCKER, { args: ["info"], stdout: "null", stderr: "null" })
    .outputSync();
  return info.success
    ? null
    : "the Docker daemon is not running (start: dockerd --bridge=none --iptables=false)";
}

const why = unavailable();
if (why) console.log(`SKIP "container contract": ${why}`);
const composeWhy = (() => {
  try {
    Deno.statSync(COMPOSE);
    return null;
  } catch {
    return `${COMPOSE} is not installed (Debian package docker-compose)`;
  }
})();
if (!why && composeWhy) console.log(`SKIP "container: compose": ${composeWhy}`);

async function imageExists(name: string): Promise<boolean> {
  return (await docker(["image", "inspect", name])).code === 0;
}

/** An image made from a debootstrapped Debian (with `include`d packages), unless it exists. */
async function debootstrapImage(
  dir: string,
  name: string,
  options: { include?: string[]; cmd?: string[] } = {},
): Promise<boolean> {
  if (await imageExists(name)) return false;
  const rootfs = join(dir, `rootfs-${name.replace(/\W/g, "-")}`);
  const include = options.include ? [`--include=${options.include.join(",")}`] : [];
  const boot = await sh("/usr/sbin/debootstrap", [
    "--variant=minbase",
    ...include,
    "bookworm",
    rootfs,
    MIRROR,
  ]);
  assert.equal(boot.code, 0, `debootstrap: ${boot.stderr.slice(-2000)}`);
  const tar = join(dir, "rootfs.tar");
  const packed = await sh("tar", ["-C", rootfs, "-c", "-f", tar, "."]);
  assert.equal(packed.code, 0, packed.stderr);
  const change = options.cmd ? ["--change", `CMD ${JSON.stringify(options.cmd)}`] : [];
  const imported = await docker(["import", ...change, tar, name]);
  assert.equal(imported.code, 0, imported.stderr);
  await Deno.remove(rootfs, { recursive: true }).catch(() => {});
  await Deno.remove(tar).catch(() => {});
  return true;
}

/** The engine's build cache entries, as `docker system df` counts them. */
async function buildCacheEntries(): Promise<number> {
  const df = await docker(["system", "df", "--format", "{{.Type}}\t{{.TotalCount}}"]);
  const line = df.stdout.split("\n").find((l) => l.startsWith("Build Cache"));
  return line ? Number(line.split("\t")[1]) : 0;
}

/** Removes what the test made: its images (the base only if it made it) and new build cache. */
async function cleanUp(made: string[], cacheBefore: number): Promise<void> {
  for (const image of made) await docker(["rmi", "-f", image]);
  if (cacheBefore === 0) await docker(["builder", "prune", "-a", "-f"]);
  else {
    console.log(
      `container test: the engine had ${cacheBefore} build cache entries before; ` +
        "the test's are left with them (docker builder prune removes them)",
    );
  }
}

Deno.test({
  name: "container: the image, as a user runs it, and compose.yaml's workers on one study",
  ignore: why !== null,
  fn: (t) =>
    withTempDir(async (dir) => {
      const made: string[] = [];
      const cacheBefore = await buildCacheEntries();
      try {
        if (await debootstrapImage(dir, BASE)) made.push(BASE);
        // The program stage: the staged program in /out/, as the build stage leaves the binary.
        const stage = join(dir, "stage");
        await stageProgram(stage);
        await Deno.writeTextFile(join(stage, "Dockerfile"), `FROM ${BASE}\nCOPY . /out/\n`);
        made.push(PROGRAM);
        const program = await docker(["build", "--network", "none", "-t", PROGRAM, stage]);
        assert.equal(program.code, 0, program.stderr.slice(-3000));
        made.push(IMAGE);
        const built = await docker([
          "build",
          "--network",
          "none",
          "--target",
          "runtime",
          "--build-arg",
          `RUNTIME_IMAGE=${BASE}`,
          "--build-arg",
          "CUDA_LIBS=no-cuda-libs",
          "--build-arg",
          `PROGRAM_FROM=${PROGRAM}`,
          "-t",
          IMAGE,
          REPO_ROOT,
        ]);
        assert.equal(built.code, 0, built.stderr.slice(-3000));
        const size = Number((await docker(["image", "inspect", "-f", "{{.Size}}", IMAGE])).stdout);
        const base = Number((await docker(["image", "inspect", "-f", "{{.Size}}", BASE])).stdout);
        // The program's layer: the COPY of /out/ (the staged program), at most 200 MiB.
        const history = await docker([
          "history",
          "--human=false",
          "--no-trunc",
          "--format",
          "{{.Size}}\t{{.CreatedBy}}",
          IMAGE,
        ]);
        const programLayer = history.stdout.split("\n").map((l) => l.split("\t"))
          .find(([, by]) => / \/opt\/mrpc-tune\/ /.test(by ?? "") && /COPY/.test(by ?? ""));
        assert.ok(programLayer, history.stdout);
        const layerMiB = Number(programLayer[0]) / 2 ** 20;
        console.log(
          `image ${IMAGE}: ${(size / 2 ** 20).toFixed(0)} MiB (base ${
            (base / 2 ** 20).toFixed(0)
          } MiB, program layer ${layerMiB.toFixed(1)} MiB)`,
        );
        assert.ok(layerMiB <= 200, `program layer ${layerMiB.toFixed(1)} MiB`);

        await t.step(
          "the image trains, predicts, passes exit codes and stops gracefully",
          async () => {
            // The calling user owns the mounted folder; the container runs as that user.
            const uid = Deno.uid() === 0 ? 1000 : Deno.uid()!,
              gid = Deno.uid() === 0 ? 1000 : Deno.gid()!;
            const host = join(dir, "work");
            await Deno.mkdir(host);
            if (Deno.uid() === 0) await Deno.chown(host, uid, gid);
            // As the calling user, the host folder mounted as the working directory, no network.
            const asUser = ["--network", "none", "-u", `${uid}:${gid}`, "-v", `${host}:/work`];
            const run = (args: string[], extra: string[] = []) =>
              docker([
                "run",
                "--rm",
                ...asUser,
                ...extra,
                IMAGE,
                ...args,
              ]);

            const help = await docker(["run", "--rm", "--network", "none", IMAGE]);
            assert.equal(help.code, 0, help.stderr);
            assert.match(help.stdout, /Usage: mrpc-tune <command>/);
            const version = await docker(["run", "--rm", "--network", "none", IMAGE, "--version"]);
            assert.match(version.stdout, /^mrpc-tune \d+\.\d+\.\d+ \(commit /);

            // `docker run IMG --demo --checkpoint_dir models …`: the first argument a flag → train.
            const train = await run([
              "--demo",
              "--checkpoint_dir",
              "models",
              "--max_steps",
              "20",
              "--max_eval_samples",
              "40",
              "--wandb_mode",
              "offline",
            ]);
            assert.equal(train.code, 0, train.stderr);
            const weights = join(host, "models", "model.safetensors");
            const stat = await Deno.stat(weights);
            assert.equal(stat.uid, uid, "the files belong to the calling user");
            assert.ok((stat.mode! & 0o400) !== 0, "and the calling user can read them");

            // `predict` on that model.
            await Deno.writeTextFile(
              join(host, "pairs.tsv"),
              "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tthe mayor signed the reform .\tthe reform was signed by the mayor .\n",
            );
            const predicted = await run(["predict", "--model", "models", "--input", "pairs.tsv"]);
            assert.equal(predicted.code, 0, predicted.stderr);
            assert.match(predicted.stdout, /"label": ?[01]/);

            // Exit codes pass through: 2 on a bad flag, one line.
            const bad = await run(["--lr", "fast"]);
            assert.equal(bad.code, 2);
            assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
            assert.match(bad.stderr, /^error: Invalid value for --lr: "fast"/);

            // `docker stop` sends SIGTERM to the program (PID 1): it saves a checkpoint and exits 143.
            const name = `mrpc-tune-stop-${Deno.pid}`;
            const started = await docker([
              "run",
              "-d",
              "--name",
              name,
              ...asUser,
              "-e",
              "WANDB_API_KEY=wandb-canary-container-0123456789",
              IMAGE,
              "--demo",
              "--checkpoint_dir",
              "long",
              "--epochs",
              "40",
              "--logging_steps",
              "5",
              "--wandb_mode",
              "offline",
            ]);
            assert.equal(started.code, 0, started.stderr);
            try {
              for (let i = 0; i < 600; i++) {
                const logs = await docker(["logs", name]);
                if (/step \d+\/\d+/.test(logs.stderr)) break;
                await new Promise((r) => setTimeout(r, 100));
              }
              const stopped = await docker(["stop", "-t", "60", name]);
              assert.equal(stopped.code, 0, stopped.stderr);
              const code = Number(
                (await docker(["inspect", "-f", "{{.State.ExitCode}}", name])).stdout,
              );
              const logs = await docker(["logs", name]);
              assert.equal(code, 143, logs.stderr.slice(-2000));
              assert.match(logs.stderr, /SIGTERM: finishing this step and saving a checkpoint/);
              const saved = (await Array.fromAsync(Deno.readDir(join(host, "long")))).map((e) =>
                e.name
              );
              assert.ok(saved.some((n) => /^checkpoint-\d+$/.test(n)), `a checkpoint: ${saved}`);
              // The key given at run time is in that container's config, and in no image.
              const history = await docker(["history", "--no-trunc", IMAGE]);
              const inspect = await docker(["image", "inspect", IMAGE]);
              for (const text of [history.stdout, inspect.stdout]) {
                assert.doesNotMatch(text, /wandb-canary|WANDB_API_KEY|HF_TOKEN/);
              }
              const files = await sh("grep", ["-rl", "wandb-canary-container", host]);
              assert.equal(files.stdout, "", "the key reached no file of the run");
            } finally {
              await docker(["rm", "-f", name]);
            }
          },
        );

        await t.step({
          name: "compose: two workers run one study to exactly 6; one killed mid-trial is resumed",
          ignore: composeWhy !== null,
          fn: async () => {
            if (
              await debootstrapImage(dir, REDIS_IMAGE, {
                include: ["redis-server"],
                cmd: ["redis-server"],
              })
            ) made.push(REDIS_IMAGE);
            await composeStudy(dir);
          },
        });
      } finally {
        await cleanUp(made, cacheBefore);
      }
    }),
});

/** `docker logs` of a container, stdout and stderr together. */
async function logsOf(name: string): Promise<string> {
  const out = await docker(["logs", name]);
  return out.stdout + out.stderr;
}

/**
 * compose.yaml, as a user runs it (`up --scale worker=2`), with an override for this machine:
 * the host's network (no bridge here) and Redis on a free loopback port, from an image of
 * Debian's redis-server. A `--demo` study of 6 trials; worker 1 is killed once its trial has
 * saved a checkpoint; worker 2 resumes that trial and the study ends with exactly 6 finished.
 */
async function composeStudy(dir: string): Promise<void> {
  const port = freePort();
  const project = `mrpctunetest${Deno.pid}`;
  const override = join(dir, "compose.override.yaml");
  await Deno.writeTextFile(
    override,
    `services:
  redis:
    network_mode: host
    command: ["redis-server", "--port", "${port}", "--bind", "127.0.0.1", "--appendonly", "yes", "--dir", "/data"]
    healthcheck:
      test: ["CMD", "redis-cli", "-p", "${port}", "ping"]
  worker:
    network_mode: host
`,
  );
  const storage = `redis://127.0.0.1:${port}/0`;
  const env = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: dir,
    REDIS_IMAGE,
    MRPC_TUNE_IMAGE: IMAGE,
    MRPC_TUNE_STORAGE: storage,
    STUDY_NAME: "s",
    N_TRIALS: "6",
    TUNE_ARGS: [
      "--demo --max_train_samples 400 --epochs 2 --batch_size 8 --eval_steps 10",
      "--logging_steps 5 --max_eval_samples 40 --wandb_mode offline",
      "--heartbeat_interval 1 --grace_period 5",
    ].join(" "),
  };
  const compose = (args: string[]) =>
    sh(COMPOSE, ["-p", project, "-f", join(REPO_ROOT, "compose.yaml"), "-f", override, ...args], {
      env,
      cwd: REPO_ROOT,
    });
  const worker = (n: number) => `${project}_worker_${n}`;
  try {
    const up = await compose(["up", "-d", "--scale", "worker=2"]);
    assert.equal(up.code, 0, up.stderr);
    // Kill worker 1 once its trial is past its first checkpoint (step 10 of 100; logged every 5).
    await waitFor(
      async () => (stepsIntoTrial(await logsOf(worker(1))) ?? 0) >= 3,
      "worker 1's first checkpoint",
      { timeoutMs: 600_000, everyMs: 250 },
    );
    const killedLogs = await logsOf(worker(1));
    const killedTrial = Number([...killedLogs.matchAll(/^Trial (\d+) started/gm)].at(-1)![1]);
    assert.equal((await docker(["kill", worker(1)])).code, 0);
    const exited = async (name: string) =>
      (await docker(["inspect", "-f", "{{.State.Status}}", name])).stdout.trim() === "exited";
    await waitFor(() => exited(worker(2)), "worker 2 to finish the study", {
      timeoutMs: 900_000,
      everyMs: 250,
    });
    const logs2 = await logsOf(worker(2));
    const code2 = (await docker(["inspect", "-f", "{{.State.ExitCode}}", worker(2)])).stdout.trim();
    assert.equal(code2, "0", logs2.slice(-3000));
    // Worker 2 (or worker 1, if the engine restarted it) resumed the killed trial.
    const all = logs2 + (await logsOf(worker(1)));
    assert.match(
      all,
      new RegExp(`^Trial \\d+ started: .*\\(resuming trial ${killedTrial} from `, "m"),
      all.slice(-3000),
    );
    assert.match(logs2, /^Study "s": \d+ trials \(.*\b6 COMPLETE\b/m, logs2.slice(-2000));

    // Python Optuna reads the study from Redis: 6 COMPLETE, distinct numbers, the killed one FAIL.
    if (!needsPython(["optuna", "redis"], "compose: Python reads the study")) {
      const py = await sh(SYSTEM_PYTHON, [
        join(REPO_ROOT, "tests", "tune", "_optuna.py"),
        "dump",
        storage,
        "s",
      ]);
      assert.equal(py.code, 0, py.stderr);
      const trials: { number: number; state: string }[] = JSON.parse(py.stdout).trials;
      const complete = trials.filter((x) => x.state === "COMPLETE");
      assert.equal(complete.length, 6, py.stdout.slice(0, 2000));
      assert.equal(new Set(complete.map((x) => x.number)).size, 6);
      assert.equal(trials.find((x) => x.number === killedTrial)?.state, "FAIL");
    }
    // best/ is in the shared volume.
    const best = await docker([
      "run",
      "--rm",
      "--network",
      "none",
      "-v",
      `${project}_checkpoints:/models`,
      "--entrypoint",
      "ls",
      IMAGE,
      "/models/s/best",
    ]);
    assert.equal(best.code, 0, best.stderr);
    assert.match(best.stdout, /model\.safetensors/);
    assert.match(best.stdout, /config\.json/);
  } finally {
    const down = await compose(["down", "-v", "--remove-orphans", "-t", "5"]);
    if (down.code !== 0) console.log(`compose down: ${down.stderr.trim()}`);
  }
}
