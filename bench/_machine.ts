/**
 * What the benchmark records about the machine and the process's memory (folder-private).
 *
 * @module
 */
import os from "node:os";
import process from "node:process";
import { tf } from "../backend/mod.ts";

/** The machine and runtime a benchmark ran on. */
export interface MachineInfo {
  /** CPU model name (`os.cpus()`), or `"unknown"`. */
  readonly cpu: string;
  /** Logical cores the runtime reports. */
  readonly cores: number;
  /** `linux x86_64` and the like. */
  readonly os: string;
  readonly deno: string;
  readonly tfjs: string;
  /** ISO 8601 UTC time the benchmark started. */
  readonly date: string;
  /**
   * 1-, 5- and 15-minute load averages when it started (empty when unavailable): on a shared
   * machine, other work slows every figure.
   */
  readonly loadAverage: number[];
}

/**
 * Describes this machine and runtime (the date is now). Uses `node:os` (needs `--allow-sys`):
 * Deno reads `/proc` files only with `--allow-all`.
 */
export function machineInfo(): MachineInfo {
  let cpu = "unknown";
  try {
    cpu = os.cpus()[0]?.model?.trim() || cpu;
  } catch {
    // No --allow-sys: the model stays unknown.
  }
  return {
    cpu,
    cores: navigator.hardwareConcurrency,
    os: `${Deno.build.os} ${Deno.build.arch}`,
    deno: Deno.version.deno,
    tfjs: tf.version_core,
    date: new Date().toISOString(),
    loadAverage: loadAverage(),
  };
}

function loadAverage(): number[] {
  try {
    return os.loadavg().map((x) => Math.round(x * 100) / 100);
  } catch {
    return [];
  }
}

/** Memory high-water marks of this process. */
export interface MemoryPeaks {
  /** Peak resident set size in bytes (`getrusage` maxRSS; else the largest RSS sampled). */
  readonly peakRssBytes: number;
  /** Size of the wasm backend's heap in bytes (it only grows, so this is its peak); null off wasm. */
  readonly wasmHeapBytes: number | null;
}

let sampledRss = 0;

/** Records the current RSS, for platforms without a kernel high-water mark. */
export function sampleRss(): void {
  sampledRss = Math.max(sampledRss, Deno.memoryUsage().rss);
}

/** The process's memory peaks so far. */
export function memoryPeaks(): MemoryPeaks {
  sampleRss();
  let peakRssBytes = sampledRss;
  try {
    // getrusage's ru_maxrss, in KiB on Linux (the kernel's high-water mark, VmHWM).
    peakRssBytes = Math.max(peakRssBytes, process.resourceUsage().maxRSS * 1024);
  } catch {
    // Not available here: keep the sampled peak.
  }
  return { peakRssBytes, wasmHeapBytes: wasmHeapBytes() };
}

/** Current size of the wasm backend's heap, or null when wasm is not the active backend. */
export function wasmHeapBytes(): number | null {
  if (tf.getBackend() !== "wasm") return null;
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return backend.wasm?.HEAPU8?.buffer.byteLength ?? null;
}
