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
function isRedis(spec: string): boolean {
  return spec.startsWith("redis://") || spec.startsWith("rediss://");
}

/** An `InputError` unless `spec` names a storage a worker can use (checked before any work). */
export function checkStorageSpec(spec: string): void {
  if (spec.includes("://") && !isRedis(spec)) {
    throw new InputError(
      `Invalid --storage "${spec}": expected a file path or redis://HOST:PORT[/DB]`,
    );
  }
}

/** Opens the storage `spec` names (a file path, or a redis:// URL). */
export async function openStorage(spec: string): Promise<JournalStorage> {
  const backend: JournalBackend = isRedis(spec)
    ? await new JournalRedis(spec).open()
    : await new JournalFile(spec).open();
  return new JournalStorage(backend);
}
