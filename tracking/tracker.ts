/**
 * The tracking of one run: its local record (always) and, online, its W&B run, uploaded from a
 * Worker so that training never waits for the network. W&B can only cost the upload, never the
 * run: on any W&B failure the run goes on offline, says so once, marks the record unsynced and
 * names the command that finishes the upload; `finish` waits a few seconds at most, also for a
 * server that hangs.
 *
 * @example
 * ```ts
 * const tracker = await RunTracker.start({ runsDir, runId, config, meta, settings, log });
 * await tracker.log(10, { "train/loss": 0.61, "train/lr": 3e-5 });
 * await tracker.summary({ "best/accuracy": 0.85, "best/step": 230 });
 * await tracker.finish(0);
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { writeJsonAtomic } from "../io/mod.ts";
import {
  readRecordJson,
  RECORD_FILES,
  type RunMeta,
  RunRecord,
  type WandbState,
} from "./run_record.ts";
import type { RunInput } from "./wandb_api.ts";
import { runUrl, type WandbSettings } from "./wandb_settings.ts";

/** Options of {@linkcode RunTracker.start}. */
export interface TrackerOptions {
  /** `<checkpoint_dir>/runs`. */
  readonly runsDir: string;
  readonly runId: string;
  /** The resolved run config (no secrets). */
  readonly config: Readonly<Record<string, unknown>>;
  readonly meta: RunMeta;
  readonly settings: WandbSettings;
  /** Continue the record from this optimizer step (a resumed run). */
  readonly resumeStep?: number;
  /** The command that finishes an upload, for messages (`deno task sync <dir>`). */
  readonly syncCommand?: (recordDir: string) => string;
  /** Milliseconds between uploads (default 2000). */
  readonly intervalMs?: number;
  /** Milliseconds `finish` waits for the upload (default 5000). */
  readonly finishTimeoutMs?: number;
  /** Milliseconds a request may take (default 10 000). */
  readonly requestTimeoutMs?: number;
  readonly log: (line: string) => void;
}

type WorkerEvent =
  | { type: "started"; entity: string; project: string; runId: string }
  | { type: "progress"; uploadedLines: number; seq: number }
  | { type: "retrying"; reason: string }
  | { type: "failed"; reason: string }
  | { type: "finished"; uploadedLines: number; complete: boolean; seq: number };

/** A run's record and W&B upload (see module docs). */
export class RunTracker {
  readonly record: RunRecord;
  #state: WandbState;
  readonly #options: TrackerOptions;
  #worker: Worker | null = null;
  /** Sequence number of the last line sent to the Worker. */
  #lineSeq = 0;
  /** The last rewrite of an uploaded line, until a push carrying it is acknowledged. */
  #rewrite: { seq: number; offset: number } | null = null;
  #finished: ((e: WorkerEvent & { type: "finished" }) => void) | null = null;
  /** Why the last request failed while it is being retried (null once one succeeds). */
  #retrying: string | null = null;
  /** Set when the run ended: training no longer goes on. */
  #ending = false;
  #writes: Promise<void> = Promise.resolve();

  private constructor(record: RunRecord, state: WandbState, options: TrackerOptions) {
    this.record = record;
    this.#state = state;
    this.#options = options;
  }

  /** Opens the record and, online, starts the upload Worker. */
  static async start(options: TrackerOptions): Promise<RunTracker> {
    const { settings } = options;
    const record = await RunRecord.open(options.runsDir, options.runId, {
      config: options.config,
      meta: options.meta,
      resumeStep: options.resumeStep,
    });
    const earlier = await readRecordJson<WandbState>(record.dir, RECORD_FILES.wandb);
    const state: WandbState = {
      mode: settings.mode,
      entity: settings.entity ?? earlier?.entity ?? null,
      project: settings.project,
      runId: options.runId,
      name: settings.name,
      group: settings.group,
      jobType: settings.jobType,
      tags: settings.tags,
      sweepId: settings.sweepId,
      baseUrl: settings.baseUrl,
      url: earlier?.url ?? null,
      // Lines after the resumed step were dropped: the server's copies of them get replaced.
      uploadedLines: Math.min(earlier?.uploadedLines ?? 0, record.rows.length),
      complete: false,
      synced: settings.mode === "disabled",
      error: null,
    };
    const tracker = new RunTracker(record, state, options);
    await tracker.#saveState();
    if (settings.note) options.log(settings.note);
    if (settings.mode === "online" && settings.apiKey) tracker.#startWorker(settings.apiKey);
    else if (settings.mode === "offline") {
      options.log(
        `W&B offline: the run is recorded in "${record.dir}"; upload it with ${tracker.#sync()}`,
      );
    }
    return tracker;
  }

  /** The W&B state of the run (what `wandb.json` holds). */
  get wandb(): WandbState {
    return this.#state;
  }

  /** The run's W&B page once known, else null. */
  get url(): string | null {
    return this.#state.url;
  }

