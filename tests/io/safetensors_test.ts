import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "../../core/mod.ts";
import {
  MAX_HEADER_BYTES,
  parseSafetensors,
  readSafetensorsFile,
  refusePickle,
  serializeSafetensors,
  writeSafetensorsFile,
} from "../../io/mod.ts";
import { needsShared, sharedPath, withTempDir } from "../_helpers.ts";

const FIXTURE = "fixtures/distilbert-tiny-1/model/model.safetensors";

/** A file from header text (or raw header bytes) and `dataLength` data bytes 0, 1, 2, ... */
function build(header: string | Uint8Array, dataLength = 0, length?: bigint): Uint8Array {
  const json = typeof header === "string" ? new TextEncoder().encode(header) : header;
  const out = new Uint8Array(8 + json.length + dataLength);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(json.length), true);
  out.set(json, 8);
  for (let i = 0; i < dataLength; i++) out[8 + json.length + i] = i & 0xff;
  return out;
}

function f32Bits(values: number[]): Float32Array {
  return new Float32Array(new Uint32Array(values).buffer);
}

function bitsOf(data: Float32Array): number[] {
  return [...new Uint32Array(data.buffer, data.byteOffset, data.length)];
}

function halfFile(dtype: "F16" | "BF16", halves: number[]): Uint8Array {
  const n = halves.length;
  const file = build(
    `{"h":{"dtype":"${dtype}","shape":[${n}],"data_offsets":[0,${2 * n}]}}`,
    2 * n,
  );
  const view = new DataView(file.buffer, file.length - 2 * n);
  halves.forEach((h, i) => view.setUint16(2 * i, h, true));
  return file;
}

Deno.test("round trip keeps F32 bits, shapes (scalar, zero-size) and metadata", () => {
  const special = f32Bits([0x7fc00123, 0x80000000, 0x7f800000, 0xff800000, 0x00000001, 0x3f800000]);
  const tensors = new Map([
    ["b.weight", { shape: [2, 3], data: special }],
    ["a.bias", { shape: [3], data: new Float32Array([0.1, -2.5, 1e-30]) }],
    ["scalar", { shape: [], data: new Float32Array([42]) }],
    ["empty", { shape: [0, 4], data: new Float32Array(0) }],
    ["z", { shape: [2, 0, 3], data: new Float32Array(0) }],
  ]);
  const metadata = { format: "pt", "ünï": '✓ "quoted"' };
  const bytes = serializeSafetensors(tensors, metadata);

  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(headerLength % 8, 0);
  const header = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
  assert.ok(header.startsWith('{"__metadata__":{"format":"pt","ünï":"✓ \\"quoted\\""},"a.bias":'));
  const names = Object.keys(JSON.parse(header)).slice(1);
  assert.deepEqual(names, ["a.bias", "b.weight", "empty", "scalar", "z"]);
  assert.equal(bytes.length, 8 + headerLength + 4 * (6 + 3 + 1));

  const parsed = parseSafetensors(bytes);
  assert.deepEqual(parsed.metadata, metadata);
  assert.deepEqual(parsed.skipped, []);
  for (const [name, t] of tensors) {
    const got = parsed.tensors.get(name)!;
    assert.equal(got.dtype, "F32");
    assert.deepEqual(got.shape, t.shape, name);
    assert.deepEqual(bitsOf(got.data), bitsOf(t.data), name);
  }
  // A Record works too and gives the same bytes; no metadata means no "__metadata__" entry.
  assert.deepEqual(serializeSafetensors(Object.fromEntries(tensors), metadata), bytes);
  const bare = serializeSafetensors({ x: { shape: [1], data: new Float32Array([1]) } });
  assert.equal(new TextDecoder().decode(bare.subarray(8)).indexOf("__metadata__"), -1);
  assert.deepEqual(parseSafetensors(bare).metadata, {});
});

