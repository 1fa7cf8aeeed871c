/**
 * Safetensors read and write, pure TypeScript (no tfjs), validated as strictly as the Rust library.
 *
 * Layout: an 8-byte little-endian u64 header length `N`, `N` bytes of UTF-8 JSON
 * (`{"__metadata__": {..}, "name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}}`),
 * then the tensor bytes, contiguous from offset 0 of the data section, little-endian, row-major.
 * Every malformed file is an `InputError` naming the source and the problem; a PyTorch pickle
 * checkpoint is refused, since unpickling can run arbitrary code.
 *
 * @example
 * ```ts
 * const { tensors, metadata } = await readSafetensorsFile("model/model.safetensors");
 * const w = tensors.get("classifier.weight"); // { dtype: "F32", shape: [2, 768], data }
 * await writeSafetensorsFile("out/model.safetensors", tensors, { format: "pt" });
 * ```
 */
import { dirname } from "node:path";
import { fileError, InputError } from "../core/mod.ts";
import {
  bad,
  checkLayout,
  type Entry,
  escapeControls,
  findDuplicateKey,
  halfToFloatBits,
  isCount,
  isObject,
  looksLikePickle,
  MAX_HEADER_BYTES,
  pickleMessage,
  q,
  readEntry,
  readMetadata,
  show,
} from "./_safetensors_header.ts";

/** Largest header accepted, checked before anything is allocated (the Rust library's limit). */
export { MAX_HEADER_BYTES };

/** The on-disk dtypes that are read (converted exactly to float32). */
export type SafeDtype = "F32" | "F16" | "BF16";

/** One tensor read from a file: the on-disk dtype, the shape, the values as float32. */
export interface SafeTensor {
  dtype: SafeDtype;
  shape: number[];
  data: Float32Array;
}

/** What `parseSafetensors` returns: tensors in data-offset order, and the `__metadata__` map. */
export interface SafetensorsFile {
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
  /** Tensors of other (valid) dtypes left out because `skipUnsupported` was set. */
  skipped: string[];
}

/** Options of `parseSafetensors` and `readSafetensorsFile`. */
export interface ParseSafetensorsOptions {
  /** Name used in error messages (the file path); default `"<memory>"`. */
  source?: string;
  /** Leave out tensors of dtypes other than F32/F16/BF16 (listed in `skipped`) instead of failing. */
  skipUnsupported?: boolean;
}

/** A tensor to write: float32 values in row-major order. */
export interface TensorToWrite {
  shape: readonly number[];
  data: Float32Array;
}

/** Tensors to write, by name. */
export type TensorsToWrite = Map<string, TensorToWrite> | Record<string, TensorToWrite>;

/**
 * Parses a whole safetensors file held in memory. F32 tensors are copied; F16 and BF16 tensors
 * are converted to float32 exactly (subnormals, infinities, NaN payloads and -0 included).
 * Throws `InputError` for any malformed file, and for other dtypes unless `skipUnsupported`.
 */
