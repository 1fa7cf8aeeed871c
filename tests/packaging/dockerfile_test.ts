/**
 * Static checks of the Dockerfile (no engine needed): ENTRYPOINT in exec form, the last USER not
 * root, no secret-looking ARG or ENV, every COPY source present, the binary built by `deno task
 * compile`, the default runtime base CUDA 11.2's `-base` with exactly the libraries libtensorflow
 * 2.9.1 (tfjs-node-gpu 4.22) loads, copied from the cuDNN 8 image, and
 * a .dockerignore that keeps secrets and build output out of the context.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT } from "../_helpers.ts";

/** The Dockerfile's instructions: continuation lines joined, comments dropped. */
async function instructions(): Promise<{ op: string; args: string }[]> {
  const text = await Deno.readTextFile(join(REPO_ROOT, "Dockerfile"));
  const joined = text.split("\n").filter((l) => !l.trimStart().startsWith("#")).join("\n")
    .replace(/\\\n/g, " ");
  return joined.split("\n").filter((l) => l.trim() !== "").map((l) => {
    const m = /^\s*(\w+)\s+(.*)$/.exec(l)!;
    return { op: m[1].toUpperCase(), args: m[2].trim() };
  });
}

Deno.test("Dockerfile: exec-form ENTRYPOINT, a non-root final user, no secret in ARG or ENV", async () => {
  const ins = await instructions();
  const entry = ins.filter((i) => i.op === "ENTRYPOINT").at(-1)!;
  assert.ok(entry, "an ENTRYPOINT");
  const argv = JSON.parse(entry.args);
  assert.ok(Array.isArray(argv) && argv.length === 1, "exec form, the program alone");
  assert.equal(argv[0], "/usr/local/bin/mrpc-tune");
  const users = ins.filter((i) => i.op === "USER");
  const last = users.at(-1)!.args;
  assert.ok(!["root", "0", "0:0"].includes(last), `final USER ${last}`);
  assert.ok(
    ins.findIndex((i) => i === users.at(-1)) >
      ins.findIndex((i) => i.op === "FROM" && /AS runtime/i.test(i.args)),
  );
  const secret = /(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)/i;
  for (const i of ins.filter((i) => i.op === "ARG" || i.op === "ENV")) {
    const names = i.op === "ARG"
      ? [i.args.split("=")[0]]
      : [...i.args.matchAll(/(\w+)=/g)].map((m) => m[1]);
    for (const n of names) assert.doesNotMatch(n, secret, `${i.op} ${n}`);
  }
  assert.doesNotMatch(
    await Deno.readTextFile(join(REPO_ROOT, "Dockerfile")),
    /WANDB_API_KEY=|HF_TOKEN=/,
  );
});

Deno.test("Dockerfile: COPY sources exist, deno task compile builds it, the CUDA 11.2 base", async () => {
  const ins = await instructions();
  for (const c of ins.filter((i) => i.op === "COPY" && !i.args.includes("--from="))) {
    const parts = c.args.split(/\s+/).filter((p) => !p.startsWith("--"));
    for (const src of parts.slice(0, -1)) {
      await Deno.stat(join(REPO_ROOT, src)); // throws when missing
    }
  }
  const runs = ins.filter((i) => i.op === "RUN").map((i) => i.args).join("\n");
  assert.match(runs, /deno task compile:native/);
  assert.match(runs, /npm install -g deno@\$\{DENO_VERSION\}/);
  assert.match(runs, /--allow-scripts=npm:@tensorflow\/tfjs-node-gpu/);
  const deno = JSON.parse(await Deno.readTextFile(join(REPO_ROOT, "deno.json")));
  for (const task of [deno.tasks.compile, deno.tasks["compile:native"]]) {
    assert.match(task, /deno compile .*--include tracking\/_upload_worker\.ts/);
    assert.match(task, /--output dist\/mrpc-tune main\.ts$/);
  }
  // The two compile forms differ only in where the npm packages come from.
  assert.match(deno.tasks.compile, /deno compile --exclude-unused-npm /);
  assert.equal(
    deno.tasks["compile:native"],
    deno.tasks.compile.replace("--exclude-unused-npm", "--node-modules-dir=auto"),
  );
  const args = Object.fromEntries(
    ins.filter((i) => i.op === "ARG" && i.args.includes("=")).map((i) => i.args.split("=")),
  );
  assert.equal(args.RUNTIME_IMAGE, "nvidia/cuda:11.2.2-base-ubuntu20.04");
  assert.equal(args.CUDA_LIBS_IMAGE, "nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04");
  assert.equal(args.CUDA_LIBS, "cuda-libs");
  // Exactly what libtensorflow 2.9.1's dso_loader opens (CUDA 11.2 build: cudart 11.0, cublas 11,
  // cublasLt 11, cufft 10, curand 10, cusolver 11, cusparse 11, cudnn 8), and cuDNN 8's parts.
  const copied = runs.match(/for lib in ([^;]+); do/)![1].trim().split(/\s+/).sort();
  assert.deepEqual(copied, [
    "libcublas.so.11",
    "libcublasLt.so.11",
    "libcudart.so.11.0",
    "libcudnn.so.8",
    "libcudnn_adv_infer.so.8",
    "libcudnn_adv_train.so.8",
    "libcudnn_cnn_infer.so.8",
    "libcudnn_cnn_train.so.8",
    "libcudnn_ops_infer.so.8",
    "libcudnn_ops_train.so.8",
    "libcufft.so.10",
    "libcurand.so.10",
    "libcusolver.so.11",
    "libcusparse.so.11",
  ]);
  assert.ok(ins.some((i) => i.op === "FROM" && i.args === "${CUDA_LIBS_IMAGE} AS cuda-libs"));
  assert.ok(ins.some((i) => i.op === "FROM" && i.args === "${CUDA_LIBS} AS cuda"));
  assert.ok(
    ins.some((i) =>
      i.op === "COPY" && i.args === "--from=cuda /cuda-libs/ /opt/mrpc-tune/cuda-libs/"
    ),
  );
  assert.equal(args.DENO_VERSION, "2.9.6");
  assert.ok(ins.some((i) => i.op === "FROM" && i.args === "${RUNTIME_IMAGE} AS runtime"));
  assert.match(
    ins.filter((i) => i.op === "ENV").map((i) => i.args).join(" "),
    /TF_FORCE_GPU_ALLOW_GROWTH=true/,
  );
  const ignore = (await Deno.readTextFile(join(REPO_ROOT, ".dockerignore"))).split("\n");
  for (const p of [".git", "**/node_modules", "dist", "models", "build_info.json"]) {
    assert.ok(ignore.includes(p), `.dockerignore has ${p}`);
  }
});