Deno.test("serializing inconsistent tensors is refused before writing anything", () => {
  assert.throws(
    () => serializeSafetensors({ w: { shape: [2, 2], data: new Float32Array(3) } }),
    {
      name: "RangeError",
      message: 'Cannot serialize tensor "w": shape [2, 2] has 4 elements, data has 3',
    },
  );
  assert.throws(
    () => serializeSafetensors({ w: { shape: [-1], data: new Float32Array(0) } }),
    { name: "RangeError", message: 'Cannot serialize tensor "w": shape [-1] is invalid' },
  );
  assert.throws(
    () => serializeSafetensors({ __metadata__: { shape: [], data: new Float32Array(1) } }),
    { name: "TypeError", message: 'Cannot serialize tensor "__metadata__": the name is reserved' },
  );
});

Deno.test({
  name: "reads the real DistilBERT fixture and re-serializes it byte for byte",
  ignore: needsShared(FIXTURE, "reads the real DistilBERT fixture"),
  async fn() {
    const path = sharedPath(FIXTURE);
    const { tensors, metadata } = await readSafetensorsFile(path);
    const config = JSON.parse(readFileSync(sharedPath(FIXTURE, "..", "config.json"), "utf8"));
    assert.deepEqual(metadata, { format: "pt" });
    assert.deepEqual(tensors.get("distilbert.embeddings.word_embeddings.weight")?.shape, [
      config.vocab_size,
      config.dim,
    ]);
    assert.deepEqual(tensors.get("classifier.weight")?.shape, [2, config.dim]);
    assert.ok(tensors.has("distilbert.transformer.layer.0.attention.q_lin.weight"));

    // Independent decode of one tensor straight from the file bytes.
    const file = await Deno.readFile(path);
    const view = new DataView(file.buffer);
    const n = Number(view.getBigUint64(0, true));
    const info = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n)))["classifier.weight"];
    const weight = tensors.get("classifier.weight")!.data;
    for (let i = 0; i < weight.length; i++) {
      assert.equal(weight[i], view.getFloat32(8 + n + info.data_offsets[0] + 4 * i, true));
    }

    // Our writer yields the same data section, and the same header but for "__metadata__"
    // coming first (as the current Rust library writes it).
    const again = serializeSafetensors(tensors, metadata);
    assert.deepEqual(again.subarray(8 + n), file.subarray(8 + n));
    const theirs = new TextDecoder().decode(file.subarray(8, 8 + n)).trimEnd();
    const ours = new TextDecoder().decode(again.subarray(8, 8 + n)).trimEnd();
    const moved = theirs.replace(',"__metadata__":{"format":"pt"}}', "}")
      .replace("{", '{"__metadata__":{"format":"pt"},');
    assert.equal(ours, moved);
  },
});

Deno.test("F16 converts exactly: hand-built vectors and all 65536 values", () => {
  const cases: [number, number][] = [
    [0x0000, 0],
    [0x8000, -0],
    [0x0001, 2 ** -24], // smallest subnormal
    [0x03ff, 1023 * 2 ** -24], // largest subnormal
    [0x8001, -(2 ** -24)],
    [0x0400, 2 ** -14], // smallest normal
    [0x3c00, 1],
    [0xc000, -2],
    [0x3555, 0.333251953125],
    [0x7bff, 65504],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
  ];
  const t = parseSafetensors(halfFile("F16", cases.map(([h]) => h))).tensors.get("h")!;
  assert.equal(t.dtype, "F16");
  cases.forEach(([h, v], i) => assert.ok(Object.is(t.data[i], v), `0x${h.toString(16)}`));

  const nan = parseSafetensors(halfFile("F16", [0x7e00, 0xfd01])).tensors.get("h")!.data;
  assert.deepEqual(bitsOf(nan), [0x7fc00000, 0xffa02000]); // quiet and signalling payloads kept

  const all = Array.from({ length: 65536 }, (_, h) => h);
  const data = parseSafetensors(halfFile("F16", all)).tensors.get("h")!.data;
  const oracle = new DataView(new Uint16Array(all).buffer) as DataView & {
    getFloat16(offset: number, littleEndian: boolean): number;
  };
  for (const h of all) {
    const want = oracle.getFloat16(2 * h, true);
    assert.ok(Object.is(data[h], want) || (isNaN(want) && isNaN(data[h])), `0x${h.toString(16)}`);
  }
});

