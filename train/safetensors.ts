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
import { InputError } from "../data/errors.ts";

/** Largest header accepted, checked before anything is allocated (the Rust library's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

/** Bytes per element of each dtype whose layout can be validated. */
// deno-fmt-ignore
const DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, F8_E8M0: 1, I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4, I64: 8, U64: 8, F64: 8, C64: 8,
};

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

interface Entry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

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
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    await writeAll(file, prefix);
    for (const [, t] of sorted) await writeAll(file, littleEndianBytes(t.data));
    await file.sync();
  } catch (e) {
    file.close();
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  file.close();
  await Deno.rename(tmp, path);
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

/** The float32 bit pattern of an IEEE half: exact for every value, NaN payloads kept. */
function halfToFloatBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  let e = 113; // subnormal: mant × 2^-24, renormalised
  let m = mant;
  while ((m & 0x400) === 0) {
    m <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((m & 0x3ff) << 13)) >>> 0;
}

function readMetadata(value: unknown, source: string): Record<string, string> {
  if (value === undefined) return {};
  if (!isObject(value)) throw bad(source, `"__metadata__" is not a JSON object`);
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== "string") throw bad(source, `"__metadata__" value of ${q(k)} is not a string`);
  }
  return Object.fromEntries(Object.entries(value)) as Record<string, string>;
}

function readEntry(name: string, info: unknown, source: string): Entry {
  const tensor = `tensor ${q(name)}`;
  if (!isObject(info)) throw bad(source, `${tensor} is not a JSON object`);
  const { dtype, shape, data_offsets: offsets } = info;
  if (typeof dtype !== "string") throw bad(source, `${tensor} has no string "dtype"`);
  if (!Object.hasOwn(DTYPE_BYTES, dtype)) {
    throw bad(source, `${tensor} has unknown dtype ${q(dtype)}`);
  }
  if (shape === undefined) throw bad(source, `${tensor} has no "shape"`);
  if (offsets === undefined) throw bad(source, `${tensor} has no "data_offsets"`);
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw bad(source, `${tensor} shape ${show(shape)} is not a list of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    throw bad(source, `${tensor} data_offsets ${show(offsets)} are not two non-negative integers`);
  }
  const [begin, end] = offsets as number[];
  const span = `${tensor} data_offsets [${begin}, ${end}]`;
  if (end < begin) throw bad(source, `${span} end before they begin`);
  const elements = shape.reduce((a: bigint, d: number) => a * BigInt(d), 1n);
  const size = DTYPE_BYTES[dtype];
  if (elements * BigInt(size) !== BigInt(end - begin)) {
    throw bad(
      source,
      `${span} do not match shape ${show(shape)}: ${elements} × ${size} bytes of ${dtype}`,
    );
  }
  return { name, dtype, shape, begin, end };
}

/** Offsets must tile the data section exactly: sorted by begin, no gaps, no overlaps, no tail. */
function checkLayout(entries: Entry[], dataLength: number, source: string): void {
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let previous: Entry | undefined;
  for (const e of entries) {
    const at = previous?.end ?? 0;
    const span = `tensor ${q(e.name)} data_offsets [${e.begin}, ${e.end}]`;
    if (e.begin > at) throw bad(source, `${span} leave a gap after byte ${at} of the data`);
    if (previous && e.begin < at) {
      throw bad(
        source,
        `${span} overlap tensor ${q(previous.name)} [${previous.begin}, ${previous.end}]`,
      );
    }
    if (e.end > dataLength) {
      throw bad(source, `${span} run past the end of the data (${dataLength} bytes; truncated?)`);
    }
    previous = e;
  }
  const used = previous?.end ?? 0;
  if (used < dataLength) {
    throw bad(source, `${dataLength - used} trailing bytes after the last tensor's data`);
  }
}

/**
 * Scans JSON text that `JSON.parse` accepted and reports the first key repeated within one
 * object (`JSON.parse` silently keeps the last one), or null.
 */
function findDuplicateKey(text: string): string | null {
  const frames: { keys: Set<string> | null; expectKey: boolean; owner: string | null }[] = [];
  let lastKey: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const top = frames[frames.length - 1];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      if (top?.keys && top.expectKey) {
        const key: string = JSON.parse(text.slice(i, j + 1));
        if (top.keys.has(key)) {
          if (frames.length === 1) {
            return key === "__metadata__"
              ? 'duplicate "__metadata__"'
              : `duplicate tensor name ${q(key)}`;
          }
          if (top.owner === null) return `duplicate key ${q(key)}`;
          const owner = top.owner === "__metadata__" ? '"__metadata__"' : `tensor ${q(top.owner)}`;
          return `${owner} has duplicate key ${q(key)}`;
        }
        top.keys.add(key);
        top.expectKey = false;
        lastKey = key;
      }
      i = j;
    } else if (c === "{" || c === "[") {
      const owner = frames.length === 1 ? lastKey : null;
      frames.push({ keys: c === "{" ? new Set() : null, expectKey: c === "{", owner });
    } else if (c === "}" || c === "]") {
      frames.pop();
    } else if (c === "," && top?.keys) {
      top.expectKey = true;
    }
  }
  return null;
}

/** A zip (`torch.save`) or pickle-protocol start where a plausible header length should be. */
function looksLikePickle(bytes: Uint8Array): boolean {
  if (bytes.length < 8) return false;
  const zip = bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
  const pickle = bytes[0] === 0x80 && bytes[1] >= 2 && bytes[1] <= 5;
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  return (zip || pickle) && n > BigInt(Math.min(MAX_HEADER_BYTES, bytes.length - 8));
}

function pickleMessage(path: string): string {
  return `Refusing to load "${path}": PyTorch pickle files can run arbitrary code when loaded; ` +
    "convert it to safetensors first (in Python: from safetensors.torch import save_file; " +
    'save_file(torch.load(path, weights_only=True), "model.safetensors"), or with transformers: ' +
    "model.save_pretrained(dir, safe_serialization=True))";
}

function bad(source: string, problem: string): InputError {
  return new InputError(`Cannot read "${source}": ${problem}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** A JSON-quoted string for messages, shortened so one hostile name cannot flood the line. */
function q(s: string): string {
  return escapeControls(JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s));
}

function show(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return escapeControls(json.length > 60 ? `${json.slice(0, 57)}...` : json).replaceAll(",", ", ");
}

/** Escapes control characters (JSON.stringify leaves DEL and C1 as they are) to keep one line. */
function escapeControls(s: string): string {
  return s.replace(/\p{Cc}/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