  /** Logs metrics at optimizer step `step` (rows of one step merge) to the record and W&B. */
  async log(step: number, metrics: Readonly<Record<string, number>>): Promise<void> {
    const lines = this.record.rows.length;
    const offset = await this.record.log(step, metrics);
    const seq = ++this.#lineSeq;
    if (this.record.rows.length === lines && offset < this.#state.uploadedLines) {
      // A second log at an uploaded line's step changed it: until the Worker confirms a push
      // that carried it, that line counts as not uploaded (a kill now, and sync re-sends it).
      this.#state = { ...this.#state, uploadedLines: offset };
      this.#rewrite = { seq, offset };
      this.#queueSave();
    }
    this.#worker?.postMessage({
      type: "line",
      offset,
      seq,
      text: JSON.stringify(this.record.rows[offset]),
    });
  }

  /** What the Worker acknowledged, less a rewritten line its push did not carry yet. */
  #acknowledged(uploadedLines: number, seq: number): number {
    const r = this.#rewrite;
    return r && seq < r.seq ? Math.min(uploadedLines, r.offset) : uploadedLines;
  }

  /** Replaces the run summary (best and final values). */
  async summary(values: Readonly<Record<string, unknown>>): Promise<void> {
    const last = this.record.rows.at(-1);
    const summary = { ...values, _runtime: this.record.runtime(), _step: last?._step ?? 0 };
    await this.record.writeSummary(summary);
    this.#worker?.postMessage({ type: "summary", text: JSON.stringify(summary) });
  }

  /**
   * Ends the run with `exitCode`: records it, flushes and completes the upload (waiting at most
   * `finishTimeoutMs`), and stops the Worker. Never throws for W&B.
   */
  async finish(exitCode: number): Promise<void> {
    this.#ending = true;
    await this.record.end(exitCode);
    const worker = this.#worker;
    if (worker) {
      const done = new Promise<WorkerEvent & { type: "finished" }>((resolve) => {
        this.#finished = resolve;
      });
      worker.postMessage({ type: "finish", exitCode });
      const timeout = this.#options.finishTimeoutMs ?? 5000;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const outcome = await Promise.race([
        done,
        new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), timeout)),
      ]);
      clearTimeout(timer);
      worker.terminate();
      this.#worker = null;
      if (outcome === null) {
        const seconds = timeout / 1000;
        this.#fail(
          this.#retrying
            ? `${this.#retrying}; still failing when the run ended`
            : this.#state.url === null
            ? `no reply from "${this.#options.settings.baseUrl}" within the ${seconds} s the ` +
              `run waited at its end`
            : `the upload did not finish within ${seconds} s`,
        );
      } else {
        this.#state = {
          ...this.#state,
          uploadedLines: this.#acknowledged(outcome.uploadedLines, outcome.seq),
          complete: outcome.complete,
          synced: outcome.complete &&
            this.#acknowledged(outcome.uploadedLines, outcome.seq) >= this.record.rows.length &&
            this.#state.error === null,
        };
      }
    }
    await this.#writes;
    await this.#saveState();
    if (this.#state.url) this.#options.log(`W&B run: ${this.#state.url}`);
    if (this.#state.mode === "online" && !this.#state.synced && this.#state.error === null) {
      this.#options.log(`W&B upload incomplete: finish it with ${this.#sync()}`);
    }
  }

  #startWorker(apiKey: string): void {
    const worker = new Worker(new URL("./_upload_worker.ts", import.meta.url).href, {
      type: "module",
    });
    worker.onmessage = (event: MessageEvent<WorkerEvent>) => this.#onEvent(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      this.#fail(`the upload worker failed: ${event.message}`);
    };
    const s = this.#options.settings;
    const run: RunInput = {
      runId: this.#state.runId,
      project: s.project,
      entity: this.#state.entity,
      displayName: s.name,
      group: s.group,
      jobType: s.jobType,
      tags: s.tags,
      sweepId: s.sweepId,
      config: this.#options.config,
      host: this.#options.meta.host,
    };
    worker.postMessage({
      type: "init",
      api: { baseUrl: s.baseUrl, apiKey, timeoutMs: this.#options.requestTimeoutMs ?? 10_000 },
      run,
      lines: this.record.rows.map((r) => JSON.stringify(r)),
      uploadedLines: this.#state.uploadedLines,
      intervalMs: this.#options.intervalMs ?? 2000,
    });
    this.#worker = worker;
  }

  #onEvent(event: WorkerEvent): void {
    switch (event.type) {
      case "started": {
        const url = runUrl(this.#state.baseUrl, event.entity, event.project, event.runId);
        this.#state = { ...this.#state, entity: event.entity, project: event.project, url };
        this.#queueSave();
        this.#options.log(`W&B run: ${url}`);
        break;
      }
      case "retrying":
        this.#retrying = event.reason;
        break;
      case "progress":
        this.#retrying = null;
        this.#state = {
          ...this.#state,
          uploadedLines: this.#acknowledged(event.uploadedLines, event.seq),
        };
        this.#queueSave();
        break;
      case "failed":
        this.#fail(event.reason);
        break;
      case "finished":
        this.#finished?.(event);
        break;
    }
  }

  #fail(reason: string): void {
    if (this.#state.error !== null) return;
    this.#state = { ...this.#state, error: reason, synced: false };
    this.#queueSave();
    // One line: what failed and why, and (only while it does) that training goes on.
    const where = this.#ending
      ? `the run is recorded offline in "${this.record.dir}"`
      : `training goes on, recorded offline in "${this.record.dir}"`;
    this.#options.log(
      `W&B upload failed (${reason}): ${where}; finish the upload with ${this.#sync()}`,
    );
  }

  #sync(): string {
    return this.#options.syncCommand?.(this.record.dir) ?? `\`deno task sync ${this.record.dir}\``;
  }

  #queueSave(): void {
    this.#writes = this.#writes.then(() => this.#saveState(), () => this.#saveState());
  }

  async #saveState(): Promise<void> {
    await writeJsonAtomic(join(this.record.dir, RECORD_FILES.wandb), this.#state);
  }
}
