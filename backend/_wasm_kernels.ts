/**
 * Kernels that the wasm (and cpu) backends need for training, registered by `initBackend`.
 *
 * `UnsortedSegmentSum` (scatter-add): the gradient of `gather` (the embedding lookup) is `unsortedSegmentSum(dy, ids, vocabSize)`.
 * The wasm backend has no such kernel, and the cpu backend's loops over every segment
 * (O(vocab · rows · width), unusable for a 30,522-row vocabulary). This one makes a single
 * O(rows · width) pass: `out[ids[i]] += x[i]`, rows with an id outside `[0, numSegments)` dropped
 * (TensorFlow drops negative ids the same way).
 *
 * `Identity` (wasm): tfjs clones every tensor it saves for backward with `Identity`, which the wasm
 * backend implements as a copy. The replacement shares the buffer, ref-counted, as wasm's own
 * `Reshape` and the cpu backend's `Identity` do (measured: 0.5 GB less heap at batch 4). Sound
 * because no wasm kernel writes into its inputs. The in-place optimizer (train/heap_step.ts) does
 * write new weights into the weight tensors' heap buffers, but only between steps, when the tape
 * that held the shared buffers for backward has been disposed.
 *
 * `MrpcTuneDropoutMask` (wasm and cpu, mrpc-tune's own): the multiplier `tf.dropout` applies (0
 * or `1 / (1 - rate)`, the very same values for the same seed), written in one pass. `tf.dropout`
 * fills a JS `randomUniform` tensor and runs four kernels over it: on DistilBERT-base about 6% of
 * a training pass on wasm.
 *
 * `Slice` and `Unpack` (wasm): both read their input with `readSync`, which copies the whole
 * tensor out of the heap for every slice (an `unstack` of n rows copied n whole tensors). The
 * replacements copy contiguous slices straight between heap views and defer to the originals
 * otherwise.
 *
 * @module
 */
import { heapOffset, simdKernels } from "./simd.ts";
import { tf, tfWasm } from "./tf.ts";

/** Name of the kernel this module provides (tfjs-core's `UnsortedSegmentSum`). */
export const SCATTER_ADD_KERNEL: string = tf.UnsortedSegmentSum;

/** Name of the dropout-mask kernel (attrs `shape`, `rate`, `seed`; no inputs; float32 output). */
export const DROPOUT_MASK_KERNEL = "MrpcTuneDropoutMask";

type NumericArray = Float32Array | Int32Array;

let registered = false;

/**
 * Registers the scatter-add kernel for the wasm backend (which has none), replaces the cpu
 * backend's slow one and the wasm `Identity` copy. Safe to call repeatedly: later calls do nothing.
 */
export function registerTrainingKernels(): void {
  if (registered) return;
  registered = true;
  replaceWasmIdentity();
  replaceWasmSlicing();
  if (tf.getKernel(SCATTER_ADD_KERNEL, "wasm") === undefined) {
    tf.registerKernel({
      kernelName: SCATTER_ADD_KERNEL,
      backendName: "wasm",
      kernelFunc: scatterAddWasm as unknown as tf.KernelFunc,
    });
  }
  if (tf.getKernel(SCATTER_ADD_KERNEL, "cpu") !== undefined) {
    tf.unregisterKernel(SCATTER_ADD_KERNEL, "cpu");
  }
  tf.registerKernel({
    kernelName: SCATTER_ADD_KERNEL,
    backendName: "cpu",
    kernelFunc: scatterAddCpu as unknown as tf.KernelFunc,
  });
  registerDropoutMask();
}

/**
 * Fills `out` with the inverted-dropout multiplier `tf.dropout(x, rate, undefined, seed)` applies,
 * value for value: tfjs draws `u` from seedrandom's Alea seeded with `String(seed)`, rounds it to
 * float32, and keeps an element when `floor(u + keep)` (a float32 sum) is 1, scaling kept ones by
 * `1 / keep` (float32). Here the same generator runs inline in one pass, without the uniform
 * tensor and the four kernels `tf.dropout` spends on it. On wasm the kernel runs the same loop in
 * our wasm module (backend/simd/kernels.wat `dropout_mask`), from {@linkcode aleaState}.
 */