Deno.test("BF16 converts exactly: subnormals, infinities, NaN and -0", () => {
  const halves = [0x3f80, 0x4049, 0x8000, 0x0001, 0x807f, 0x7f80, 0xff80, 0x7fc0, 0x7f7f];
  const t = parseSafetensors(halfFile("BF16", halves)).tensors.get("h")!;
  assert.equal(t.dtype, "BF16");
  assert.deepEqual(bitsOf(t.data), halves.map((h) => h * 65536));
  assert.deepEqual([...t.data.subarray(0, 3)], [1, 3.140625, -0]);
  assert.ok(Object.is(t.data[2], -0));
  assert.equal(t.data[3], 2 ** -133);
  assert.equal(t.data[5], Infinity);
  assert.ok(isNaN(t.data[7]));
});

const X = (dtype: string, shape: string, offsets: string) =>
  `{"x":{"dtype":"${dtype}","shape":${shape},"data_offsets":${offsets}}}`;
const OK = X("F32", "[2,2]", "[0,16]");

const BROKEN: [string, Uint8Array, string | RegExp][] = [
  ["short file", new Uint8Array(5), "file is 5 bytes, shorter than the 8-byte header length"],
  [
    "huge header length",
    build(OK, 16, 1n << 40n),
    "header length 1099511627776 exceeds the 100000000-byte limit",
  ],
  [
    "max u64 header length",
    build(OK, 16, (1n << 64n) - 1n),
    "header length 18446744073709551615 exceeds the 100000000-byte limit",
  ],
  [
    "header past the end",
    build("{}", 0, 1000n),
    "header length 1000 exceeds the 2 bytes after it (truncated?)",
  ],
  [
    "just over the cap",
    build("{}", 0, BigInt(MAX_HEADER_BYTES) + 1n),
    "header length 100000001 exceeds the 100000000-byte limit",
  ],
  ["invalid UTF-8", build(new Uint8Array([0x7b, 0xff, 0x7d])), "header is not valid UTF-8"],
  ["byte-order mark", build("\ufeff{}"), /^header is not valid JSON \(.+\)$/],
  ["not JSON", build('{"x":'), /^header is not valid JSON \(.+\)$/],
  ["JSON array", build("[1,2]"), "header is not a JSON object"],
  ["JSON null", build("null"), "header is not a JSON object"],
  ["entry not an object", build('{"x":[1]}'), 'tensor "x" is not a JSON object'],
  [
    "missing dtype",
    build('{"x":{"shape":[1],"data_offsets":[0,4]}}', 4),
    'tensor "x" has no string "dtype"',
  ],
  ["unknown dtype", build(X("Q4", "[1]", "[0,4]"), 4), 'tensor "x" has unknown dtype "Q4"'],
  [
    "negative dim",
    build(X("F32", "[-1]", "[0,4]"), 4),
    'tensor "x" shape [-1] is not a list of non-negative integers',
  ],
  [
    "fractional dim",
    build(X("F32", "[1.5]", "[0,4]"), 4),
    'tensor "x" shape [1.5] is not a list of non-negative integers',
  ],
  [
    "unsafe dim",
    build(X("F32", "[9007199254740993]", "[0,4]"), 4),
    'tensor "x" shape [9007199254740992] is not a list of non-negative integers',
  ],
  [
    "shape a string",
    build(X("F32", '"2"', "[0,4]"), 4),
    'tensor "x" shape "2" is not a list of non-negative integers',
  ],
  [
    "missing shape",
    build('{"x":{"dtype":"F32","data_offsets":[0,4]}}', 4),
    'tensor "x" has no "shape"',
  ],
  [
    "missing offsets",
    build('{"x":{"dtype":"F32","shape":[1]}}', 4),
    'tensor "x" has no "data_offsets"',
  ],
  [
    "one offset",
    build(X("F32", "[1]", "[0]"), 4),
    'tensor "x" data_offsets [0] are not two non-negative integers',
  ],
  [
    "string offset",
    build(X("F32", "[1]", '[0,"4"]'), 4),
    'tensor "x" data_offsets [0, "4"] are not two non-negative integers',
  ],
  [
    "reversed offsets",
    build(X("F32", "[0]", "[16,0]"), 16),
    'tensor "x" data_offsets [16, 0] end before they begin',
  ],
  [
    "size mismatch",
    build(X("F32", "[2,2]", "[0,12]"), 12),
    'tensor "x" data_offsets [0, 12] do not match shape [2, 2]: 4 × 4 bytes of F32',
  ],
  [
    "size overflow",
    build(X("F32", "[4294967296,4294967296,4294967296]", "[0,16]"), 16),
    'tensor "x" data_offsets [0, 16] do not match shape [4294967296, 4294967296, 4294967296]: 79228162514264337593543950336 × 4 bytes of F32',
  ],
  [
    "gap at start",
    build(X("F32", "[2,2]", "[4,20]"), 20),
    'tensor "x" data_offsets [4, 20] leave a gap after byte 0 of the data',
  ],
  [
    "gap between",
    build(
      '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}',
      12,
    ),
    'tensor "b" data_offsets [8, 12] leave a gap after byte 4 of the data',
  ],
  [
    "overlap",
    build(
      '{"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]},"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}',
      24,
    ),
    'tensor "b" data_offsets [8, 24] overlap tensor "a" [0, 16]',
  ],
  [
    "past the end",
    build(OK, 12),
    'tensor "x" data_offsets [0, 16] run past the end of the data (12 bytes; truncated?)',
  ],
  ["trailing bytes", build(OK, 20), "4 trailing bytes after the last tensor's data"],
  ["no tensors, trailing bytes", build("{}", 3), "3 trailing bytes after the last tensor's data"],
  [
    "duplicate name",
    build(
      `{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}`,
      16,
    ),
    'duplicate tensor name "x"',
  ],
  [
    "duplicate escaped name",
    build(
      `{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"\\u0078":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`,
      16,
    ),
    'duplicate tensor name "x"',
  ],
  [
    "duplicate entry key",
    build('{"x":{"dtype":"F32","dtype":"F16","shape":[2,2],"data_offsets":[0,16]}}', 16),
    'tensor "x" has duplicate key "dtype"',
  ],
  [
    "duplicate metadata key",
    build('{"__metadata__":{"a":"1","a":"2"}}'),
    '"__metadata__" has duplicate key "a"',
  ],
  [
    "duplicate metadata",
    build('{"__metadata__":{},"__metadata__":{}}'),
    'duplicate "__metadata__"',
  ],
  [
    "metadata not an object",
    build('{"__metadata__":["a"]}'),
    '"__metadata__" is not a JSON object',
  ],
  [
    "metadata number value",
    build('{"__metadata__":{"epoch":3}}'),
    '"__metadata__" value of "epoch" is not a string',
  ],
  [
    "unsupported dtype",
    build(X("I64", "[2]", "[0,16]"), 16),
    'tensor "x" has dtype "I64"; only F32, F16 and BF16 are read',
  ],
]; // deno-fmt-ignore

