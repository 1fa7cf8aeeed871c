/**
 * What the benchmark records about the machine and the process's memory (folder-private).
 *
 * @module
 */
import { tf } from "./tf.ts";

/** The machine and runtime a benchmark ran on. */
export interface MachineInfo {
  /** CPU model name (`/proc/cpuinfo`), or `"unknown"`. */
  readonly cpu: string;
  /** Logical cores the runtime reports. */
  readonly cores: number;
  /** `linux x86_64` and the like. */
  readonly os: string;
  readonly deno: string;
  readonly tfjs: string;
  /** ISO 8601 UTC time the benchmark started. */
  readonly date: string;
}

/** Describes this machine and runtime (the date is now). */
export function machineInfo(): MachineInfo {
  let cpu = "unknown";
  try {
    const match = Deno.readTextFileSync("/proc/cpuinfo").match(/^model name\s*:\s*(.+)$/m);
    if (match) cpu = match[1].trim();
  } catch {
    // Not Linux, or no /proc: the model stays unknown.
  }
  return {
    cpu,
    cores: navigator.hardwareConcurrency,
    os: `${Deno.build.os} ${Deno.build.arch}`,
    deno: Deno.version.deno,
    tfjs: tf.version.tfjs,
    date: new Date().toISOString(),
  };
}

/** Memory high-water marks of this process. */
export interface MemoryPeaks {
  /** Peak resident set size in bytes (`VmHWM`; else the largest RSS sampled). */
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
    const match = Deno.readTextFileSync("/proc/self/status").match(/^VmHWM:\s*(\d+)\s*kB$/m);
    if (match) peakRssBytes = Math.max(peakRssBytes, Number(match[1]) * 1024);
  } catch {
    // No /proc: keep the sampled peak.
  }
  return { peakRssBytes, wasmHeapBytes: wasmHeapBytes() };
}

/** Current size of the wasm backend's heap, or null when wasm is not the active backend. */
export function wasmHeapBytes(): number | null {
  if (tf.getBackend() !== "wasm") return null;
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return backend.wasm?.HEAPU8?.buffer.byteLength ?? null;
}
