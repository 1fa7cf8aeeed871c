/**
 * A native CBLAS library for the wasm backend's matmuls (`--blas auto|off|PATH`): found by name
 * through the system loader (OpenBLAS, MKL, BLIS, macOS Accelerate, or Debian's `libblas.so.3`
 * when it is one of them), opened with `Deno.dlopen` (needs `--allow-ffi`), checked with a
 * known-answer `cblas_sgemm` on every transpose combination and timed against the wasm kernel on
 * a DistilBERT-sized matmul: it is enabled only where it is correct and faster. ILP64 builds
 * (`*64_` or `ilp64` in the name; OpenBLAS's export only `cblas_sgemm64_`, so they do not open)
 * are refused: calling them with LP64 sizes would corrupt memory. OpenBLAS runs on the machine's cores (`OPENBLAS_NUM_THREADS` wins) with
 * `OPENBLAS_THREAD_TIMEOUT=4`, so that idle workers do not spin between calls.
 *
 * @module
 */
import { tf } from "./tf.ts";

/** `CblasRowMajor`, `CblasNoTrans`, `CblasTrans`. */
export const CBLAS = { rowMajor: 101, noTrans: 111, trans: 112 } as const;

const SYMBOLS = {
  cblas_sgemm: {
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "f32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "f32",
      "buffer",
      "i32",
    ],
    result: "void",
  },
  openblas_set_num_threads: { parameters: ["i32"], result: "void", optional: true },
  openblas_get_num_threads: { parameters: [], result: "i32", optional: true },
  openblas_get_config: { parameters: [], result: "pointer", optional: true },
} as const;

type BlasLibrary = Deno.DynamicLibrary<typeof SYMBOLS>;

/** The library names tried by `--blas auto`, in order (the system loader resolves them). */
export const BLAS_CANDIDATES: readonly string[] = Deno.build.os === "darwin"
  ? ["/System/Library/Frameworks/Accelerate.framework/Accelerate", "libopenblas.dylib"]
  : [
    "libopenblas.so.0",
    "libopenblas.so",
    "libmkl_rt.so.2",
    "libmkl_rt.so",
    "libblis.so.4",
    "libblis.so",
    "libblas.so.3",
  ];

/** An open, checked BLAS. */
export interface Blas {
  /** `cblas_sgemm` (row major), on views of the wasm heap or any Float32Array. */
  sgemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    b: Float32Array,
    ldb: number,
    beta: number,
    c: Float32Array,
    ldc: number,
  ): void;
  /** For the backend line: `OpenBLAS 0.3.21 (2 threads)`. */
  readonly description: string;
  readonly path: string;
  readonly threads: number;
}

/** The outcome of looking for a BLAS: the library, or why there is none. */
export type BlasLoad = { ok: true; blas: Blas } | { ok: false; reason: string };

/** Why a library name is refused before it is opened, or null. */
export function refuseByName(path: string): string | null {
  return /64_|ilp64/i.test(path)
    ? "an ILP64 build (64-bit sizes), which this LP64 call would corrupt"
    : null;
}

function readCString(pointer: Deno.PointerValue): string {
  if (pointer === null) return "";
  return new Deno.UnsafePointerView(pointer).getCString();
}

function open(path: string): { lib: BlasLibrary } | { reason: string } {
  const refused = refuseByName(path);
  if (refused) return { reason: `${path}: ${refused}` };
  try {
    return { lib: Deno.dlopen(path, SYMBOLS as unknown as typeof SYMBOLS) as BlasLibrary };
  } catch (err) {
    const message = (err as Error).message.split("\n")[0];
    return { reason: `${path}: ${message.length > 100 ? `${message.slice(0, 97)}...` : message}` };
  }
}

function describe(lib: BlasLibrary, path: string, threads: number): string {
  const config = lib.symbols.openblas_get_config
    ? readCString(lib.symbols.openblas_get_config())
    : "";
  const version = /OpenBLAS\s+([\d.]+)/.exec(config)?.[1];
  const name = version
    ? `OpenBLAS ${version}`
    : /mkl/i.test(path)
    ? "MKL"
    : /blis/i.test(path)
    ? "BLIS"
    : /Accelerate/.test(path)
    ? "Accelerate"
    : path.split("/").at(-1)!;
  return `${name} (${threads} thread${threads === 1 ? "" : "s"})`;
}

function wrap(lib: BlasLibrary, path: string, threads: number): Blas {
  const f = lib.symbols.cblas_sgemm;
  return {
    path,
    threads,
    description: describe(lib, path, threads),
    sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
      f(
        CBLAS.rowMajor,
        transA ? CBLAS.trans : CBLAS.noTrans,
        transB ? CBLAS.trans : CBLAS.noTrans,
        m,
        n,
        k,
        alpha,
        a,
        lda,
        b,
        ldb,
        beta,
        c,
        ldc,
      );
    },
  };
}

