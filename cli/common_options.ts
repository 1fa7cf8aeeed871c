/**
 * Option rows that several commands share, defined once. A command may spread a row and give it
 * its own description (`{ ...MAX_SEQ_LENGTH_OPTION, description: "..." }`).
 *
 * @module
 */
import { BACKEND_CHOICES } from "../backend/mod.ts";
import type { OptionSpec } from "./options.ts";

/** `--max_seq_length`: truncation length of a pair, [CLS] and both [SEP] included. */
export const MAX_SEQ_LENGTH_OPTION = {
  name: "max_seq_length",
  type: "int",
  default: 128,
  min: 8,
  max: 512,
  metavar: "N",
  description: "Truncate pairs to this many tokens",
} as const satisfies OptionSpec;

/** `--backend`: the TensorFlow.js backend (choices from backend/). */
export const BACKEND_OPTION = {
  name: "backend",
  type: "choice",
  choices: BACKEND_CHOICES,
  default: "auto",
  description: "TensorFlow.js backend: auto = tensorflow when it loads, else wasm",
} as const satisfies OptionSpec;

/** `--blas`: native BLAS for the wasm backend's matmuls (resolved by {@linkcode blasChoice}). */
export const BLAS_OPTION = {
  name: "blas",
  type: "string",
  metavar: "auto|off|PATH",
  description: "Native BLAS (cblas_sgemm) for the wasm backend's matmuls: auto = the system's " +
    "OpenBLAS/MKL/BLIS when it passes its self-test and is faster, off, or a library " +
    "(default: MRPC_TUNE_BLAS, else auto)",
} as const satisfies OptionSpec;

/** The `--blas` choice: the flag, else `MRPC_TUNE_BLAS`, else `auto`. */
export function blasChoice(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string {
  return flag ?? (env.MRPC_TUNE_BLAS || "auto");
}

/** `--model`: a Hub model id or a local Hugging Face folder. */
export const MODEL_OPTION = {
  name: "model",
  type: "string",
  default: "distilbert-base-uncased",
  metavar: "NAME_OR_DIR",
  description: "Hub model id or local Hugging Face folder to start from",
} as const satisfies OptionSpec;

/** `--force_download`: fetch Hub files again even when the cache has them (huggingface_hub's name). */
export const FORCE_DOWNLOAD_OPTION = {
  name: "force_download",
  type: "boolean",
  default: false,
  description: "Download Hub files again even when the cache has them",
} as const satisfies OptionSpec;

/** `--seed`. */
export const SEED_OPTION = {
  name: "seed",
  type: "int",
  default: 42,
  min: 0,
  max: 2 ** 32 - 1,
  description: "Seed for data order, head initialisation and dropout",
} as const satisfies OptionSpec;
