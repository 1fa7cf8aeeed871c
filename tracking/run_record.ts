/**
 * The local record of one run, the source of truth for its metrics whatever happens to W&B:
 * `<checkpoint_dir>/runs/<run_id>/` with
 *
 * - `config.json`: the resolved config (no secrets: the config never holds any);
 * - `metrics.jsonl`: one JSON line per logged optimizer step (`_step`, `_runtime`, `_timestamp`
 *   and the metrics), appended and fsynced as it happens; a second log at the same step merges
 *   into that step's line, so line N is W&B's history offset N;
 * - `summary.json`: best and final values;
 * - `meta.json`: program, versions, backend, host, start/end time, exit status;
 * - `wandb.json`: the W&B run (mode, entity, project, id, URL) and how far its upload got.
 *
 * A record is readable after a kill at any moment (a torn last line is dropped when it is opened
 * again), and a resumed run continues it: lines after the resumed step are removed first, since
 * the resumed run logs them again with the same values.
 *
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "../io/mod.ts";

/** File names inside a run record. */
export const RECORD_FILES = {
  config: "config.json",
  metrics: "metrics.jsonl",
  summary: "summary.json",
  meta: "meta.json",
  wandb: "wandb.json",
} as const;

/** One history row: `_step` and the metrics, with W&B's `_runtime` and `_timestamp`. */
export type HistoryRow = Record<string, number>;

/** How far a record's W&B upload got (`wandb.json`). */
export interface WandbState {
  /** `online`, `offline` or `disabled`, as the run was started. */
  readonly mode: "online" | "offline" | "disabled";
  readonly entity: string | null;
  readonly project: string;
  readonly runId: string;
  readonly name: string | null;
  readonly group: string | null;
  readonly jobType: string | null;
  readonly tags: readonly string[];
  readonly sweepId: string | null;
  readonly baseUrl: string;
  readonly url: string | null;
  /** History lines the server has acknowledged (from line 0). */
  readonly uploadedLines: number;
  /** The summary and the completion were acknowledged. */
  readonly complete: boolean;
  /** True once every line, the summary and the completion are on the server. */
  readonly synced: boolean;
  /** Why the upload stopped, when it did. */
  readonly error: string | null;
}

/** Metadata of the run (`meta.json`). */
export interface RunMeta {
  readonly program: string;
  readonly version: string;
  readonly commit: string;
  readonly deno: string;
  readonly tfjs: string;
  readonly backend: string;
  readonly gpu: boolean;
  readonly host: string;
  readonly command: string;
  readonly started: string;
  readonly ended: string | null;
  /** Exit status: 0, 1, 2, 130, 143; null while running (or when killed). */
  readonly exit_code: number | null;
}

function parseLines(text: string): HistoryRow[] {
  const rows: HistoryRow[] = [];
  const lines = text.split("\n");
  for (const [i, line] of lines.entries()) {
    if (line.trim() === "") continue;
    try {
      rows.push(JSON.parse(line));
    } catch (err) {
      // A torn last line from a kill mid-append is dropped; anything else is a broken record.
      if (i === lines.length - 1 || lines.slice(i + 1).every((l) => l.trim() === "")) break;
      throw new Error(`Broken run record line ${i + 1}: ${(err as Error).message}`);
    }
  }
  return rows;
}

/** Reads `metrics.jsonl` of the record at `dir` (a torn last line dropped). */
export async function readHistory(dir: string): Promise<HistoryRow[]> {
  const text = await Deno.readTextFile(join(dir, RECORD_FILES.metrics)).catch((err) => {
    if (err instanceof Deno.errors.NotFound) return "";
    throw err;
  });
  return parseLines(text);
}