/** The product of row-major `a` `[m, k]` (or `[k, m]` transposed) and `b`, computed in JS. */
export function referenceMatMul(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  b: Float32Array,
): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        s += a[transA ? p * m + i : i * k + p] * b[transB ? j * k + p : p * n + j];
      }
      c[i * n + j] = s;
    }
  }
  return c;
}

/** A known-answer test of every transpose combination and of alpha/beta: null when right. */
export function knownAnswerTest(blas: Blas): string | null {
  const m = 5, n = 3, k = 7;
  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
    const a = Float32Array.from({ length: m * k }, (_, i) => ((i * 7) % 11) / 4 - 1.25);
    const b = Float32Array.from({ length: k * n }, (_, i) => ((i * 5) % 13) / 6 - 1);
    const c = new Float32Array(m * n).fill(2);
    blas.sgemm(ta, tb, m, n, k, 0.5, a, ta ? m : k, b, tb ? k : n, 1, c, n);
    const want = referenceMatMul(ta, tb, m, n, k, a, b);
    for (let i = 0; i < m * n; i++) {
      const expected = 0.5 * want[i] + 2;
      if (!(Math.abs(c[i] - expected) <= 1e-4 * (1 + Math.abs(expected)))) {
        return `cblas_sgemm(transA=${ta}, transB=${tb}) gave ${c[i]} for ${expected}`;
      }
    }
  }
  return null;
}

/** Milliseconds of the fastest of `runs` calls of `f`. */
function fastest(runs: number, f: () => void): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    f();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

/**
 * Times `blas` against the active wasm backend's matmul on `[256, 768] @ [768, 768]` (a
 * DistilBERT projection of 2 × 128 tokens); true when BLAS is at least 1.2× faster.
 */
export function fasterThanWasm(blas: Blas): { faster: boolean; blasMs: number; wasmMs: number } {
  const m = 256, k = 768, n = 768;
  const a = new Float32Array(m * k).fill(0.5), b = new Float32Array(k * n).fill(0.25);
  const c = new Float32Array(m * n);
  const blasMs = fastest(3, () => blas.sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n));
  const ta = tf.tensor2d(a, [m, k]), tb = tf.tensor2d(b, [k, n]);
  const wasmMs = fastest(2, () => tf.tidy(() => tf.matMul(ta, tb).dataSync()));
  tf.dispose([ta, tb]);
  return { faster: blasMs * 1.2 < wasmMs, blasMs, wasmMs };
}

function envValue(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env
  }
}

/** Sets the environment OpenBLAS reads when it loads (only what the user has not set). */
function prepareEnvironment(): void {
  try {
    if (Deno.env.get("OPENBLAS_THREAD_TIMEOUT") === undefined) {
      Deno.env.set("OPENBLAS_THREAD_TIMEOUT", "4");
    }
  } catch { /* no --allow-env: OpenBLAS spins a little between calls */ }
}

/**
 * Opens and checks the BLAS `choice` names (`auto`: the first of {@linkcode BLAS_CANDIDATES}
 * that opens; else a path or library name). Never throws: a missing library, no `--allow-ffi`,
 * a failed known-answer test or a slower library is a reason, and the wasm kernels stay.
 */
export function loadBlas(choice: string, options: { timing?: boolean } = {}): BlasLoad {
  if (typeof Deno.dlopen !== "function") return { ok: false, reason: "no FFI in this runtime" };
  prepareEnvironment();
  const names = choice === "auto" ? BLAS_CANDIDATES : [choice];
  const reasons: string[] = [];
  for (const path of names) {
    const opened = open(path);
    if ("reason" in opened) {
      reasons.push(opened.reason);
      if (/--allow-ffi|NotCapable|Requires ffi/i.test(opened.reason)) break;
      continue;
    }
    const { lib } = opened;
    let threads = navigator.hardwareConcurrency || 1;
    const env = Number(envValue("OPENBLAS_NUM_THREADS") ?? NaN);
    if (lib.symbols.openblas_set_num_threads) {
      if (Number.isInteger(env) && env > 0) threads = env;
      lib.symbols.openblas_set_num_threads(threads);
    }
    if (lib.symbols.openblas_get_num_threads) threads = lib.symbols.openblas_get_num_threads();
    const blas = wrap(lib, path, threads);
    const wrong = knownAnswerTest(blas);
    if (wrong) {
      lib.close();
      reasons.push(`${path}: failed its self-test (${wrong})`);
      continue;
    }
    if (options.timing !== false) {
      const t = fasterThanWasm(blas);
      if (!t.faster) {
        lib.close();
        reasons.push(
          `${path}: not faster than the wasm kernel (${t.blasMs.toFixed(1)} ms against ` +
            `${t.wasmMs.toFixed(1)} ms)`,
        );
        continue;
      }
    }
    return { ok: true, blas };
  }
  return { ok: false, reason: reasons.join("; ") || "no BLAS library found" };
}
