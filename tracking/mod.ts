/**
 * The tracking folder's public face: a run's local record (config, metrics.jsonl, summary, meta,
 * W&B state), its W&B run uploaded from a Worker, settings resolved as W&B users know them, and
 * `sync` for records not yet on the server. A leaf that train/ and tune/ are handed (through the
 * CLI): it imports only data/ and io/.
 *
 * @module
 */
export {
  type HistoryRow,
  readHistory,
  readRecordJson,
  RECORD_FILES,
  type RunMeta,
  RunRecord,
} from "./run_record.ts";
export { parseSweepParams, readSweepParams, type SweepValue } from "./sweep_params.ts";
export {
  findRecords,
  type RecordStatus,
  recordStatus,
  syncRecord,
  type SyncResult,
} from "./sync.ts";
export { RunTracker, type TrackerOptions } from "./tracker.ts";
export { WandbError, wrapConfig } from "./wandb_api.ts";
export {
  appUrl,
  DEFAULT_WANDB_PROJECT,
  netrcPassword,
  newRunId,
  resolveWandbSettings,
  runUrl,
  WANDB_MODES,
  type WandbFlags,
  type WandbMode,
  type WandbSettings,
} from "./wandb_settings.ts";
