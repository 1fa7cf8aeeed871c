/**
 * The many-worker deployments, parsed (no engine, no cluster): compose.yaml and the Kubernetes
 * manifests in deploy/kubernetes/. Their worker arguments are accepted by `tune`'s own flag
 * parser, the checkpoint volume is where `--checkpoint_dir` points and is shared (ReadWriteMany),
 * the storage host is the Redis service, Redis persists, the Job runs N workers on one study, and
 * no file holds a secret's value. compose.yaml also runs in a real engine in container_test.ts;
 * the Kubernetes manifests cannot run here (no cluster).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import { parseOptions, TUNE_OPTIONS } from "../../cli/mod.ts";
import { REPO_ROOT } from "../_helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

/** Compose's `${VAR:-default}` interpolation with an empty environment (the defaults). */
function interpolate(text: string, env: Record<string, string> = {}): string {
  return text.replace(/\$\{(\w+)(?::-([^}]*))?\}/g, (_, name, dflt) => env[name] ?? dflt ?? "");
}

const SECRET_VALUE = /(WANDB_API_KEY|HF_TOKEN)\s*[=:]\s*["']?[A-Za-z0-9]/;

Deno.test("compose.yaml: redis with persistence, workers running tune on it, a shared volume", async () => {
  const text = await Deno.readTextFile(join(REPO_ROOT, "compose.yaml"));
  assert.doesNotMatch(text, SECRET_VALUE);
  const compose = parseYaml(interpolate(text)) as Json;
  assert.deepEqual(Object.keys(compose.services).sort(), ["redis", "worker"]);
  const redis = compose.services.redis, worker = compose.services.worker;
  assert.deepEqual(redis.command.slice(0, 3), ["redis-server", "--appendonly", "yes"]);
  assert.ok(redis.volumes.includes("redis-data:/data"));
  assert.ok(redis.healthcheck.test.includes("ping"));
  assert.equal(worker.depends_on.redis.condition, "service_healthy");
  assert.equal(worker.init, true, "tune starts a process per trial: an init reaps them");
  // The command is tune's, with flags tune accepts, on the Redis service, into the volume.
  const args = (worker.command as string).trim().split(/\s+/);
  assert.equal(args[0], "tune");
  const values = parseOptions(TUNE_OPTIONS, args.slice(1));
  assert.equal(values.storage, "redis://redis:6379/0");
  assert.equal(values.n_trials, 20);
  assert.equal(values.study_name, "mrpc-tune");
  assert.ok(worker.volumes.includes(`checkpoints:${values.checkpoint_dir}`));
  assert.ok("checkpoints" in compose.volumes && "redis-data" in compose.volumes);
  // Secrets pass through by name only.
  assert.ok(worker.environment.includes("WANDB_API_KEY"));
  assert.ok(worker.environment.includes("HF_TOKEN"));
  // The study flags come from the environment.
  const custom = parseYaml(
    interpolate(text, { N_TRIALS: "6", STUDY_NAME: "s", TUNE_ARGS: "--demo --pruner median" }),
  ) as Json;
  const customArgs = (custom.services.worker.command as string).trim().split(/\s+/).slice(1);
  const customValues = parseOptions(TUNE_OPTIONS, customArgs);
  assert.equal(customValues.n_trials, 6);
  assert.equal(customValues.study_name, "s");
  assert.equal(customValues.demo, true);
  assert.equal(customValues.pruner, "median");
});

Deno.test("deploy/kubernetes: Redis with a Service and a volume; an Indexed Job of N tune workers on a ReadWriteMany volume", async () => {
  const docs = async (file: string) => {
    const text = await Deno.readTextFile(join(REPO_ROOT, "deploy", "kubernetes", file));
    assert.doesNotMatch(text, SECRET_VALUE);
    const parsed = parseAllDocuments(text);
    for (const d of parsed) assert.deepEqual(d.errors, [], `${file}: ${d.errors}`);
    return parsed.map((d) => d.toJS() as Json);
  };
  const redis = await docs("redis.yaml");
  const study = await docs("study.yaml");
  assert.deepEqual(redis.map((d) => d.kind), ["PersistentVolumeClaim", "Deployment", "Service"]);
  assert.deepEqual(study.map((d) => d.kind), ["PersistentVolumeClaim", "Job"]);
  for (const d of [...redis, ...study]) {
    assert.ok(typeof d.apiVersion === "string" && d.metadata?.name, JSON.stringify(d).slice(0, 80));
  }
  const [redisPvc, deployment, service] = redis;
  const redisPod = deployment.spec.template.spec;
  assert.deepEqual(redisPod.containers[0].args.slice(0, 3), [
    "redis-server",
    "--appendonly",
    "yes",
  ]);
  assert.equal(redisPod.volumes[0].persistentVolumeClaim.claimName, redisPvc.metadata.name);
  assert.deepEqual(service.spec.selector, deployment.spec.selector.matchLabels);
  assert.deepEqual(deployment.spec.template.metadata.labels, deployment.spec.selector.matchLabels);
  assert.equal(service.spec.ports[0].port, 6379);

  const [checkpoints, job] = study;
  assert.deepEqual(checkpoints.spec.accessModes, ["ReadWriteMany"]);
  assert.equal(job.spec.completionMode, "Indexed");
  assert.ok(job.spec.parallelism > 1);
  assert.equal(job.spec.completions, job.spec.parallelism);
  const pod = job.spec.template.spec;
  assert.equal(pod.restartPolicy, "OnFailure");
  assert.ok(pod.terminationGracePeriodSeconds >= 60, "time to finish a step and save");
  const worker = pod.containers[0];
  assert.equal(worker.args[0], "tune");
  const values = parseOptions(TUNE_OPTIONS, worker.args.slice(1));
  assert.equal(values.storage, `redis://${service.metadata.name}:6379/0`);
  const mount = worker.volumeMounts.find((m: Json) => m.mountPath === values.checkpoint_dir);
  const volume = pod.volumes.find((v: Json) => v.name === mount.name);
  assert.equal(volume.persistentVolumeClaim.claimName, checkpoints.metadata.name);
  // The image's user (Dockerfile USER_UID) and the pod's, so that both can write the volume.
  const dockerfile = await Deno.readTextFile(join(REPO_ROOT, "Dockerfile"));
  const uid = Number(/ARG USER_UID=(\d+)/.exec(dockerfile)![1]);
  assert.equal(pod.securityContext.runAsUser, uid);
  assert.equal(pod.securityContext.fsGroup, uid);
  // The W&B key from a Secret, never a value.
  const key = worker.env.find((e: Json) => e.name === "WANDB_API_KEY");
  assert.equal(key.value, undefined);
  assert.equal(key.valueFrom.secretKeyRef.key, "WANDB_API_KEY");
});
