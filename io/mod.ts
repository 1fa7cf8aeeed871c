/**
 * The io folder's public face: safetensors read/write with full validation, crash-safe (atomic)
 * file and directory writes, and JSON files read with named errors.
 *
 * @example
 * ```ts
 * import { readJsonFile, readSafetensorsFile, writeFileAtomic } from "../io/mod.ts";
 * ```
 *
 * @module
 */
export * from "./atomic_fs.ts";
export * from "./json_file.ts";
export * from "./safetensors.ts";
