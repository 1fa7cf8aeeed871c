/**
 * The live W&B upload, off the training thread (a Worker; folder-private). The main thread posts
 * every history line as it is logged and the summary when it changes; this worker sends them
 * every `intervalMs`, and on `finish` flushes and completes the run. On the first failure it
 * reports once and stops touching the network (the run goes on offline; `sync` finishes the
 * upload from the local record).
 *
 * Messages in: `init`, `line` {offset, seq, text}, `summary` {text}, `finish` {exitCode}.
 * Messages out: `started` {entity, project, runId}, `progress` {uploadedLines, seq},
 * `retrying` {reason} (a request failed and is tried again), `failed` {reason},
 * `finished` {uploadedLines, complete, seq}; `seq` is the last line message
 * the acknowledged lines include (so a line rewritten after a push is not counted as sent).
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { type RunInput, WandbApi, type WandbApiOptions } from "./wandb_api.ts";
import { UploadSession } from "./upload_session.ts";

/** What the main thread sends first. */
export interface InitMessage {
  readonly type: "init";
  readonly api: WandbApiOptions;
  readonly run: RunInput;
  readonly lines: readonly string[];
  readonly uploadedLines: number;
  readonly intervalMs: number;
}

type Incoming =
  | InitMessage
  | { readonly type: "line"; readonly offset: number; readonly seq: number; readonly text: string }
  | { readonly type: "summary"; readonly text: string }
  | { readonly type: "finish"; readonly exitCode: number };

const lines: string[] = [];
let session: UploadSession | null = null;
let dirtyFrom = Infinity;
let lastSeq = 0;
let summary: string | null = null;
let failed = false;
let busy: Promise<void> = Promise.resolve();
let timer: ReturnType<typeof setInterval> | undefined;

function post(message: Record<string, unknown>): void {
  self.postMessage(message);
}

async function flush(): Promise<void> {
  if (failed || !session) return;
  try {
    if (!session.remote) {
      const remote = await session.start();
      post({ type: "started", ...remote });
    }
    if (dirtyFrom < lines.length) {
      const from = dirtyFrom, seq = lastSeq;
      dirtyFrom = Infinity;
      await session.push(lines, Math.min(from, session.uploadedLines));
      post({ type: "progress", uploadedLines: session.uploadedLines, seq });
    }
    if (summary !== null) {
      const text = summary;
      summary = null;
      await session.summary(text);
    }
  } catch (err) {
    failed = true;
    post({ type: "failed", reason: (err as Error).message });
  }
}

/** Runs `fn` after whatever upload is in flight (one request at a time). */
function queue(fn: () => Promise<void>): Promise<void> {
  busy = busy.then(fn, fn);
  return busy;
}

self.onmessage = (event: MessageEvent<Incoming>) => {
  const m = event.data;
  switch (m.type) {
    case "init":
      lines.push(...m.lines);
      session = new UploadSession(
        new WandbApi({ ...m.api, onRetry: (reason) => post({ type: "retrying", reason }) }),
        m.run,
        { uploadedLines: m.uploadedLines },
      );
      dirtyFrom = m.uploadedLines;
      timer = setInterval(() => queue(flush), m.intervalMs);
      queue(flush);
      break;
    case "line":
      lines[m.offset] = m.text;
      lines.length = m.offset + 1;
      dirtyFrom = Math.min(dirtyFrom, m.offset);
      lastSeq = m.seq;
      break;
    case "summary":
      summary = m.text;
      break;
    case "finish":
      clearInterval(timer);
      queue(async () => {
        await flush();
        let complete = false;
        if (!failed && session) {
          try {
            await session.complete(m.exitCode);
            complete = true;
          } catch (err) {
            failed = true;
            post({ type: "failed", reason: (err as Error).message });
          }
        }
        post({
          type: "finished",
          uploadedLines: session?.uploadedLines ?? 0,
          complete,
          seq: lastSeq,
        });
      });
      break;
  }
};
