/**
 * The container contract, in a real Docker engine (Debian docker.io; `dockerd --bridge=none
 * --iptables=false`, everything `--network none`). Base images cannot be pulled here, so a Debian
 * base is made from Debian packages (debootstrap, `docker import`) and the Dockerfile's runtime
 * stage is built on it with the program in the form that can be built here (the staged program,
 * scripts/stage_program.ts, in place of the compiled binary). Then, as a user would: `--help`,
 * a demo training run as a non-root user into a bind-mounted folder owned by the calling user,
 * `predict` on that model, exit codes passed through, `docker stop` reaching the graceful stop,
 * no secret in `docker history` or `docker inspect`. Skipped, saying why, where the engine or
 * debootstrap is missing or the daemon is not running (.ci/run installs and starts them).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { stageProgram } from "../../scripts/stage_program.ts";
import { REPO_ROOT, withTempDir } from "../_helpers.ts";

const DOCKER = "/usr/bin/docker";
const BASE = "local/debian:bookworm";
const PROGRAM = "local/mrpc-tune-program:test";
const IMAGE = "local/mrpc-tune:test";
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

async function imageExists(name: string): Promise<boolean> {
  return (await docker(["image", "inspect", name])).code === 0;
}

/** The Debian base, made once from Debian's packages (kept for later runs). */
async function ensureBase(dir: string): Promise<void> {
  if (await imageExists(BASE)) return;
  const rootfs = join(dir, "rootfs");
  const boot = await sh("/usr/sbin/debootstrap", ["--variant=minbase", "bookworm", rootfs, MIRROR]);
  assert.equal(boot.code, 0, `debootstrap: ${boot.stderr.slice(-2000)}`);
  const tar = await sh("tar", ["-C", rootfs, "-c", "-f", join(dir, "rootfs.tar"), "."]);
  assert.equal(tar.code, 0, tar.stderr);
  const imported = await docker(["import", join(dir, "rootfs.tar"), BASE]);
  assert.equal(imported.code, 0, imported.stderr);
  await Deno.remove(rootfs, { recursive: true }).catch(() => {});
}

Deno.test({
  name:
    "container: the image trains, predicts, passes exit codes and stops gracefully, as a user would",
  ignore: why !== null,
  fn: () =>
    withTempDir(async (dir) => {
      await ensureBase(dir);
      // The program stage: the staged program in /out/, as the build stage leaves the binary.
      const stage = join(dir, "stage");
      await stageProgram(stage);
      await Deno.writeTextFile(join(stage, "Dockerfile"), `FROM ${BASE}\nCOPY . /out/\n`);
      const program = await docker(["build", "--network", "none", "-t", PROGRAM, stage]);
      assert.equal(program.code, 0, program.stderr.slice(-3000));
      const built = await docker([
        "build",
        "--network",
        "none",
        "--target",
        "runtime",
        "--build-arg",
        `RUNTIME_IMAGE=${BASE}`,
        "--build-arg",
        `PROGRAM_FROM=${PROGRAM}`,
        "-t",
        IMAGE,
        REPO_ROOT,
      ]);
      assert.equal(built.code, 0, built.stderr.slice(-3000));
      const size = Number((await docker(["image", "inspect", "-f", "{{.Size}}", IMAGE])).stdout);
      const base = Number((await docker(["image", "inspect", "-f", "{{.Size}}", BASE])).stdout);
      console.log(
        `image ${IMAGE}: ${(size / 2 ** 20).toFixed(0)} MiB (base ${
          (base / 2 ** 20).toFixed(0)
        } MiB)`,
      );

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
        const code = Number((await docker(["inspect", "-f", "{{.State.ExitCode}}", name])).stdout);
        const logs = await docker(["logs", name]);
        assert.equal(code, 143, logs.stderr.slice(-2000));
        assert.match(logs.stderr, /SIGTERM: finishing this step and saving a checkpoint/);
        const saved = (await Array.fromAsync(Deno.readDir(join(host, "long")))).map((e) => e.name);
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
    }),
});
