/**
 * TensorFlow.js backend selection (`--backend auto|tensorflow|wasm|cpu`).
 *
 * - `tensorflow`: the native TensorFlow binding, `@tensorflow/tfjs-node-gpu` first, then
 *   `@tensorflow/tfjs-node`; an `InputError` when neither loads. tfjs-node-gpu silently runs on
 *   the CPU when CUDA is missing, so `gpu` comes from `tf.backend().isUsingGpuDevice`.
 * - `wasm`: the WebAssembly backend (XNNPACK matmuls, one thread under Deno); with a native BLAS
 *   (`blas`: `auto`, `off` or a library path; see `blas.ts`) its matmuls run as `cblas_sgemm` on
 *   the wasm heap when the library passes its self-test and is faster.
 * - `cpu`: the pure-JS backend (slow; for debugging).
 * - `auto`: `tensorflow` when it loads (tfjs-node-gpu, then tfjs-node), else `wasm` with BLAS,
 *   else `wasm`.
 *
 * A failed native import costs well under a second and leaves no trace: its half-registered
 * `tensorflow` kernels are unregistered, nothing is printed but the one summary line.
 *
 * @example
 * ```ts
 * import { initBackend, tf } from "./selection.ts";
 * const info = await initBackend("auto", { log: console.log });
 * // Backend: wasm (CPU, 1 thread, @tensorflow/tfjs-backend-wasm; tried
 * //   @tensorflow/tfjs-node-gpu: native addon not installed; @tensorflow/tfjs-node: ...)   (one line)
 * const y = tf.tidy(() => tf.square(tf.tensor1d([1, 2])));
 * ```
 *
 * @module
 */
import { InputError } from "../core/mod.ts";
import { type Blas, type BlasLoad, loadBlas } from "./blas.ts";
import { setBlasKernels } from "./_blas_kernels.ts";
import { registerTrainingKernels } from "./_wasm_kernels.ts";
import { simdKernels } from "./simd.ts";
import { tf, tfWasm } from "./tf.ts";

/** Values of `--backend`. */
export type BackendChoice = "auto" | "tensorflow" | "wasm" | "cpu";

/** Every accepted `--backend` value, in `--help` order. */
export const BACKEND_CHOICES: readonly BackendChoice[] = ["auto", "tensorflow", "wasm", "cpu"];

/** What `initBackend` selected. */
export interface BackendInfo {
  /** The tfjs backend name now active: `tensorflow`, `wasm` or `cpu`. */
  name: "tensorflow" | "wasm" | "cpu";
  /** Whether the backend computes on a GPU. */
  gpu: boolean;
  /** The npm package providing the backend (for the log and for W&B run metadata). */
  provider: string;
  /** Compute threads (wasm: its thread pool; 0 when the backend manages its own). */
  threads: number;
  /** One `"package: reason"` per native binding that failed to load before this one. */
  fallbackReasons: string[];
  /** Milliseconds this selection took, including failed imports. */
  initMs: number;
  /** The BLAS the wasm matmuls run on (`OpenBLAS 0.3.21 (2 threads)`), or null. */
  blas: string | null;
  /** Why no BLAS runs, when one was looked for (`--blas auto` or a path) and none does. */
  blasReason: string | null;
  /**
   * Our wasm SIMD kernels when they load on the wasm backend (`mrpc-tune wasm SIMD kernels`),
   * else null. Training runs its optimizer step in place with them when a BLAS runs the matmuls.
   */
  simd: string | null;
}

/** Options of `initBackend`. */
export interface InitBackendOptions {
  /** Receives the one summary line (only when a selection is made, not on cached repeats). */
  log?: (line: string) => void;
  /** Native BLAS for the wasm matmuls: `auto` (default), `off`, or a library path or name. */
  blas?: string;
}

const NATIVE_PACKAGES = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"] as const;

/** Outcome of one native import attempt; made at most once per package and process. */
type NativeLoad = { ok: true; pkg: string } | { ok: false; pkg: string; reason: string };

const nativeLoads = new Map<string, Promise<NativeLoad>>();
const selected = new Map<string, BackendInfo>();
const blasLoads = new Map<string, BlasLoad>();