Deno.test("each broken rule is a clear InputError naming the file", () => {
  assert.equal(parseSafetensors(build(OK, 16)).tensors.get("x")?.shape.join(), "2,2");
  for (const [what, bytes, problem] of BROKEN) {
    const prefix = 'Cannot read "t.safetensors": ';
    assert.throws(() => parseSafetensors(bytes, { source: "t.safetensors" }), (e) => {
      assert.ok(e instanceof InputError, `${what}: ${e}`);
      if (typeof problem === "string") assert.equal(e.message, prefix + problem, what);
      else assert.match(e.message.slice(prefix.length), problem, what);
      return true;
    });
  }
});

Deno.test("skipUnsupported leaves out other dtypes but still validates them", () => {
  const file = build(
    '{"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},' +
      '"w":{"dtype":"F32","shape":[1],"data_offsets":[16,20]}}',
    20,
  );
  const { tensors, skipped } = parseSafetensors(file, { skipUnsupported: true });
  assert.deepEqual([...tensors.keys()], ["w"]);
  assert.deepEqual(skipped, ["ids"]);
  const bad = build(X("I64", "[3]", "[0,16]"), 16);
  assert.throws(() => parseSafetensors(bad, { skipUnsupported: true }), InputError);
});

const PICKLE_HINT = "PyTorch pickle files can run arbitrary code when loaded; convert it to " +
  "safetensors first (in Python: from safetensors.torch import save_file; " +
  'save_file(torch.load(path, weights_only=True), "model.safetensors"), or with transformers: ' +
  "model.save_pretrained(dir, safe_serialization=True))";

