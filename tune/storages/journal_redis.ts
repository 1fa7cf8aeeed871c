/**
 * A journal in Redis with Python Optuna's `JournalRedisStorage` layout, for workers on many
 * machines: `{prefix}:log_number` (SETNX -1, then INCR, so the first record is number 0) and each
 * record at `{prefix}:log:{n}` as a JSON string, appended by the same Lua script Optuna uses
 * (INCR and SET in one step). `{prefix}:snapshot`, a pickled replay state, is never written.
 * Sections that read and then append hold `{prefix}:mrpc_tune_lock` (SET NX PX, released by a
 * compare-and-delete), which excludes other mrpc-tune workers.
 *
 * @module
 */
import { createClient } from "redis";
import { InputError, RunError } from "../../core/mod.ts";
import type { JournalRecord } from "./journal.ts";
import { parsePyJson, stringifyPyJson } from "./py_json.ts";
import type { JournalBackend } from "./journal_storage.ts";
import { ProcessLock } from "./_lock.ts";

const APPEND_SCRIPT = "local i = redis.call('incr', string.format('%s:log_number', ARGV[1])) " +
  "redis.call('set', string.format('%s:log:%d', ARGV[1], i), ARGV[2])";

const RELEASE_SCRIPT = "if redis.call('get', KEYS[1]) == ARGV[1] then " +
  "return redis.call('del', KEYS[1]) else return 0 end";

/** Milliseconds a section lock lives without being released (a crashed holder's lock expires). */
const LOCK_TTL_MS = 30_000;

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

/** The Redis backend (see module docs). */
export class JournalRedis implements JournalBackend {
  readonly url: string;
  readonly #prefix: string;
  #client: Client | null = null;
  readonly #process = new ProcessLock();

  constructor(url: string, options: { prefix?: string } = {}) {
    this.url = parseRedisUrl(url).url;
    this.#prefix = options.prefix ?? "";
  }

  /** Connects; a server that cannot be reached is a `RunError` naming it. */
  async open(): Promise<this> {
    const client = connect(this.url);
    client.on("error", () => {}); // reported through the failing command instead
    try {
      await client.connect();
    } catch (err) {
      throw new RunError(
        `Cannot connect to the study storage "${this.url}": ${(err as Error).message}`,
      );
    }
    this.#client = client;
    return this;
  }

  get #redis(): Client {
    if (!this.#client) throw new Error("JournalRedis used before open()");
    return this.#client;
  }

  async readAll(): Promise<JournalRecord[]> {
    const last = await this.#redis.get(`${this.#prefix}:log_number`);
    if (last === null) return [];
    const n = Number(last) + 1;
    const out: JournalRecord[] = [];
    for (let from = 0; from < n; from += 1000) {
      const keys = Array.from(
        { length: Math.min(1000, n - from) },
        (_, i) => `${this.#prefix}:log:${from + i}`,
      );
      const values = await this.#redis.mGet(keys);
      for (const [i, v] of values.entries()) {
        // A number taken by INCR whose SET has not landed yet: the end for this read.
        if (v === null) return out;
        try {
          out.push(parsePyJson(v) as JournalRecord);
        } catch (err) {
          if (from + i === n - 1) return out;
          throw new InputError(
            `Invalid study journal record ${from + i} in "${this.url}": ${(err as Error).message}`,
          );
        }
      }
    }
    return out;
  }

  async append(records: readonly JournalRecord[]): Promise<void> {
    await this.#redis.setNX(`${this.#prefix}:log_number`, "-1");
    for (const r of records) {
      await this.#redis.eval(APPEND_SCRIPT, {
        keys: [],
        arguments: [this.#prefix, stringifyPyJson(r)],
      });
    }
  }

  /** Runs `fn` holding the section lock (re-entrant along one call chain). */
  withLock<T>(fn: () => Promise<T>): Promise<T> {
    const key = `${this.#prefix}:mrpc_tune_lock`;
    const token = crypto.randomUUID();
    const acquire = async () => {
      for (let sleepMs = 2;;) {
        const ok = await this.#redis.set(key, token, { NX: true, PX: LOCK_TTL_MS });
        if (ok === "OK") return;
        await new Promise((resolve) => setTimeout(resolve, sleepMs));
        sleepMs = Math.min(sleepMs * 2, 200);
      }
    };
    const release = async () => {
      await this.#redis.eval(RELEASE_SCRIPT, { keys: [key], arguments: [token] });
    };
    return this.#process.run(acquire, release, fn);
  }

  async close(): Promise<void> {
    await this.#client?.quit().catch(() => {});
    this.#client = null;
  }
}
