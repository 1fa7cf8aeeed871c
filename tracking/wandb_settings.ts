/**
 * Which W&B run a training logs to, resolved the way W&B users know it: flags win over the
 * environment (WANDB_MODE, WANDB_PROJECT, WANDB_ENTITY, WANDB_NAME, WANDB_RUN_GROUP, WANDB_TAGS,
 * WANDB_JOB_TYPE, WANDB_BASE_URL, WANDB_RUN_ID, WANDB_SWEEP_ID), which wins over the defaults.
 * The API key comes from WANDB_API_KEY or `~/.netrc` (the machine of the base URL, as `wandb
 * login` writes it). Without a key the default mode is offline, and a note says how to turn
 * online logging on. Pure: the caller passes the environment and the netrc text.
 *
 * @module
 */
import { InputError } from "../core/mod.ts";

/** `--wandb_mode`. */
export type WandbMode = "online" | "offline" | "disabled";

/** Every accepted mode. */
export const WANDB_MODES: readonly WandbMode[] = ["online", "offline", "disabled"];

/** W&B's cloud API. */
export const DEFAULT_WANDB_BASE_URL = "https://api.wandb.ai";

/** The project runs go to when none is given. */
export const DEFAULT_WANDB_PROJECT = "mrpc-tune";

/** The run settings as the flags give them (undefined: not given). */
export interface WandbFlags {
  readonly mode?: WandbMode;
  readonly project?: string;
  readonly entity?: string;
  readonly name?: string;
  readonly group?: string;
  /** Comma-separated. */
  readonly tags?: string;
  readonly jobType?: string;
}

/** Resolved settings of one W&B run. Holds the API key: never log or store it. */
export interface WandbSettings {
  readonly mode: WandbMode;
  readonly project: string;
  /** The entity, or null for the key's default entity (asked from the server when online). */
  readonly entity: string | null;
  /** Display name, or null for the run id. */
  readonly name: string | null;
  readonly group: string | null;
  readonly tags: readonly string[];
  readonly jobType: string | null;
  /** API base URL without a trailing slash. */
  readonly baseUrl: string;
  readonly apiKey: string | null;
  /** WANDB_RUN_ID: join this run (a sweep agent sets it). */
  readonly runId: string | null;
  /** WANDB_SWEEP_ID: attach the run to this sweep. */
  readonly sweepId: string | null;
  /** One line for the user when the mode was chosen for them (no key: offline), else null. */
  readonly note: string | null;
}

function value(env: Readonly<Record<string, string | undefined>>, name: string): string | null {
  const v = env[name]?.trim();
  return v ? v : null;
}

/** The password of `machine host` in netrc text, or null. */
export function netrcPassword(text: string | null, host: string): string | null {
  if (!text) return null;
  const tokens = text.split(/\s+/).filter((t) => t !== "");
  let machine: string | null = null;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === "machine") machine = tokens[++i] ?? null;
    else if (t === "default") machine = "*";
    else if (t === "password" && (machine === host || machine === "*")) {
      return tokens[i + 1] ?? null;
    }
  }
  return null;
}

function parseMode(text: string, source: string): WandbMode {
  const mode = { run: "online", dryrun: "offline" }[text] ?? text;
  if (!(WANDB_MODES as readonly string[]).includes(mode)) {
    throw new InputError(
      `Invalid ${source} "${text}": expected one of ${WANDB_MODES.join(", ")}`,
    );
  }
  return mode as WandbMode;
}

/** The web app's URL for an API base URL (`https://api.wandb.ai` → `https://wandb.ai`). */
export function appUrl(baseUrl: string): string {
  const url = new URL(baseUrl);
  if (url.hostname.startsWith("api.")) url.hostname = url.hostname.slice(4);
  return url.origin;
}

/** A run's page: `<app>/<entity>/<project>/runs/<id>`. */
export function runUrl(baseUrl: string, entity: string, project: string, runId: string): string {
  return `${appUrl(baseUrl)}/${encodeURIComponent(entity)}/${encodeURIComponent(project)}/runs/` +
    encodeURIComponent(runId);
}

/**
 * Resolves the settings of a run from its flags, the environment and the netrc text (see module
 * docs). An explicit `online` without an API key is an `InputError`.
 */
export function resolveWandbSettings(
  flags: WandbFlags,
  env: Readonly<Record<string, string | undefined>>,
  options: { netrc: string | null },
): WandbSettings {
  const baseText = value(env, "WANDB_BASE_URL") ?? DEFAULT_WANDB_BASE_URL;
  if (!URL.canParse(baseText) || !/^https?:$/.test(new URL(baseText).protocol)) {
    throw new InputError(`Invalid WANDB_BASE_URL "${baseText}": expected an http(s) URL`);
  }
  const baseUrl = baseText.replace(/\/+$/, "");
  const apiKey = value(env, "WANDB_API_KEY") ??
    netrcPassword(options.netrc, new URL(baseUrl).hostname);
  const envMode = value(env, "WANDB_MODE");
  let mode: WandbMode, note: string | null = null;
  if (flags.mode) mode = flags.mode;
  else if (envMode) mode = parseMode(envMode, "WANDB_MODE");
  else if (apiKey) mode = "online";
  else {
    mode = "offline";
    note = "W&B: no API key (WANDB_API_KEY or ~/.netrc), so the run is logged offline; set " +
      "WANDB_API_KEY to log online, or upload it later with `deno task sync`";
  }
  if (mode === "online" && !apiKey) {
    throw new InputError(
      "W&B mode online needs an API key: set WANDB_API_KEY (or log in with `wandb login`, " +
        "which writes ~/.netrc), or use --wandb_mode offline",
    );
  }
  const tags = (flags.tags ?? value(env, "WANDB_TAGS") ?? "").split(",").map((t) => t.trim())
    .filter((t) => t !== "");
  return {
    mode,
    project: flags.project ?? value(env, "WANDB_PROJECT") ?? DEFAULT_WANDB_PROJECT,
    entity: flags.entity ?? value(env, "WANDB_ENTITY"),
    name: flags.name ?? value(env, "WANDB_NAME"),
    group: flags.group ?? value(env, "WANDB_RUN_GROUP"),
    tags,
    jobType: flags.jobType ?? value(env, "WANDB_JOB_TYPE"),
    baseUrl,
    apiKey,
    runId: value(env, "WANDB_RUN_ID"),
    sweepId: value(env, "WANDB_SWEEP_ID"),
    note,
  };
}

/** A new W&B-style run id: 8 characters of [a-z0-9]. */
export function newRunId(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}