/** Reads a JSON file of the record, or null when it is absent. */
export async function readRecordJson<T>(dir: string, name: string): Promise<T | null> {
  try {
    return JSON.parse(await Deno.readTextFile(join(dir, name))) as T;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

/** An open run record (see module docs). */
export class RunRecord {
  /** The record's folder. */
  readonly dir: string;
  readonly #rows: HistoryRow[];
  readonly #started: number;

  private constructor(dir: string, rows: HistoryRow[], startedMs: number) {
    this.dir = dir;
    this.#rows = rows;
    this.#started = startedMs;
  }

  /**
   * Opens (creating or continuing) the record `<runsDir>/<runId>`. With `resumeStep`, lines of
   * steps after it are dropped (they will be logged again); without, an existing record is
   * continued as it is. Writes `config.json` and `meta.json`.
   */
  static async open(
    runsDir: string,
    runId: string,
    options: { config: unknown; meta: RunMeta; resumeStep?: number },
  ): Promise<RunRecord> {
    const dir = join(runsDir, runId);
    await Deno.mkdir(dir, { recursive: true });
    let rows = await readHistory(dir);
    if (options.resumeStep !== undefined) {
      rows = rows.filter((r) => r._step <= options.resumeStep!);
    }
    const record = new RunRecord(dir, rows, performance.now());
    await record.#rewrite();
    await writeJsonAtomic(join(dir, RECORD_FILES.config), options.config);
    const earlier = await readRecordJson<RunMeta>(dir, RECORD_FILES.meta);
    // A resumed run keeps its first start time.
    await writeJsonAtomic(join(dir, RECORD_FILES.meta), {
      ...options.meta,
      started: earlier?.started ?? options.meta.started,
      ended: null,
      exit_code: null,
    });
    return record;
  }

  /** Seconds since the record was opened by this process. */
  runtime(): number {
    return (performance.now() - this.#started) / 1000;
  }

  /** The history so far (line i is W&B history offset i). */
  get rows(): readonly HistoryRow[] {
    return this.#rows;
  }

  /**
   * Logs `metrics` at optimizer step `step`: appends a line, or merges into the last line when
   * it is the same step (rewriting only that line). Returns the line's offset.
   */
  async log(step: number, metrics: Readonly<Record<string, number>>): Promise<number> {
    const last = this.#rows.at(-1);
    if (last && step < last._step) {
      throw new Error(`Cannot log step ${step} after step ${last._step} in "${this.dir}"`);
    }
    const stamp = {
      _step: step,
      _runtime: this.runtime(),
      _timestamp: Date.now() / 1000,
    };
    if (last && last._step === step) {
      this.#rows[this.#rows.length - 1] = { ...last, ...metrics, ...stamp };
      await this.#rewrite(); // small files: the whole history, atomically
    } else {
      const row = { ...metrics, ...stamp };
      this.#rows.push(row);
      await this.#append(row);
    }
    return this.#rows.length - 1;
  }

  /** Writes `summary.json` (whole). */
  async writeSummary(summary: Readonly<Record<string, unknown>>): Promise<void> {
    await writeJsonAtomic(join(this.dir, RECORD_FILES.summary), summary);
  }

  /** Records the end of the run in `meta.json`. */
  async end(exitCode: number): Promise<void> {
    const meta = await readRecordJson<RunMeta>(this.dir, RECORD_FILES.meta);
    await writeJsonAtomic(join(this.dir, RECORD_FILES.meta), {
      ...meta,
      ended: new Date().toISOString(),
      exit_code: exitCode,
    });
  }

  async #append(row: HistoryRow): Promise<void> {
    const file = await Deno.open(join(this.dir, RECORD_FILES.metrics), {
      append: true,
      create: true,
    });
    try {
      await file.write(new TextEncoder().encode(JSON.stringify(row) + "\n"));
      await file.sync();
    } finally {
      file.close();
    }
  }

  async #rewrite(): Promise<void> {
    const text = this.#rows.map((r) => JSON.stringify(r) + "\n").join("");
    await writeFileAtomic(join(this.dir, RECORD_FILES.metrics), text);
  }
}
