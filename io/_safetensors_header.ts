/**
 * Validation helpers of io/safetensors.ts: header entries, layout, duplicate keys, pickle
 * detection and one-line error text.
 *
 * @module
 */
import { InputError } from "../core/mod.ts";

/** Largest header accepted, checked before anything is allocated (the Rust library's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

/** Bytes per element of each dtype whose layout can be validated. */
// deno-fmt-ignore
export const DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, F8_E8M0: 1, I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4, I64: 8, U64: 8, F64: 8, C64: 8,
};

/** One tensor entry of a header, validated. */
export interface Entry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/** The float32 bit pattern of an IEEE half: exact for every value, NaN payloads kept. */
export function halfToFloatBits(h: number): number {
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

export function readMetadata(value: unknown, source: string): Record<string, string> {
  if (value === undefined) return {};
  if (!isObject(value)) throw bad(source, `"__metadata__" is not a JSON object`);
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== "string") throw bad(source, `"__metadata__" value of ${q(k)} is not a string`);
  }
  return Object.fromEntries(Object.entries(value)) as Record<string, string>;
}

export function readEntry(name: string, info: unknown, source: string): Entry {
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
export function checkLayout(entries: Entry[], dataLength: number, source: string): void {
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
export function findDuplicateKey(text: string): string | null {
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
export function looksLikePickle(bytes: Uint8Array): boolean {
  if (bytes.length < 8) return false;
  const zip = bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
  const pickle = bytes[0] === 0x80 && bytes[1] >= 2 && bytes[1] <= 5;
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  return (zip || pickle) && n > BigInt(Math.min(MAX_HEADER_BYTES, bytes.length - 8));
}

export function pickleMessage(path: string): string {
  return `Refusing to load "${path}": PyTorch pickle files can run arbitrary code when loaded; ` +
    "convert it to safetensors first (in Python: from safetensors.torch import save_file; " +
    'save_file(torch.load(path, weights_only=True), "model.safetensors"), or with transformers: ' +
    "model.save_pretrained(dir, safe_serialization=True))";
}

export function bad(source: string, problem: string): InputError {
  return new InputError(`Cannot read "${source}": ${problem}`);
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** A JSON-quoted string for messages, shortened so one hostile name cannot flood the line. */
export function q(s: string): string {
  return escapeControls(JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s));
}

export function show(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return escapeControls(json.length > 60 ? `${json.slice(0, 57)}...` : json).replaceAll(",", ", ");
}

/** Escapes control characters (JSON.stringify leaves DEL and C1 as they are) to keep one line. */
export function escapeControls(s: string): string {
  return s.replace(/\p{Cc}/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
