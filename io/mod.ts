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
export { exists, writeDirAtomic, writeFileAtomic, writeJsonAtomic } from "./atomic_fs.ts";
export { readJsonFile, type ReadJsonOptions } from "./json_file.ts";
export { checkWritableDir } from "./writable_dir.ts";
export { MAX_HEADER_BYTES } from "./_safetensors_header.ts";
export {
  parseSafetensors,
  type ParseSafetensorsOptions,
  readSafetensorsFile,
  refusePickle,
  type SafeDtype,
  type SafeTensor,
  type SafetensorsFile,
  serializeSafetensors,
  type TensorsToWrite,
  type TensorToWrite,
  writeSafetensorsFile,
} from "./safetensors.ts";
