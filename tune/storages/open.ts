/**
 * The storage a `--storage` value names: a journal file path, or `redis://HOST:PORT[/DB]`.
 *
 * @module
 */
import { InputError } from "../../core/mod.ts";
import { JournalFile } from "./journal_file.ts";
import { JournalRedis } from "./journal_redis.ts";
import { type JournalBackend, JournalStorage } from "./journal_storage.ts";

/** Whether `spec` names Redis rather than a file. */
export function isRedisStorage(spec: string): boolean {
  return spec.startsWith("redis://") || spec.startsWith("rediss://");
}

/** An `InputError` unless `spec` names a storage a worker can use (checked before any work). */
export function checkStorageSpec(spec: string): void {
  if (spec.includes("://") && !isRedisStorage(spec)) {
    throw new InputError(
      `Invalid --storage "${spec}": expected a file path or redis://HOST:PORT[/DB]`,
    );
  }
}

/**
 * Opens the storage `spec` names (a file path, or a redis:// URL); `timeoutSeconds` is how long a
 * lost Redis connection is retried (`--storage_timeout`), said on `log`.
 */
export async function openStorage(
  spec: string,
  options: { timeoutSeconds?: number; log?: (line: string) => void } = {},
): Promise<JournalStorage> {
  const backend: JournalBackend = isRedisStorage(spec)
    ? await new JournalRedis(spec, options).open()
    : await new JournalFile(spec, { log: options.log }).open();
  return new JournalStorage(backend);
}
