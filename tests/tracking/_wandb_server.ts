/**
 * A loopback look-alike of the W&B API for tests (127.0.0.1, a free port): `POST /graphql`
 * (`Viewer`, `UpsertBucket`) and `POST /files/{entity}/{project}/{run}/file_stream` (history
 * lines by offset, replaced when re-sent; the summary; `{"complete": true, "exitcode": N}`),
 * checking the API key. It records what it receives and can be told to fail: N error statuses
 * on either endpoint (with `Retry-After`), or hang without answering.
 *
 * @module
 */

/** One run as the server holds it. */
export interface ServerRun {
  entity: string;
  project: string;
  name: string;
  displayName: string | null;
  group: string | null;
  jobType: string | null;
  tags: string[];
  sweep: string | null;
  /** The config as sent (the UI's wrapped form). */
  config: Record<string, unknown>;
  /** History lines by offset. */
  history: string[];
  /** How many times each offset was written. */
  writes: number[];
  summary: Record<string, unknown> | null;
  exitCode: number | null;
  upserts: number;
}

/** Errors to answer with, a number of times. */
export interface Failure {
  status: number;
  times: number;
  retryAfter?: string;
}

/** A running fake W&B. */
export interface WandbServer {
  readonly baseUrl: string;
  readonly runs: Map<string, ServerRun>;
  /** Every request: method, path, and the raw body text. */
  readonly requests: { path: string; body: string; auth: string | null }[];
  readonly faults: { graphql: Failure | null; stream: Failure | null; hang: boolean };
  /** The run `entity/project/name`, or undefined. */
  run(name: string): ServerRun | undefined;
  close(): Promise<void>;
}

function fail(plan: Failure | null): Response | null {
  if (!plan || plan.times <= 0) return null;
  plan.times--;
  const headers = plan.retryAfter ? { "Retry-After": plan.retryAfter } : undefined;
  return new Response(`injected ${plan.status}`, { status: plan.status, headers });
}

/** Starts the fake W&B, accepting `apiKey` (and entity "loop-entity" as the key's default). */
export function startWandbServer(apiKey: string): WandbServer {
  const runs = new Map<string, ServerRun>();
  const requests: WandbServer["requests"] = [];
  const faults: WandbServer["faults"] = { graphql: null, stream: null, hang: false };
  let release = () => {};
  const released = new Promise<void>((resolve) => release = resolve);
  const expected = `Basic ${btoa(`api:${apiKey}`)}`;

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.text();
    const path = new URL(req.url).pathname;
    const auth = req.headers.get("Authorization");
    requests.push({ path, body, auth });
    if (faults.hang) {
      await released;
      return new Response("closing", { status: 503 });
    }
    if (auth !== expected) return new Response("bad key", { status: 401 });
    const json = JSON.parse(body || "{}");
    if (path === "/graphql") {
      const injected = fail(faults.graphql);
      if (injected) return injected;
      if (String(json.query).includes("query Viewer")) {
        return Response.json({ data: { viewer: { id: "u1", entity: "loop-entity" } } });
      }
      const v = json.variables ?? {};
      const key = `${v.entity}/${v.project}/${v.name}`;
      const run = runs.get(key) ?? {
        entity: v.entity,
        project: v.project,
        name: v.name,
        displayName: null,
        group: null,
        jobType: null,
        tags: [],
        sweep: null,
        config: {},
        history: [],
        writes: [],
        summary: null,
        exitCode: null,
        upserts: 0,
      };
      Object.assign(run, {
        displayName: v.displayName ?? run.displayName,
        group: v.groupName ?? run.group,
        jobType: v.jobType ?? run.jobType,
        tags: v.tags ?? run.tags,
        sweep: v.sweep ?? run.sweep,
        config: v.config ? JSON.parse(v.config) : run.config,
        upserts: run.upserts + 1,
      });
      runs.set(key, run);
      return Response.json({
        data: {
          upsertBucket: {
            bucket: {
              id: "b1",
              name: run.name,
              displayName: run.displayName,
              project: { name: run.project, entity: { name: run.entity } },
            },
            inserted: run.upserts === 1,
          },
        },
      });
    }
    const m = /^\/files\/([^/]+)\/([^/]+)\/([^/]+)\/file_stream$/.exec(path);
    if (m) {
      const injected = fail(faults.stream);
      if (injected) return injected;
      const run = runs.get(m.slice(1).map(decodeURIComponent).join("/"));
      if (!run) return new Response("no such run", { status: 404 });
      const history = json.files?.["wandb-history.jsonl"];
      if (history) {
        history.content.forEach((line: string, i: number) => {
          run.history[history.offset + i] = line;
          run.writes[history.offset + i] = (run.writes[history.offset + i] ?? 0) + 1;
        });
      }
      const summary = json.files?.["wandb-summary.json"];
      if (summary) run.summary = JSON.parse(summary.content[0]);
      if (json.complete) run.exitCode = json.exitcode;
      return Response.json({ exitcode: null, limits: {} });
    }
    return new Response("not found", { status: 404 });
  });
  return {
    baseUrl: `http://127.0.0.1:${server.addr.port}`,
    runs,
    requests,
    faults,
    run: (name) => [...runs.values()].find((r) => r.name === name),
    async close() {
      release();
      await server.shutdown();
    },
  };
}
