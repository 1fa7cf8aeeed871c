/**
 * `sync`, as `wandb sync`: uploads run records that are not fully on the server (offline runs,
 * runs whose upload failed, records copied from an air-gapped machine) with the same client as
 * the live upload. Idempotent: lines go at their offsets, so a second sync, or one after a
 * partial upload, leaves every row on the server exactly once.
 *
 * @module
 */
import { join } from "node:path";
import { writeJsonAtomic } from "../io/mod.ts";
import {
  readHistory,
  readRecordJson,
  RECORD_FILES,
  type RunMeta,
  type WandbState,
} from "./run_record.ts";
import { UploadSession } from "./upload_session.ts";
import { WandbApi, type WandbApiOptions } from "./wandb_api.ts";
import { runUrl } from "./wandb_settings.ts";

/** What `--status` shows of one record. */
export interface RecordStatus {
  readonly dir: string;
  readonly runId: string;
  readonly mode: WandbState["mode"];
  readonly lines: number;
  readonly uploadedLines: number;
  readonly complete: boolean;
  readonly pending: boolean;
  readonly error: string | null;
  readonly exitCode: number | null;
}

async function isRecord(dir: string): Promise<boolean> {
  return (await Deno.stat(join(dir, RECORD_FILES.meta)).catch(() => null))?.isFile ?? false;
}

/**
 * The run records a path names: the path itself when it is a record, else every record in
 * `<path>/runs/` (a checkpoint dir) or directly under it. Sorted; an empty list when none.
 */
export async function findRecords(path: string): Promise<string[]> {
  if (await isRecord(path)) return [path];
  const found: string[] = [];
  for (const folder of [join(path, "runs"), path]) {
    const entries = await Array.fromAsync(Deno.readDir(folder)).catch(() => []);
    for (const e of entries) {
      if (e.isDirectory && await isRecord(join(folder, e.name))) found.push(join(folder, e.name));
    }
    if (found.length > 0) break;
  }
  return found.sort();
}

/** The upload status of the record at `dir`. */
export async function recordStatus(dir: string): Promise<RecordStatus> {
  const state = await readRecordJson<WandbState>(dir, RECORD_FILES.wandb);
  const meta = await readRecordJson<RunMeta>(dir, RECORD_FILES.meta);
  const lines = (await readHistory(dir)).length;
  const mode = state?.mode ?? "offline";
  const uploaded = Math.min(state?.uploadedLines ?? 0, lines);
  const complete = state?.complete ?? false;
  return {
    dir,
    runId: state?.runId ?? dir.split("/").at(-1)!,
    mode,
    lines,
    uploadedLines: uploaded,
    complete,
    pending: mode !== "disabled" && !(state?.synced && complete && uploaded >= lines),
    error: state?.error ?? null,
    exitCode: meta?.exit_code ?? null,
  };
}

/** What one sync did. */
export interface SyncResult {
  readonly dir: string;
  readonly url: string;
  readonly sent: number;
  readonly lines: number;
}

/**
 * Uploads the record at `dir` (all lines from the first unacknowledged one, the summary, the
 * completion with the recorded exit code, 1 for a run killed without one) and marks it synced.
 * `entity`/`project` override the record's. Throws `WandbError` for what the server refused.
 */
export async function syncRecord(
  dir: string,
  options: { api: WandbApiOptions; entity?: string | null; project?: string | null },
): Promise<SyncResult> {
  const state = await readRecordJson<WandbState>(dir, RECORD_FILES.wandb);
  if (!state) throw new Error(`"${dir}" has no ${RECORD_FILES.wandb}: not a run record`);
  const config = await readRecordJson<Record<string, unknown>>(dir, RECORD_FILES.config) ?? {};
  const meta = await readRecordJson<RunMeta>(dir, RECORD_FILES.meta);
  const summary = await readRecordJson<Record<string, unknown>>(dir, RECORD_FILES.summary);
  const lines = (await readHistory(dir)).map((r) => JSON.stringify(r));
  const session = new UploadSession(new WandbApi(options.api), {
    runId: state.runId,
    project: options.project ?? state.project,
    entity: options.entity ?? state.entity,
    displayName: state.name,
    group: state.group,
    jobType: state.jobType,
    tags: state.tags,
    sweepId: state.sweepId,
    config,
    host: meta?.host ?? "",
  }, { uploadedLines: Math.min(state.uploadedLines, lines.length) });
  const remote = await session.start();
  const from = session.uploadedLines;
  const url = runUrl(options.api.baseUrl, remote.entity, remote.project, remote.runId);
  const save = (patch: Partial<WandbState>) =>
    writeJsonAtomic(join(dir, RECORD_FILES.wandb), {
      ...state,
      entity: remote.entity,
      project: remote.project,
      url,
      ...patch,
    });
  await session.push(lines);
  await save({ uploadedLines: session.uploadedLines, error: null });
  if (summary) await session.summary(JSON.stringify(summary));
  await session.complete(meta?.exit_code ?? 1);
  await save({ uploadedLines: session.uploadedLines, complete: true, synced: true, error: null });
  return { dir, url, sent: lines.length - from, lines: lines.length };
}