export function fillDropoutMask(out: Float32Array, rate: number, seed: number): void {
  const keep = Math.fround(1 - rate);
  const scale = Math.fround(1 / keep);
  let { s0, s1, s2 } = aleaState(seed);
  let c = 1;
  for (let i = 0; i < out.length; i++) {
    const t = 2091639 * s0 + c * 2.3283064365386963e-10;
    s0 = s1;
    s1 = s2;
    c = t | 0;
    s2 = t - c;
    out[i] = Math.fround(Math.fround(s2) + keep) >= 1 ? scale : 0;
  }
}

/**
 * The state Alea (J. Baagøe) starts from when seeded as seedrandom's `alea(String(seed))` is: its
 * Mash hash of " " three times, less the Mash hash of the key (the carry starts at 1).
 */
export function aleaState(seed: number): { s0: number; s1: number; s2: number } {
  let n = 0xefc8249d;
  const mash = (data: string): number => {
    for (let i = 0; i < data.length; i++) {
      n += data.charCodeAt(i);
      let h = 0.02519603282416938 * n;
      n = h >>> 0;
      h -= n;
      h *= n;
      n = h >>> 0;
      h -= n;
      n += h * 0x100000000;
    }
    return (n >>> 0) * 2.3283064365386963e-10;
  };
  let s0 = mash(" "), s1 = mash(" "), s2 = mash(" ");
  const key = String(seed);
  s0 -= mash(key);
  if (s0 < 0) s0 += 1;
  s1 -= mash(key);
  if (s1 < 0) s1 += 1;
  s2 -= mash(key);
  if (s2 < 0) s2 += 1;
  return { s0, s1, s2 };
}

interface DropoutMaskAttrs {
  shape: number[];
  rate: number;
  seed: number;
}

function registerDropoutMask(): void {
  for (const backendName of ["wasm", "cpu"]) {
    if (tf.getKernel(DROPOUT_MASK_KERNEL, backendName) !== undefined) continue;
    tf.registerKernel({
      kernelName: DROPOUT_MASK_KERNEL,
      backendName,
      kernelFunc: (args) => {
        const { shape, rate, seed } = args.attrs as unknown as DropoutMaskAttrs;
        if (backendName === "wasm") {
          const backend = args.backend as tfWasm.BackendWasm;
          const out = backend.makeOutput(shape, "float32");
          const simd = simdKernels();
          if (simd) {
            const keep = Math.fround(1 - rate);
            const n = tf.util.sizeFromShape(shape);
            simd.dropoutMask(heapOffset(out), n, aleaState(seed), keep, Math.fround(1 / keep));
          } else {
            fillDropoutMask(backend.typedArrayFromHeap(out) as Float32Array, rate, seed);
          }
          return out;
        }
        const values = new Float32Array(tf.util.sizeFromShape(shape));
        fillDropoutMask(values, rate, seed);
        return (args.backend as unknown as CpuBackendLike).makeTensorInfo(shape, "float32", values);
      },
    });
  }
}

