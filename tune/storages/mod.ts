/**
 * Study storages, as Optuna's `optuna.storages` has them: the journal's records and their replay
 * (`journal.ts`, Optuna's `JournalStorage` format), the storage every study uses on top of a
 * backend (`JournalStorage`), and the backends — a file shared with Python Optuna's
 * `JournalFileStorage` (same lock), Redis with `JournalRedisStorage`'s keys, and memory.
 *
 * @module
 */
export {
  Direction,
  type DirectionValue,
  isFinished,
  type JournalRecord,
  JournalState,
  Op,
  STATE_NAMES,
  type StudyRecord,
  type Trial,
  TrialState,
  type TrialStateValue,
} from "./journal.ts";
export {
  type JournalBackend,
  JournalStorage,
  stateRecord,
  type TrialTemplate,
} from "./journal_storage.ts";
export { JournalFile, STALE_LOCK_SECONDS } from "./journal_file.ts";
export {
  JournalRedis,
  type JournalRedisOptions,
  parseRedisUrl,
  StorageLost,
} from "./journal_redis.ts";
export { JournalMemory } from "./journal_memory.ts";
export { checkStorageSpec, isRedisStorage, openStorage } from "./open.ts";
export { parsePyDate, parsePyJson, pyNow, stringifyPyJson } from "./py_json.ts";