/** The BLAS `choice` names, loaded and checked once per process (null: none, or `off`). */
function blasFor(choice: string): Blas | null {
  if (choice === "off") return null;
  const load = blasLoads.get(choice);
  return load?.ok ? load.blas : null;
}

/**
 * Activates the backend for `choice` and returns what was selected. Re-callable: a choice already
 * made is re-activated from a cache (native imports are attempted once per process) and not logged
 * again. Throws `InputError` when `tensorflow` is requested but no native binding loads, and an
 * `Error` when the wasm or cpu backend fails to initialise.
 */
export async function initBackend(
  choice: BackendChoice,
  options: InitBackendOptions = {},
): Promise<BackendInfo> {
  if (!BACKEND_CHOICES.includes(choice)) {
    throw new InputError(
      `Invalid --backend "${choice}": expected one of ${BACKEND_CHOICES.join(", ")}`,
    );
  }
  const blasChoice = options.blas ?? "auto";
  const key = `${choice} ${blasChoice}`;
  const cached = selected.get(key);
  if (cached) {
    await activate(cached.name);
    setBlasKernels(cached.name === "wasm" ? blasFor(blasChoice) : null);
    return { ...cached, fallbackReasons: [...cached.fallbackReasons] };
  }
  const t0 = performance.now();
  const info = await select(choice, blasChoice);
  info.initMs = performance.now() - t0;
  selected.set(key, info);
  options.log?.(describeBackend(info));
  return { ...info, fallbackReasons: [...info.fallbackReasons] };
}

/** The one-line summary `initBackend` logs, e.g. `Backend: tensorflow (GPU, @tensorflow/tfjs-node-gpu)`. */
export function describeBackend(info: BackendInfo): string {
  const device = info.gpu ? "GPU" : "CPU";
  const threads = info.name === "wasm"
    ? `, ${info.threads} thread${info.threads === 1 ? "" : "s"}`
    : "";
  const tried = info.fallbackReasons.length > 0 ? `; tried ${info.fallbackReasons.join("; ")}` : "";
  const blas = info.blas ? ` + ${info.blas}` : "";
  const simd = info.simd
    ? ` + ${info.simd}${
      info.blas
        ? " (fused GELU and LayerNorm, dropout masks, in-place optimizer)"
        : " (fused GELU and LayerNorm, dropout masks; in-place optimizer idle: it needs a native sgemm)"
    }`
    : "";
  const noBlas = info.blasReason ? `; no BLAS: ${info.blasReason}` : "";
  return `Backend: ${info.name}${blas}${simd} (${device}${threads}, ${info.provider}${tried}${noBlas})`;
}

async function select(choice: BackendChoice, blas: string): Promise<BackendInfo> {
  if (choice === "wasm" || choice === "cpu") return await selectJs(choice, [], blas);
  const reasons: string[] = [];
  for (const pkg of NATIVE_PACKAGES) {
    const load = await loadNative(pkg);
    if (!load.ok) {
      reasons.push(`${pkg}: ${load.reason}`);
      continue;
    }
    if (await tf.setBackend("tensorflow")) {
      const gpu = (tf.backend() as { isUsingGpuDevice?: boolean }).isUsingGpuDevice === true;
      setBlasKernels(null);
      return {
        name: "tensorflow",
        gpu,
        provider: pkg,
        threads: 0,
        fallbackReasons: reasons,
        initMs: 0,
        blas: null,
        blasReason: null,
        simd: null,
      };
    }
    reasons.push(`${pkg}: the "tensorflow" backend failed to initialise`);
  }
  if (choice === "tensorflow") {
    throw new InputError(
      `Backend "tensorflow" is unavailable (${
        reasons.join("; ")
      }): use --backend wasm or install ` +
        `the native binding's libtensorflow`,
    );
  }
  return await selectJs("wasm", reasons, blas);
}