function replaceWasmIdentity(): void {
  const original = tf.getKernel(tf.Identity, "wasm");
  if (original === undefined) return;
  tf.unregisterKernel(tf.Identity, "wasm");
  tf.registerKernel({
    kernelName: tf.Identity,
    backendName: "wasm",
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      if (x.dtype === "string") return original.kernelFunc(args);
      (args.backend as tfWasm.BackendWasm).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
}

/**
 * Reference scatter-add on plain arrays: `out[segmentIds[i], :] += x[i, :]` for rows of width
 * `rowSize`, ids outside `[0, numSegments)` skipped. Writes into `out` (which it does not clear).
 */
export function scatterAddRows(
  x: ArrayLike<number>,
  segmentIds: ArrayLike<number>,
  out: NumericArray,
  options: { rowSize: number; numSegments: number },
): void {
  const { rowSize, numSegments } = options;
  for (let i = 0; i < segmentIds.length; i++) {
    const seg = segmentIds[i];
    if (seg < 0 || seg >= numSegments) continue;
    const src = i * rowSize;
    const dst = seg * rowSize;
    for (let j = 0; j < rowSize; j++) out[dst + j] += x[src + j];
  }
}

interface KernelArgs {
  inputs: { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  attrs: { numSegments: number };
}

function outputShape(x: tf.TensorInfo, segmentIds: tf.TensorInfo, numSegments: number): number[] {
  const n = segmentIds.shape.reduce((a, b) => a * b, 1);
  if (x.shape.length < 1 || x.shape[0] !== n || segmentIds.shape.length !== 1) {
    throw new Error(
      `UnsortedSegmentSum: expected 1-D segment ids with one id per row of x, got x ` +
        `[${x.shape.join(", ")}] and ids [${segmentIds.shape.join(", ")}]`,
    );
  }
  return [numSegments, ...x.shape.slice(1)];
}

function scatterAddWasm(args: KernelArgs & { backend: tfWasm.BackendWasm }): tf.TensorInfo {
  const { inputs: { x, segmentIds }, attrs: { numSegments }, backend } = args;
  const shape = outputShape(x, segmentIds, numSegments);
  // Allocate first: malloc may grow the wasm heap, which detaches earlier views of it.
  const out = backend.makeOutput(shape, x.dtype);
  const outVals = backend.typedArrayFromHeap(out) as NumericArray;
  outVals.fill(0);
  const xVals = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  const rowSize = x.shape[0] === 0 ? 0 : xVals.length / x.shape[0];
  scatterAddRows(xVals as NumericArray, ids as NumericArray, outVals, { rowSize, numSegments });
  return out;
}

interface CpuBackendLike {
  readSync(dataId: unknown): ArrayLike<number>;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: NumericArray): tf.TensorInfo;
}

function scatterAddCpu(args: KernelArgs & { backend: CpuBackendLike }): tf.TensorInfo {
  const { inputs: { x, segmentIds }, attrs: { numSegments }, backend } = args;
  const shape = outputShape(x, segmentIds, numSegments);
  const xVals = backend.readSync(x.dataId);
  const ids = backend.readSync(segmentIds.dataId);
  const size = shape.reduce((a, b) => a * b, 1);
  const outVals = x.dtype === "int32" ? new Int32Array(size) : new Float32Array(size);
  const rowSize = x.shape[0] === 0 ? 0 : xVals.length / x.shape[0];
  scatterAddRows(xVals, ids, outVals, { rowSize, numSegments });
  return backend.makeTensorInfo(shape, x.dtype, outVals);
}

function replaceWasmSlicing(): void {
  const slice = tf.getKernel(tf.Slice, "wasm");
  const unpack = tf.getKernel(tf.Unpack, "wasm");
  if (slice === undefined || unpack === undefined) return;
  tf.unregisterKernel(tf.Slice, "wasm");
  tf.registerKernel({
    kernelName: tf.Slice,
    backendName: "wasm",
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      const { begin, size } = args.attrs as { begin: number[]; size: number[] };
      const [b, sz] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
      if (x.dtype === "string" || !tf.slice_util.isSliceContinous(x.shape, b, sz)) {
        return slice.kernelFunc(args);
      }
      const offset = tf.slice_util.computeFlatOffset(b, tf.util.computeStrides(x.shape));
      const backend = args.backend as tfWasm.BackendWasm;
      const out = backend.makeOutput(sz, x.dtype);
      const n = tf.util.sizeFromShape(sz);
      backend.typedArrayFromHeap(out).set(
        backend.typedArrayFromHeap(x).subarray(offset, offset + n),
      );
      return out;
    },
  });
  tf.unregisterKernel(tf.Unpack, "wasm");
  tf.registerKernel({
    kernelName: tf.Unpack,
    backendName: "wasm",
    kernelFunc: (args) => {
      const value = args.inputs.value as tf.TensorInfo;
      const axis = (args.attrs as { axis: number }).axis;
      if (value.dtype === "string" || (axis !== 0 && axis !== -value.shape.length)) {
        return unpack.kernelFunc(args);
      }
      const backend = args.backend as tfWasm.BackendWasm;
      const shape = value.shape.slice(1);
      const n = tf.util.sizeFromShape(shape);
      // Allocate every output before taking heap views (malloc may grow and detach the heap).
      const outs = Array.from(
        { length: value.shape[0] },
        () => backend.makeOutput(shape, value.dtype),
      );
      const src = backend.typedArrayFromHeap(value);
      outs.forEach((out, i) =>
        backend.typedArrayFromHeap(out).set(src.subarray(i * n, (i + 1) * n))
      );
      return outs;
    },
  });
}
