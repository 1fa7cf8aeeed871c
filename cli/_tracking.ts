/**
 * Starting the tracking of a training run from the CLI (folder-private): the W&B settings from
 * the run's flags, the environment and `~/.netrc`, the run id (WANDB_RUN_ID, else the resumed
 * checkpoint's, else a new one), and the record's metadata.
 *
 * @module
 */
import os from "node:os";
import { join } from "node:path";
import type { BackendInfo } from "../backend/mod.ts";
import { tf } from "../backend/mod.ts";
import {
  newRunId,
  resolveWandbSettings,
  type RunMeta,
  RunTracker,
  type WandbFlags,
  type WandbSettings,
} from "../tracking/mod.ts";
import type { TrainConfig, TrainSetup } from "../train/mod.ts";
import type { Env } from "./command.ts";
import { PROGRAM, programCommit, VERSION } from "./version.ts";

/** The run's W&B flags as tracking/ takes them. */
export function wandbFlags(config: TrainConfig): WandbFlags {
  return {
    mode: config.wandb_mode,
    project: config.wandb_project,
    entity: config.wandb_entity,
    name: config.run_name,
    group: config.wandb_group,
    tags: config.wandb_tags,
    jobType: config.wandb_job_type,
  };
}

/** `~/.netrc` (or `$NETRC`), where `wandb login` keeps the API key; null when absent. */
export async function readNetrc(env: Env): Promise<string | null> {
  const path = env.NETRC ?? (env.HOME ? join(env.HOME, ".netrc") : null);
  return path ? await Deno.readTextFile(path).catch(() => null) : null;
}

/** W&B settings of a run with `config` in environment `env`. */
export async function wandbSettings(config: TrainConfig, env: Env): Promise<WandbSettings> {
  return resolveWandbSettings(wandbFlags(config), env, { netrc: await readNetrc(env) });
}

/** The command that uploads a record, for messages. */
export function syncCommand(recordDir: string): string {
  return `\`deno task sync ${recordDir}\` (or \`mrpc-tune sync ${recordDir}\`)`;
}

/** A run record's `meta.json` as a run starts: the program, its build, the machine, the command. */
export async function runMeta(
  env: Env,
  run: { backend: string; gpu: boolean; command: string },
): Promise<RunMeta> {
  return {
    program: PROGRAM,
    version: VERSION,
    commit: await programCommit(env),
    deno: Deno.version.deno,
    tfjs: tf.version_core,
    backend: run.backend,
    gpu: run.gpu,
    host: os.hostname(),
    command: run.command,
    started: new Date().toISOString(),
    ended: null,
    exit_code: null,
  };
}

/** Starts the tracking of the run `setup` prepares, on `backend`. */
export async function startTracking(
  setup: TrainSetup,
  options: {
    settings: WandbSettings;
    backend: BackendInfo;
    env: Env;
    command: string;
    log: (line: string) => void;
  },
): Promise<RunTracker> {
  const { config } = setup;
  const runId = options.settings.runId ?? setup.resume?.state.run_id ?? newRunId();
  return await RunTracker.start({
    runsDir: join(config.checkpoint_dir, "runs"),
    runId,
    config: {
      ...config,
      ...(options.env.MRPC_TUNE_TRIAL_NUMBER
        ? { trial_number: Number(options.env.MRPC_TUNE_TRIAL_NUMBER) }
        : {}),
    },
    meta: await runMeta(options.env, {
      backend: options.backend.name,
      gpu: options.backend.gpu,
      command: options.command,
    }),
    settings: options.settings,
    resumeStep: setup.resume?.state.global_step,
    syncCommand,
    intervalMs: Number(options.env.MRPC_TUNE_WANDB_INTERVAL_MS ?? 2000),
    log: options.log,
  });
}