Deno.test("PyTorch pickle files are refused by name and by content", async () => {
  for (const path of ["x/pytorch_model.bin", "m.pt", "m.PTH", "run.ckpt"]) {
    await assert.rejects(readSafetensorsFile(path), {
      name: "InputError",
      message: `Refusing to load "${path}": ${PICKLE_HINT}`,
    });
  }
  const legacy = new Uint8Array([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20]);
  const framed = new Uint8Array([0x80, 0x04, 0x95, 0x30, 0, 0, 0, 0, 0x7d, 0x94, 0x2e]);
  const zip = new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0, 0x08, 0]);
  for (const bytes of [legacy, framed, zip]) {
    assert.throws(() => parseSafetensors(bytes, { source: "w.safetensors" }), {
      name: "InputError",
      message: `Refusing to load "w.safetensors": ${PICKLE_HINT}`,
    });
    assert.throws(() => refusePickle("w.safetensors", bytes), InputError);
  }
  // A genuine safetensors whose header length starts 0x80 0x02 is not mistaken for a pickle.
  const header = `{"__metadata__":{"pad":"${" ".repeat(640 - 30)}"}}`;
  const lookalike = build(header.padEnd(640));
  assert.deepEqual([...lookalike.subarray(0, 2)], [0x80, 0x02]);
  assert.doesNotThrow(() => refusePickle("w.safetensors", lookalike));
  assert.equal(parseSafetensors(lookalike).tensors.size, 0);
  refusePickle("model.safetensors");
});

Deno.test("writeSafetensorsFile is atomic and readSafetensorsFile reports missing files", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "model.safetensors");
    await writeSafetensorsFile(path, { w: { shape: [2], data: new Float32Array([1, 2]) } });
    await writeSafetensorsFile(path, { w: { shape: [3], data: new Float32Array([3, 4, 5]) } }, {
      step: "2",
    });
    assert.ok(!existsSync(`${path}.tmp`));
    const { tensors, metadata } = await readSafetensorsFile(path);
    assert.deepEqual([...tensors.get("w")!.data], [3, 4, 5]);
    assert.deepEqual(metadata, { step: "2" });
    const bad = { w: { shape: [4], data: new Float32Array(1) } };
    await assert.rejects(writeSafetensorsFile(path, bad), RangeError);
    assert.deepEqual([...(await readSafetensorsFile(path)).tensors.get("w")!.data], [3, 4, 5]);
    assert.ok(!existsSync(`${path}.tmp`));
    const missing = join(dir, "nope.safetensors");
    await assert.rejects(readSafetensorsFile(missing), {
      name: "InputError",
      message: `Cannot read "${missing}": no such file`,
    });
  });
});