export function parseSafetensors(
  bytes: Uint8Array,
  options: ParseSafetensorsOptions = {},
): SafetensorsFile {
  const source = options.source ?? "<memory>";
  if (bytes.length < 8) {
    throw bad(source, `file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  }
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  const after = bytes.length - 8;
  if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, after))) {
    if (looksLikePickle(bytes)) throw new InputError(pickleMessage(source));
    throw bad(
      source,
      headerLength > BigInt(MAX_HEADER_BYTES)
        ? `header length ${headerLength} exceeds the ${MAX_HEADER_BYTES}-byte limit`
        : `header length ${headerLength} exceeds the ${after} bytes after it (truncated?)`,
    );
  }
  const dataStart = 8 + Number(headerLength);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })
      .decode(bytes.subarray(8, dataStart));
  } catch {
    throw bad(source, "header is not valid UTF-8");
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    const reason = escapeControls((e as Error).message);
    throw bad(source, `header is not valid JSON (${reason})`);
  }
  if (!isObject(header)) throw bad(source, "header is not a JSON object");
  const duplicate = findDuplicateKey(text);
  if (duplicate) throw bad(source, duplicate);

  const metadata = readMetadata(header.__metadata__, source);
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name !== "__metadata__") entries.push(readEntry(name, info, source));
  }
  checkLayout(entries, bytes.length - dataStart, source);

  const tensors = new Map<string, SafeTensor>();
  const skipped: string[] = [];
  for (const { name, dtype, shape, begin, end } of entries) {
    const raw = bytes.subarray(dataStart + begin, dataStart + end);
    if (dtype === "F32" || dtype === "F16" || dtype === "BF16") {
      tensors.set(name, { dtype, shape, data: decode(raw, dtype) });
    } else if (options.skipUnsupported) {
      skipped.push(name);
    } else {
      throw bad(source, `tensor ${q(name)} has dtype "${dtype}"; only F32, F16 and BF16 are read`);
    }
  }
  return { tensors, metadata, skipped };
}

/** Reads and parses a safetensors file, refusing PyTorch pickle files first (see `refusePickle`). */
export async function readSafetensorsFile(
  path: string,
  options: Omit<ParseSafetensorsOptions, "source"> = {},
): Promise<SafetensorsFile> {
  refusePickle(path);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw bad(path, "no such file");
    if (e instanceof Deno.errors.IsADirectory) throw bad(path, "it is a directory, not a file");
    throw e;
  }
  return parseSafetensors(bytes, { ...options, source: path });
}

/**
 * Throws `InputError` when `path` names a PyTorch pickle checkpoint (`.bin`, `.pt`, `.pth`,
 * `.ckpt`, `.pkl`) or, given its bytes, when they start like a pickle or a `torch.save` zip
 * rather than a safetensors header. Loading such files can run arbitrary code.
 */
export function refusePickle(path: string, bytes?: Uint8Array): void {
  if (/\.(bin|pt|pth|ckpt|pkl|pickle)$/i.test(path) || (bytes && looksLikePickle(bytes))) {
    throw new InputError(pickleMessage(path));
  }
}

/**
 * Serializes float32 tensors as safetensors, byte-compatible with the Python/Rust library: the
 * header is `__metadata__` (keys sorted) then tensors sorted by name, padded with spaces to 8-byte
 * alignment; data offsets are contiguous from 0 in the same order.
 */
export function serializeSafetensors(
  tensors: TensorsToWrite,
  metadata?: Record<string, string>,
): Uint8Array {
  const { prefix, sorted, dataBytes } = plan(tensors, metadata);
  const out = new Uint8Array(prefix.length + dataBytes);
  out.set(prefix);
  let pos = prefix.length;
  for (const [, t] of sorted) {
    out.set(littleEndianBytes(t.data), pos);
    pos += t.data.byteLength;
  }
  return out;
}

/**
 * Writes a safetensors file atomically: to `path + ".tmp"`, fsync, rename over `path`, then
 * fsync the directory (best effort: not every platform can open a directory for syncing).
 */
export async function writeSafetensorsFile(
  path: string,
  tensors: TensorsToWrite,
  metadata?: Record<string, string>,
): Promise<void> {
  const { prefix, sorted } = plan(tensors, metadata);
  const tmp = `${path}.tmp`;
  try {
    const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      await writeAll(file, prefix);
      for (const [, t] of sorted) await writeAll(file, littleEndianBytes(t.data));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw fileError("write", path, e);
  }
  try {
    const dir = await Deno.open(dirname(path), { read: true });
    try {
      await dir.sync();
    } finally {
      dir.close();
    }
  } catch {
    // Directory fsync is unsupported on some platforms; the rename itself already happened.
  }
}

function plan(tensors: TensorsToWrite, metadata?: Record<string, string>) {
  const sorted = (tensors instanceof Map ? [...tensors] : Object.entries(tensors))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const parts: string[] = [];
  if (metadata) {
    const keys = Object.keys(metadata).sort();
    for (const k of keys) {
      if (typeof metadata[k] !== "string") {
        throw new TypeError(`Cannot serialize metadata ${q(k)}: value is not a string`);
      }
    }
    parts.push(
      `"__metadata__":{${
        keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(",")
      }}`,
    );
  }
  let offset = 0;
  for (const [name, { shape, data }] of sorted) {
    const what = `Cannot serialize tensor ${q(name)}`;
    if (name === "__metadata__") throw new TypeError(`${what}: the name is reserved`);
    if (!shape.every(isCount)) throw new RangeError(`${what}: shape ${show(shape)} is invalid`);
    const elements = shape.reduce((a, d) => a * d, 1);
    if (elements !== data.length) {
      throw new RangeError(
        `${what}: shape ${show(shape)} has ${elements} elements, data has ${data.length}`,
      );
    }
    const end = offset + data.byteLength;
    const offsets = `[${offset},${end}]`;
    const info = `{"dtype":"F32","shape":${JSON.stringify(shape)},"data_offsets":${offsets}}`;
    parts.push(`${JSON.stringify(name)}:${info}`);
    offset = end;
  }
  let json = new TextEncoder().encode(`{${parts.join(",")}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const spaced = new Uint8Array(padded).fill(0x20);
    spaced.set(json);
    json = spaced;
  }
  const prefix = new Uint8Array(8 + json.length);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(json.length), true);
  prefix.set(json, 8);
  return { prefix, sorted, dataBytes: offset };
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
}

/** Float32 data as little-endian bytes (a view: every platform Deno runs on is little-endian). */
function littleEndianBytes(data: Float32Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function decode(raw: Uint8Array, dtype: SafeDtype): Float32Array {
  if (dtype === "F32") return new Float32Array(raw.slice().buffer);
  const out = new Float32Array(raw.length / 2);
  const bits = new Uint32Array(out.buffer);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let i = 0; i < out.length; i++) {
    const h = view.getUint16(2 * i, true);
    bits[i] = dtype === "BF16" ? h << 16 >>> 0 : halfToFloatBits(h);
  }
  return out;
}
