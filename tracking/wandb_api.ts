/**
 * A small client of the two W&B endpoints a run needs, the ones the W&B SDKs use:
 *
 * - `POST {base}/graphql` with HTTP Basic `api:<key>`: `Viewer` (the key's default entity) and
 *   the `UpsertBucket` mutation that creates or updates a run (config in the form the W&B UI
 *   reads: `{key: {"value": v, "desc": null}}`, group, job type, tags, sweep);
 * - `POST {base}/files/{entity}/{project}/{run}/file_stream`: history lines by offset (line N of
 *   `wandb-history.jsonl`; re-sending the same lines at the same offsets replaces them, so an
 *   upload can be repeated safely), the summary, and `{"complete": true, "exitcode": N}`.
 *
 * Every request has a timeout; failures that may pass (network errors, 409, 429 with
 * `Retry-After`, 5xx) are retried with backoff within a deadline, the others fail at once; what
 * cannot be done is a {@linkcode WandbError} whose message is the reason. The key is sent in the
 * Authorization header only and appears in no message.
 *
 * @module
 */
import {
  describeFailure,
  isNetworkError,
  parseRetryAfter,
  RetriesExhausted,
  RetryableError,
  type RetryPolicy,
  withRetries,
} from "../core/mod.ts";

/** The W&B server refused or could not be reached; `message` is the reason. */
export class WandbError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "WandbError";
  }
}

/** Where and how to reach W&B. */
export interface WandbApiOptions {
  readonly baseUrl: string;
  readonly apiKey: string;
  /** Milliseconds a request may take (default 10 000). */
  readonly timeoutMs?: number;
  /** Retry policy (default: 5 tries, 1 s doubling to 8 s, 30 s deadline). */
  readonly retry?: Partial<RetryPolicy>;
  /** Told why a request failed each time it is retried (`file_stream: connection refused`). */
  readonly onRetry?: (reason: string) => void;
}

/** What a run is created or updated with. */
export interface RunInput {
  readonly runId: string;
  readonly project: string;
  readonly entity: string | null;
  readonly displayName: string | null;
  readonly group: string | null;
  readonly jobType: string | null;
  readonly tags: readonly string[];
  readonly sweepId: string | null;
  /** The run config, plain; sent wrapped as the UI reads it. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly host: string;
}

/** The run as the server has it. */
export interface RemoteRun {
  readonly entity: string;
  readonly project: string;
  readonly runId: string;
}

/** One file_stream request's content. */
export interface FileStreamBody {
  /** History lines starting at `offset` (JSON texts). */
  readonly history?: { readonly offset: number; readonly lines: readonly string[] };
  /** The whole summary (JSON text). */
  readonly summary?: string;
  /** Marks the run finished with this exit code. */
  readonly exitCode?: number;
}

const UPSERT_BUCKET = `mutation UpsertBucket($id: String, $name: String, $project: String,
  $entity: String, $groupName: String, $displayName: String, $config: JSONString, $host: String,
  $jobType: String, $state: String, $sweep: String, $tags: [String!]) {
  upsertBucket(input: {id: $id, name: $name, modelName: $project, entityName: $entity,
    groupName: $groupName, displayName: $displayName, config: $config, host: $host,
    jobType: $jobType, state: $state, sweep: $sweep, tags: $tags}) {
    bucket { id name displayName project { name entity { name } } }
    inserted
  }
}`;

const VIEWER = "query Viewer { viewer { id entity } }";

const DEFAULT_POLICY: RetryPolicy = {
  maxAttempts: 5,
  backoffBaseMs: 1000,
  maxBackoffMs: 8000,
  deadlineMs: 30_000,
};

/** `{key: {"value": v, "desc": null}}`, the form the W&B UI reads a run config in. */
export function wrapConfig(config: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(config).filter(([, v]) => v !== undefined).map(([k, v]) => [
      k,
      { value: v, desc: null },
    ]),
  );
}

/** A client of one W&B server (see module docs). */
export class WandbApi {
  readonly #base: string;
  readonly #auth: string;
  readonly #timeoutMs: number;
  readonly #policy: RetryPolicy;
  readonly #onRetry?: (reason: string) => void;

  constructor(options: WandbApiOptions) {
    this.#onRetry = options.onRetry;
    this.#base = options.baseUrl.replace(/\/+$/, "");
    this.#auth = `Basic ${btoa(`api:${options.apiKey}`)}`;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#policy = { ...DEFAULT_POLICY, ...options.retry };
  }