/** mulberry32: a small seeded PRNG so that a fuzz failure reproduces. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// deno-fmt-ignore
const TOKENS = [
  '"', "{", "}", "[", "]", ",", ":", "-1", "1e400", "9007199254740993", "0.5", "null", "\\",
  '"F16"', '"BF16"', '"I64"', '"__metadata__"', '"dtype":"F32"', "\\u0000", "\ufeff", "\u00e9",
  "\n", "\u0010", '"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},',
  '"shape":[4294967296,4294967296]',
];

Deno.test("fuzz: 2000 mutated files either parse or fail with an InputError", () => {
  const rand = prng(20240611);
  const int = (n: number) => Math.floor(rand() * n);
  const seeds = [
    serializeSafetensors(
      {
        "a.weight": { shape: [2, 3], data: new Float32Array(6).fill(1.5) },
        s: { shape: [], data: new Float32Array(1) },
      },
      { format: "pt", note: "é" },
    ),
    halfFile("F16", [0x3c00, 0x0001, 0x7c00]),
    halfFile("BF16", [0x3f80, 0x7fc0]),
    build(
      `{"e":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"u":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}}`,
      3,
    ),
  ]; // deno-fmt-ignore
  const outcomes = { parsed: 0, refused: 0 };
  for (let iter = 0; iter < 2000; iter++) {
    let bytes: Uint8Array = seeds[int(seeds.length)].slice();
    for (let m = 1 + int(3); m > 0; m--) bytes = mutate(bytes, int, rand);
    let result;
    try {
      result = parseSafetensors(bytes, { source: "fuzz" });
    } catch (e) {
      if (!(e instanceof InputError)) throw new Error(`iteration ${iter}: ${e}`, { cause: e });
      assert.match(e.message, /^(Cannot read|Refusing to load) "fuzz"/);
      assert.ok(e.message.length < 600 && !/\p{Cc}/u.test(e.message), JSON.stringify(e.message));
      outcomes.refused++;
      continue;
    }
    outcomes.parsed++;
    for (const t of result.tensors.values()) {
      assert.equal(t.data.length, t.shape.reduce((a, d) => a * d, 1));
    }
  }
  assert.ok(outcomes.parsed > 50 && outcomes.refused > 500, JSON.stringify(outcomes));
});

/** One random mutation: byte flips, truncation, growth, header length or header JSON edits. */
function mutate(bytes: Uint8Array, int: (n: number) => number, rand: () => number): Uint8Array {
  const n = bytes.length >= 8 ? Number(new DataView(bytes.buffer).getBigUint64(0, true)) : 0;
  const headerFits = bytes.length >= 8 && n <= bytes.length - 8;
  switch (int(7)) {
    case 0: // flip a byte anywhere
      if (bytes.length) bytes[int(bytes.length)] ^= 1 << int(8);
      return bytes;
    case 1: // truncate
      return bytes.slice(0, int(bytes.length + 1));
    case 2: // grow with random bytes
      return Uint8Array.from([...bytes, ...Array.from({ length: 1 + int(9) }, () => int(256))]);
    case 3: { // rewrite the header length
      const out = bytes.length >= 8 ? bytes : new Uint8Array(8);
      const choices = [
        BigInt(int(2 ** 32)),
        BigInt(n + int(17) - 8),
        1n << BigInt(int(64)),
        (1n << 64n) - 1n,
      ];
      const v = choices[int(choices.length)];
      new DataView(out.buffer).setBigUint64(0, v < 0n ? 0n : v, true);
      return out;
    }
    default: { // edit the header JSON, keeping the length prefix consistent
      if (!headerFits) return bytes;
      let text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
      const at = int(text.length + 1);
      const kind = int(4);
      if (kind === 0) text = text.slice(0, at) + TOKENS[int(TOKENS.length)] + text.slice(at);
      else if (kind === 1) text = text.slice(0, at) + text.slice(at + 1 + int(4));
      else if (kind === 2) text = text.replace(/\d+/g, (d) => (rand() < 0.2 ? String(int(40)) : d));
      else {text = text.slice(0, at) + text.slice(int(text.length), int(text.length)) +
          text.slice(at);}
      const json = new TextEncoder().encode(text);
      return concat(json, bytes.subarray(8 + n));
    }
  }
}

function concat(json: Uint8Array, data: Uint8Array): Uint8Array {
  const out = build(json, data.length);
  out.set(data, 8 + json.length);
  return out;
}
