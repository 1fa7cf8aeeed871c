/**
 * The tracking folder's public face: a run's local record (config, metrics.jsonl, summary, meta,
 * W&B state), its W&B run uploaded from a Worker, settings resolved as W&B users know them, and
 * `sync` for records not yet on the server. A leaf that train/ and tune/ are handed (through the
 * CLI): it imports only data/ and io/.
 *
 * @module
 */
export * from "./run_record.ts";
export * from "./sweep_params.ts";
export * from "./sync.ts";
export * from "./tracker.ts";
export * from "./upload_session.ts";
export * from "./wandb_api.ts";
export * from "./wandb_settings.ts";