  /** The key's default entity. */
  async viewer(): Promise<string> {
    const data = await this.#graphql("Viewer", VIEWER, {}) as { viewer?: { entity?: string } };
    const entity = data.viewer?.entity;
    if (!entity) throw new WandbError("the server did not say which entity the API key belongs to");
    return entity;
  }

  /** Creates the run, or updates it when it exists (a resumed run); returns where it lives. */
  async upsertRun(run: RunInput): Promise<RemoteRun> {
    const entity = run.entity ?? await this.viewer();
    const data = await this.#graphql("UpsertBucket", UPSERT_BUCKET, {
      name: run.runId,
      project: run.project,
      entity,
      groupName: run.group,
      displayName: run.displayName,
      config: JSON.stringify(wrapConfig(run.config)),
      host: run.host,
      jobType: run.jobType,
      state: "running",
      sweep: run.sweepId,
      tags: [...run.tags],
    }) as {
      upsertBucket?: {
        bucket?: { name?: string; project?: { name?: string; entity?: { name?: string } } };
      };
    };
    const bucket = data.upsertBucket?.bucket;
    return {
      entity: bucket?.project?.entity?.name ?? entity,
      project: bucket?.project?.name ?? run.project,
      runId: bucket?.name ?? run.runId,
    };
  }

  /** Sends history lines, the summary and/or the completion of `run`. */
  async fileStream(run: RemoteRun, body: FileStreamBody): Promise<void> {
    const files: Record<string, { offset: number; content: string[] }> = {};
    if (body.history && body.history.lines.length > 0) {
      files["wandb-history.jsonl"] = {
        offset: body.history.offset,
        content: [...body.history.lines],
      };
    }
    if (body.summary !== undefined) {
      files["wandb-summary.json"] = { offset: 0, content: [body.summary] };
    }
    const payload: Record<string, unknown> = Object.keys(files).length > 0 ? { files } : {};
    if (body.exitCode !== undefined) {
      Object.assign(payload, { complete: true, exitcode: body.exitCode });
    }
    const path = [run.entity, run.project, run.runId].map(encodeURIComponent).join("/");
    await this.#post(`/files/${path}/file_stream`, payload, "file_stream");
  }

  async #graphql(
    name: string,
    query: string,
    variables: Record<string, unknown>,
  ): Promise<unknown> {
    const reply = await this.#post("/graphql", { query, variables }, name) as {
      data?: unknown;
      errors?: { message?: string }[];
    };
    if (reply?.errors?.length) {
      throw new WandbError(`${name} was refused: ${reply.errors.map((e) => e.message).join("; ")}`);
    }
    return reply?.data ?? {};
  }

  async #post(path: string, body: unknown, what: string): Promise<unknown> {
    const url = `${this.#base}${path}`;
    try {
      const onRetry = (reason: string) => this.#onRetry?.(`${what} to "${url}": ${reason}`);
      return await withRetries(
        this.#policy,
        { timeoutMs: this.#timeoutMs, onRetry },
        async (attempt) => {
          const timeout = Math.max(1, Math.min(this.#timeoutMs, attempt.remainingMs));
          const response = await fetch(url, {
            method: "POST",
            headers: {
              Authorization: this.#auth,
              "Content-Type": "application/json",
              "User-Agent": `mrpc-tune; deno/${Deno.version.deno}`,
            },
            body: JSON.stringify(body),
            signal: AbortSignal.timeout(timeout),
          });
          const text = await response.text();
          if (response.ok) {
            try {
              return text === "" ? {} : JSON.parse(text);
            } catch {
              throw new WandbError(`${what}: the reply of "${url}" is not JSON`);
            }
          }
          const status = `HTTP ${response.status} from "${url}"`;
          if (response.status === 429 || response.status === 409 || response.status >= 500) {
            const retryAfter = parseRetryAfter(response.headers.get("Retry-After"), Date.now());
            throw new RetryableError(status, retryAfter);
          }
          const hint = response.status === 401 || response.status === 403
            ? ": the API key was refused"
            : "";
          throw new WandbError(`${what}: ${status}${hint}`);
        },
      );
    } catch (err) {
      if (err instanceof WandbError) throw err;
      if (err instanceof RetriesExhausted) {
        throw new WandbError(`${what} to "${url}": ${err.message}`);
      }
      if (isNetworkError(err)) {
        throw new WandbError(`${what} to "${url}": ${describeFailure(err, this.#timeoutMs)}`);
      }
      throw err;
    }
  }
}
