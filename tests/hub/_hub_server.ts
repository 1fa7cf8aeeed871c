/**
 * A loopback look-alike of the Hugging Face Hub's `resolve` endpoint for tests, listening on
 * 127.0.0.1 only: LFS files answer with a 302 to a separate "file host" listener (another origin,
 * as the Hub's CDN is), small files are served directly with a git-blob ETag. It records every
 * request and can be told to fail: N error statuses, a connection dropped mid-body, a `Range`
 * header ignored, corrupted bytes.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** A file the fake Hub serves at revision "main" (and at its commit hash). */
export interface HubFile {
  readonly repoType: "model" | "dataset";
  readonly repoId: string;
  readonly filename: string;
  readonly bytes: Uint8Array;
  /** Stored with Git LFS: redirected to the file host, ETag = sha256. Default true. */
  readonly lfs?: boolean;
}

/** A status to answer with, a given number of times. */
export interface ErrorPlan {
  status: number;
  times: number;
  retryAfter?: string;
}

/** Misbehaviour to inject; tests set fields before making requests. */
export interface HubFaults {
  /** Errors for requests to `/resolve/`. */
  resolveErrors: ErrorPlan | null;
  /** Errors for file-content GETs. */
  fileErrors: ErrorPlan | null;
  /** Drop the connection after this many body bytes, `dropTimes` times. */
  dropAfterBytes: number;
  dropTimes: number;
  /** Send `dropAfterBytes` bytes, then nothing until the client gives up, `stallTimes` times. */
  stallTimes: number;
  /** Answer this many Range requests with a full 200 reply. */
  ignoreRangeTimes: number;
  /** Serve every body with one byte flipped. */
  corrupt: boolean;
  /** Leave `X-Repo-Commit` out of metadata replies (a server that is not a Hub). */
  noCommit: boolean;
}

/** One request as the server saw it. */
export interface RecordedRequest {
  readonly host: "hub" | "files";
  readonly method: string;
  readonly path: string;
  readonly range: string | null;
  readonly authorization: string | null;
}

/** A running fake Hub. */
export interface HubServer {
  /** `http://127.0.0.1:<port>`: pass as HubOptions.endpoint. */
  readonly endpoint: string;
  /** Origin of the file host that LFS files redirect to. */
  readonly filesOrigin: string;
  /** The commit hash "main" resolves to. */
  readonly commit: string;
  readonly requests: RecordedRequest[];
  readonly faults: HubFaults;
  /** sha256 (hex) of a file's bytes: its blob name in the cache for LFS files. */
  sha256(bytes: Uint8Array): string;
  close(): Promise<void>;
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function gitBlobSha1(bytes: Uint8Array): string {
  return createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
}

function takeError(plan: ErrorPlan | null): Response | null {
  if (plan === null || plan.times <= 0) return null;
  plan.times--;
  const headers = plan.retryAfter === undefined ? undefined : { "Retry-After": plan.retryAfter };
  return new Response(`injected ${plan.status}`, { status: plan.status, headers });
}

/** A body that sends `head` and then fails, as a connection dropped mid-transfer does. */
function droppingBody(head: Uint8Array): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream({
    async pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(head);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
      controller.error(new Error("fake Hub: connection dropped on purpose"));
    },
  });
}

/** A body that sends `head` and then stalls until the client closes the connection. */
function stallingBody(head: Uint8Array): ReadableStream<Uint8Array> {
  let sent = false;
  let release = () => {};
  return new ReadableStream({
    pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(head);
        return;
      }
      return new Promise<void>((resolve) => release = resolve);
    },
    cancel() {
      release();
    },
  });
}