async function selectJs(
  name: "wasm" | "cpu",
  reasons: string[],
  blasChoice: string,
): Promise<BackendInfo> {
  registerTrainingKernels();
  await activate(name);
  let blas: Blas | null = null, blasReason: string | null = null;
  if (name === "wasm" && blasChoice !== "off") {
    let load = blasLoads.get(blasChoice);
    if (!load) {
      setBlasKernels(null); // time the library against the wasm kernel itself
      load = loadBlas(blasChoice);
      blasLoads.set(blasChoice, load);
    }
    if (load.ok) blas = load.blas;
    // `auto` falls back silently; a library the user named says why it is not used.
    else if (blasChoice !== "auto") blasReason = load.reason;
  }
  setBlasKernels(blas);
  // The cpu backend greets its first use under Node-like runtimes with a banner advising
  // tfjs-node; the choice was deliberate, so mark it as used.
  if (name === "cpu") (tf.backend() as { firstUse?: boolean }).firstUse = false;
  const wasm = name === "wasm";
  return {
    name,
    gpu: false,
    provider: wasm ? "@tensorflow/tfjs-backend-wasm" : "@tensorflow/tfjs-backend-cpu",
    threads: wasm ? tfWasm.getThreadsCount() : 1,
    fallbackReasons: reasons,
    initMs: 0,
    blas: blas?.description ?? null,
    blasReason,
    simd: wasm ? simdKernels()?.name ?? null : null,
  };
}

async function activate(name: string): Promise<void> {
  if (tf.getBackend() === name) return;
  if (!(await tf.setBackend(name))) {
    throw new Error(`Cannot initialise the TensorFlow.js "${name}" backend`);
  }
}

function loadNative(pkg: string): Promise<NativeLoad> {
  let load = nativeLoads.get(pkg);
  if (!load) {
    load = importNative(pkg);
    nativeLoads.set(pkg, load);
  }
  return load;
}

/**
 * The cpu and wasm kernels and the gradients registered now; `restore` puts back any that were
 * replaced since. (tfjs-node brings its own copy of tfjs-core and the cpu backend, through the
 * `@tensorflow/tfjs` umbrella; the registries are global, so its cpu kernels replace ours, such as
 * the training scatter-add, and its gradients tfjs-core's.)
 */
function keepJsRegistrations(): { restore(): void } {
  const kept = ["cpu", "wasm"].flatMap((b) => tf.getKernelsForBackend(b));
  const names = new Set(kept.map((k) => k.kernelName));
  const gradients = [...names].flatMap((name) => tf.getGradient(name) ?? []);
  return {
    restore() {
      for (const config of kept) {
        const now = tf.getKernel(config.kernelName, config.backendName);
        if (now === config) continue;
        if (now !== undefined) tf.unregisterKernel(config.kernelName, config.backendName);
        tf.registerKernel(config);
      }
      for (const config of gradients) {
        if (tf.getGradient(config.kernelName) !== config) tf.registerGradient(config);
      }
    },
  };
}

async function importNative(pkg: string): Promise<NativeLoad> {
  const kernels = keepJsRegistrations();
  // Its second tfjs-core registers the same platform, backend and kernels again, each with a
  // warning ("… is already registered"); tfjs logs none in production mode.
  const prod = tf.env().getBool("PROD");
  tf.env().set("PROD", true);
  try {
    // A computed specifier keeps the optional native packages out of the static module graph
    // (and out of `deno compile` output); the import map pins their versions.
    const specifier: string = pkg;
    await import(specifier);
    if (tf.findBackendFactory("tensorflow") === null) {
      return { ok: false, pkg, reason: 'registered no "tensorflow" backend' };
    }
    return { ok: true, pkg };
  } catch (error) {
    // tfjs-node registers its kernels before it loads the native addon: drop them, so that the
    // next attempt (or a later install) does not print "already registered" for each one.
    for (const kernel of tf.getKernelsForBackend("tensorflow")) {
      tf.unregisterKernel(kernel.kernelName, "tensorflow");
    }
    return { ok: false, pkg, reason: shortReason(error) };
  } finally {
    tf.env().set("PROD", prod);
    kernels.restore();
  }
}

function shortReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/native addon module.*can ?not be found/i.test(message)) return "native addon not installed";
  const line = message.split("\n")[0].trim();
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}
