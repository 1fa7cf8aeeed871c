/**
 * A journal in Redis with Python Optuna's `JournalRedisStorage` layout, for workers on many
 * machines: `{prefix}:log_number` (SETNX -1, then INCR, so the first record is number 0) and each
 * record at `{prefix}:log:{n}` as a JSON string, appended by the same Lua script Optuna uses
 * (INCR and SET in one step). `{prefix}:snapshot`, a pickled replay state, is never written.
 * Sections that read and then append hold `{prefix}:mrpc_tune_lock` (SET NX PX, released by a
 * compare-and-delete), which excludes other mrpc-tune workers; it expires 30 s after the storage
 * timeout, so that a holder waiting out an outage keeps it.
 *
 * A lost connection (a Redis restart, a network blip) is retried with a fresh connection and
 * backoff (0.1 s doubling to 5 s) for up to `timeoutSeconds` (`--storage_timeout`, 60 s) since it
 * was lost, said once in one line; past that every operation fails with a
 * {@linkcode StorageLost}. An append whose reply was lost is not sent twice: it is looked for
 * first.
 *
 * @module
 */
import { createClient, ErrorReply } from "redis";
import { InputError, RunError } from "../../core/mod.ts";
import type { JournalRecord } from "./journal.ts";
import { parsePyJson, stringifyPyJson } from "./py_json.ts";
import type { JournalBackend } from "./journal_storage.ts";
import { recordProblem } from "./journal_check.ts";
import { ProcessLock } from "./_lock.ts";

const APPEND_SCRIPT = "local i = redis.call('incr', string.format('%s:log_number', ARGV[1])) " +
  "redis.call('set', string.format('%s:log:%d', ARGV[1], i), ARGV[2])";

const RELEASE_SCRIPT = "if redis.call('get', KEYS[1]) == ARGV[1] then " +
  "return redis.call('del', KEYS[1]) else return 0 end";

/**
 * Milliseconds a section lock outlives `--storage_timeout` (a crashed holder's lock expires after
 * both). A live holder may wait out a Redis outage for up to the storage timeout inside its
 * section, then go on appending: its lock must still be there (after a Redis restart an expired
 * lock would let a second worker into the section with it).
 */
const LOCK_TTL_MARGIN_MS = 30_000;

function connect(url: string) {
  return createClient({ url, socket: { connectTimeout: 5000, reconnectStrategy: false } });
}

type Client = ReturnType<typeof connect>;

/** Parses `redis://HOST:PORT[/DB]`; an `InputError` naming `--storage` otherwise. */
export function parseRedisUrl(url: string): { url: string; db: number } {
  const parsed = URL.canParse(url) ? new URL(url) : null;
  if (!parsed || !["redis:", "rediss:"].includes(parsed.protocol) || !parsed.hostname) {
    throw new InputError(`Invalid --storage "${url}": expected redis://HOST:PORT[/DB] or a file`);
  }
  const db = parsed.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d+$/.test(db)) {
    throw new InputError(`Invalid --storage "${url}": the database must be a number`);
  }
  return { url, db: db === "" ? 0 : Number(db) };
}

/** The study storage could not be reached for longer than `--storage_timeout`. */
export class StorageLost extends RunError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StorageLost";
  }
}

/** Options of {@linkcode JournalRedis}. */
export interface JournalRedisOptions {
  /** Key prefix (Optuna's default is none). */
  readonly prefix?: string;
  /** Seconds a lost connection is retried before operations fail (default 60). */
  readonly timeoutSeconds?: number;
  /** Where the one line about a lost (and regained) connection goes. */
  readonly log?: (line: string) => void;
}

/** The Redis backend (see module docs). */
export class JournalRedis implements JournalBackend {
  readonly url: string;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  readonly #log: (line: string) => void;
  #client: Client | null = null;
  /** When the connection was lost (ms since epoch), while it is. */
  #lostSince: number | null = null;
  readonly #process = new ProcessLock();

  constructor(url: string, options: JournalRedisOptions = {}) {
    this.url = parseRedisUrl(url).url;
    this.#prefix = options.prefix ?? "";
    this.#timeoutMs = (options.timeoutSeconds ?? 60) * 1000;
    this.#log = options.log ?? (() => {});
  }

  /** Connects; a server that cannot be reached is a `RunError` naming it. */
  async open(): Promise<this> {
    try {
      this.#client = await this.#connect();
    } catch (err) {
      throw new RunError(
        `Cannot connect to the study storage "${this.url}": ${(err as Error).message}`,
      );
    }
    return this;
  }

