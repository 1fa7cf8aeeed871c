/**
 * Uploading one run record to W&B: create or update the run, send history lines from the first
 * one the server has not acknowledged, the summary, and the completion. The live uploader (in a
 * Worker) and `sync` both use it, so both speak to W&B the same way. Offsets are line numbers:
 * sending a line again replaces it, so an interrupted upload can always be repeated.
 *
 * @module
 */
import { type RemoteRun, type RunInput, type WandbApi } from "./wandb_api.ts";

/** Lines per file_stream request (well below W&B's 10 MB request limit for metric rows). */
export const LINES_PER_REQUEST = 500;

/** One run's upload (see module docs). */
export class UploadSession {
  readonly #api: WandbApi;
  readonly #run: RunInput;
  #remote: RemoteRun | null = null;
  /** History lines the server acknowledged, from line 0. */
  uploadedLines: number;

  constructor(api: WandbApi, run: RunInput, options: { uploadedLines: number }) {
    this.#api = api;
    this.#run = run;
    this.uploadedLines = options.uploadedLines;
  }

  /** Where the run lives (after `start`). */
  get remote(): RemoteRun | null {
    return this.#remote;
  }

  /** Creates or updates the run on the server. */
  async start(): Promise<RemoteRun> {
    this.#remote = await this.#api.upsertRun(this.#run);
    return this.#remote;
  }

  /**
   * Sends `lines[from..]` (JSON texts; `from` defaults to the first unacknowledged line) in
   * requests of at most {@linkcode LINES_PER_REQUEST}; returns the lines acknowledged.
   */
  async push(lines: readonly string[], from = this.uploadedLines): Promise<number> {
    const remote = this.#remote ?? await this.start();
    for (let offset = Math.min(from, lines.length); offset < lines.length;) {
      const chunk = lines.slice(offset, offset + LINES_PER_REQUEST);
      await this.#api.fileStream(remote, { history: { offset, lines: chunk } });
      offset += chunk.length;
      this.uploadedLines = Math.max(this.uploadedLines, offset);
    }
    return this.uploadedLines;
  }

  /** Sends the whole summary. */
  async summary(json: string): Promise<void> {
    await this.#api.fileStream(this.#remote ?? await this.start(), { summary: json });
  }

  /** Marks the run finished with `exitCode`. */
  async complete(exitCode: number): Promise<void> {
    await this.#api.fileStream(this.#remote ?? await this.start(), { exitCode });
  }
}
