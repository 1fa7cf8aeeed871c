/**
 * The tune folder's public face: studies (Optuna's shape: study, trial, samplers, pruners,
 * storage) in Optuna's journal format (a file or Redis, readable by Python Optuna), search
 * spaces, importances, and the tuning worker that runs trials through the runner it is handed.
 *
 * @module
 */
export * from "./distributions.ts";
export * from "./importance.ts";
export * from "./journal.ts";
export * from "./journal_file.ts";
export * from "./journal_memory.ts";
export * from "./journal_redis.ts";
export * from "./pruners.ts";
export * from "./py_json.ts";
export * from "./sampler.ts";
export * from "./search_space.ts";
export * from "./storage.ts";
export * from "./study.ts";
export * from "./tpe_sampler.ts";
export * from "./tuner.ts";