  async #connect(): Promise<Client> {
    const client = connect(this.url);
    client.on("error", () => {}); // reported through the failing command instead
    await client.connect();
    return client;
  }

  /**
   * Runs `fn` on a connected client; a connection failure is retried on a new connection (see
   * module docs) until `--storage_timeout` has passed since the connection was lost.
   */
  async #op<T>(fn: (redis: Client) => Promise<T>): Promise<T> {
    for (let delayMs = 100;; delayMs = Math.min(delayMs * 2, 5000)) {
      try {
        this.#client ??= await this.#connect();
        const result = await fn(this.#client);
        if (this.#lostSince !== null) {
          this.#log(`The study storage "${this.url}" is back`);
          this.#lostSince = null;
        }
        return result;
      } catch (err) {
        if (err instanceof ErrorReply || err instanceof InputError) throw err; // not the link
        const cause = (err as Error).message || String(err);
        this.#client?.destroy();
        this.#client = null;
        if (this.#lostSince === null) {
          this.#lostSince = Date.now();
          this.#log(
            `Lost the study storage "${this.url}" (${cause}): reconnecting for up to ` +
              `${this.#timeoutMs / 1000} s (--storage_timeout)`,
          );
        }
        if (Date.now() - this.#lostSince >= this.#timeoutMs) {
          throw new StorageLost(
            `Lost the study storage "${this.url}" for ${Math.round(this.#timeoutMs / 1000)} s ` +
              `(--storage_timeout): ${cause}`,
            { cause: err },
          );
        }
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }

  async readAll(): Promise<JournalRecord[]> {
    return await this.#op((redis) => this.#readFrom(redis));
  }

  async #readFrom(redis: Client): Promise<JournalRecord[]> {
    const last = await redis.get(`${this.#prefix}:log_number`);
    if (last === null) return [];
    const n = Number(last) + 1;
    const out: JournalRecord[] = [];
    for (let from = 0; from < n; from += 1000) {
      const keys = Array.from(
        { length: Math.min(1000, n - from) },
        (_, i) => `${this.#prefix}:log:${from + i}`,
      );
      const values = await redis.mGet(keys);
      for (const [i, v] of values.entries()) {
        // A number taken by INCR whose SET has not landed yet: the end for this read.
        if (v === null) return out;
        let record: unknown;
        try {
          record = parsePyJson(v);
        } catch (err) {
          if (from + i === n - 1) return out;
          throw new InputError(
            `Invalid study journal record ${from + i} in "${this.url}": ${(err as Error).message}`,
          );
        }
        const problem = recordProblem(record);
        if (problem) {
          throw new InputError(
            `Invalid study journal record ${from + i} in "${this.url}": ${problem}`,
          );
        }
        out.push(record as JournalRecord);
      }
    }
    return out;
  }

  async append(records: readonly JournalRecord[]): Promise<void> {
    for (const r of records) {
      const text = stringifyPyJson(r);
      let before: number | null = null;
      await this.#op(async (redis) => {
        await redis.setNX(`${this.#prefix}:log_number`, "-1");
        const now = Number(await redis.get(`${this.#prefix}:log_number`));
        if (before !== null && await this.#landed(redis, before, now, text)) return;
        before ??= now;
        await redis.eval(APPEND_SCRIPT, { keys: [], arguments: [this.#prefix, text] });
      });
    }
  }

  /** Whether `text` was appended after record `after` (a retry whose first try's reply was lost). */
  async #landed(redis: Client, after: number, now: number, text: string): Promise<boolean> {
    if (now <= after) return false;
    const keys = Array.from(
      { length: now - after },
      (_, i) => `${this.#prefix}:log:${after + 1 + i}`,
    );
    return (await redis.mGet(keys)).includes(text);
  }

  /** How long the section lock lives unreleased: the storage timeout and a margin. */
  get lockTtlMs(): number {
    return this.#timeoutMs + LOCK_TTL_MARGIN_MS;
  }

  /** Runs `fn` holding the section lock (re-entrant along one call chain). */
  withLock<T>(fn: () => Promise<T>): Promise<T> {
    const key = `${this.#prefix}:mrpc_tune_lock`;
    const token = crypto.randomUUID();
    const acquire = async () => {
      for (let sleepMs = 2;;) {
        const ok = await this.#op((redis) =>
          redis.set(key, token, { NX: true, PX: this.lockTtlMs })
        );
        if (ok === "OK") return;
        await new Promise((resolve) => setTimeout(resolve, sleepMs));
        sleepMs = Math.min(sleepMs * 2, 200);
      }
    };
    const release = async () => {
      await this.#op((redis) => redis.eval(RELEASE_SCRIPT, { keys: [key], arguments: [token] }));
    };
    return this.#process.run(acquire, release, fn);
  }

  async close(): Promise<void> {
    await this.#client?.quit().catch(() => {});
    this.#client = null;
  }
}