/** Serves `bytes` honouring `Range: bytes=N-`, subject to the injected faults. */
function serveBytes(request: Request, bytes: Uint8Array, faults: HubFaults, headers: Headers) {
  const injected = takeError(faults.fileErrors);
  if (injected) return injected;
  let body = bytes;
  if (faults.corrupt) {
    body = bytes.slice();
    body[body.length >> 1] ^= 0xff;
  }
  let status = 200;
  const range = /^bytes=(\d+)-$/.exec(request.headers.get("Range") ?? "");
  if (range && faults.ignoreRangeTimes > 0) {
    faults.ignoreRangeTimes--;
  } else if (range) {
    const start = Number(range[1]);
    if (start >= body.length) {
      return new Response(null, {
        status: 416,
        headers: { "Content-Range": `bytes */${body.length}` },
      });
    }
    headers.set("Content-Range", `bytes ${start}-${body.length - 1}/${body.length}`);
    body = body.subarray(start);
    status = 206;
  }
  headers.set("Content-Length", String(body.length));
  if (request.method === "HEAD") return new Response(null, { status, headers });
  if (faults.stallTimes > 0 && body.length > faults.dropAfterBytes) {
    faults.stallTimes--;
    return new Response(stallingBody(body.slice(0, faults.dropAfterBytes)), { status, headers });
  }
  if (faults.dropTimes > 0 && body.length > faults.dropAfterBytes) {
    faults.dropTimes--;
    return new Response(droppingBody(body.slice(0, faults.dropAfterBytes)), { status, headers });
  }
  return new Response(body.slice(), { status, headers });
}

/** Parses `/{datasets/}owner/name/resolve/{revision}/{path}`. */
function parseResolve(path: string) {
  const parts = path.split("/").slice(1).map(decodeURIComponent);
  const at = parts.indexOf("resolve");
  if (at < 1 || parts.length < at + 3) return null;
  const dataset = parts[0] === "datasets";
  return {
    repoType: dataset ? "dataset" : "model",
    repoId: parts.slice(dataset ? 1 : 0, at).join("/"),
    revision: parts[at + 1],
    filename: parts.slice(at + 2).join("/"),
  };
}

/** Starts the fake Hub (two listeners on 127.0.0.1, free ports) serving `files`. */
export function startHubServer(files: readonly HubFile[]): HubServer {
  const commit = createHash("sha1").update("fake hub commit").digest("hex");
  const requests: RecordedRequest[] = [];
  const faults: HubFaults = {
    resolveErrors: null,
    fileErrors: null,
    dropAfterBytes: 0,
    dropTimes: 0,
    stallTimes: 0,
    ignoreRangeTimes: 0,
    corrupt: false,
    noCommit: false,
  };
  const record = (host: "hub" | "files", request: Request) => {
    const url = new URL(request.url);
    requests.push({
      host,
      method: request.method,
      path: url.pathname,
      range: request.headers.get("Range"),
      authorization: request.headers.get("Authorization"),
    });
  };
  const quiet = { hostname: "127.0.0.1", port: 0, onListen() {} };

  const fileHost = Deno.serve(quiet, (request) => {
    record("files", request);
    const sha = new URL(request.url).pathname.replace(/^\/lfs\//, "");
    const file = files.find((f) => (f.lfs ?? true) && sha256(f.bytes) === sha);
    if (!file) return new Response("no such blob", { status: 404 });
    return serveBytes(request, file.bytes, faults, new Headers());
  });
  const filesOrigin = `http://127.0.0.1:${fileHost.addr.port}`;

  const hub = Deno.serve(quiet, (request) => {
    record("hub", request);
    const injected = takeError(faults.resolveErrors);
    if (injected) return injected;
    const target = parseResolve(new URL(request.url).pathname);
    const file = target &&
      files.find((f) =>
        f.repoType === target.repoType && f.repoId === target.repoId &&
        f.filename === target.filename
      );
    if (!target || !file) {
      return new Response("not found", {
        status: 404,
        headers: { "X-Error-Code": "EntryNotFound" },
      });
    }
    if (target.revision !== "main" && target.revision !== commit) {
      return new Response("bad revision", {
        status: 404,
        headers: { "X-Error-Code": "RevisionNotFound" },
      });
    }
    const headers = new Headers(faults.noCommit ? {} : { "X-Repo-Commit": commit });
    if (!(file.lfs ?? true)) {
      headers.set("ETag", `"${gitBlobSha1(file.bytes)}"`);
      return serveBytes(request, file.bytes, faults, headers);
    }
    const sha = sha256(file.bytes);
    headers.set("ETag", `"${gitBlobSha1(file.bytes)}"`);
    headers.set("X-Linked-Etag", `"${sha}"`);
    headers.set("X-Linked-Size", String(file.bytes.length));
    headers.set("Location", `${filesOrigin}/lfs/${sha}`);
    return new Response(null, { status: 302, headers });
  });

  return {
    endpoint: `http://127.0.0.1:${hub.addr.port}`,
    filesOrigin,
    commit,
    requests,
    faults,
    sha256,
    async close() {
      await Promise.all([hub.shutdown(), fileHost.shutdown()]);
    },
  };
}
