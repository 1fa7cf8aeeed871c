/**
 * `mrpc-tune sync <run dir or checkpoint dir>…`, as `wandb sync`: uploads the local run records
 * that are not fully on W&B (offline runs, failed uploads, records from air-gapped machines).
 * Idempotent: a second sync changes nothing on the server. `--status` lists what is pending
 * without touching the network.
 *
 * @module
 */
import { InputError, RunError } from "../core/mod.ts";
import {
  findRecords,
  recordStatus,
  resolveWandbSettings,
  syncRecord,
  WandbError,
} from "../tracking/mod.ts";
import type { Command, Env } from "./command.ts";
import { type OptionSpec, parseOptions, UsageError } from "./options.ts";
import { readNetrc } from "./_tracking.ts";

/** The `sync` command's option table (the paths are positional). */
export const SYNC_OPTIONS = [
  {
    name: "status",
    type: "boolean",
    default: false,
    description: "List the records and what is pending; upload nothing",
  },
  {
    name: "wandb_entity",
    type: "string",
    description: "Upload to this entity (default: the record's, WANDB_ENTITY, else the key's)",
  },
  {
    name: "wandb_project",
    type: "string",
    description: "Upload to this project (default: the record's)",
  },
] as const satisfies readonly OptionSpec[];

async function sync(argv: readonly string[], env: Env): Promise<number> {
  const paths: string[] = [];
  const values = parseOptions(SYNC_OPTIONS, argv, { positionals: paths });
  if (paths.length === 0) {
    throw new UsageError(
      "Missing what to sync: give the run records to upload, as folders (runs/<id>) or " +
        "checkpoint dirs whose runs/ hold them, e.g. `deno task sync models` (see sync --help)",
    );
  }
  const records: string[] = [];
  for (const path of paths) {
    const found = await findRecords(path);
    if (found.length === 0) {
      throw new InputError(`No run record in "${path}" (expected meta.json, or runs/<id>/)`);
    }
    records.push(...found);
  }
  const statuses = await Promise.all(records.map(recordStatus));
  if (values.status) {
    for (const s of statuses) {
      const state = s.mode === "disabled"
        ? "disabled (not uploaded)"
        : s.pending
        ? `pending: ${s.uploadedLines}/${s.lines} rows uploaded${
          s.complete ? "" : ", not complete"
        }${s.error ? ` (${s.error})` : ""}`
        : `synced: ${s.lines} rows`;
      console.log(`${s.dir}  run ${s.runId}  ${state}`);
    }
    return 0;
  }
  const settings = resolveWandbSettings({ mode: "online" }, env, { netrc: await readNetrc(env) });
  let failures = 0;
  for (const s of statuses) {
    if (!s.pending) {
      console.error(
        `${s.dir}: ${s.mode === "disabled" ? "W&B disabled for this run" : "already synced"}`,
      );
      continue;
    }
    try {
      const r = await syncRecord(s.dir, {
        api: { baseUrl: settings.baseUrl, apiKey: settings.apiKey! },
        entity: values.wandb_entity ?? settings.entity,
        project: values.wandb_project ?? null,
      });
      console.log(`${s.dir}: ${r.lines} rows on ${r.url} (${r.sent} sent)`);
    } catch (err) {
      if (!(err instanceof WandbError)) throw err;
      failures++;
      console.error(`error: Cannot sync "${s.dir}": ${err.message}`);
    }
  }
  if (failures > 0) {
    throw new RunError(
      `${failures} of ${statuses.length} records could not be synced (run sync again)`,
    );
  }
  return 0;
}

/** `mrpc-tune sync`. */
export const SYNC_COMMAND: Command = {
  name: "sync",
  summary: "Upload local run records to Weights & Biases (as wandb sync; --status lists them)",
  options: SYNC_OPTIONS,
  args: "PATH...",
  details: "PATH: a run record folder (<checkpoint_dir>/runs/<id>, where train and tune write " +
    "them) or a checkpoint dir (every record under its runs/). Records already on W&B are " +
    "skipped; --status lists each record's state without uploading anything.",
  execute: sync,
};
