/**
 * Where one training step's time goes: the step run once under `tf.profile`, its kernels' times
 * summed by kernel name (the backend's registered kernels: the ops that enclose them are left out). On wasm a kernel's time is the wall time of its synchronous call (the
 * backend's own timer: no read-back); what the step spends outside kernels (the optimizer step on
 * the heap, batching, JS) is the step's wall time less the kernels' sum.
 *
 * @module
 */
import { tf } from "../backend/mod.ts";
import type { Batch } from "../data/mod.ts";
import type { Stepper } from "./_parts.ts";

/** One kernel name's share of a profiled step. */
export interface KernelTime {
  readonly kernel: string;
  readonly seconds: number;
  readonly calls: number;
}

/** A profiled training step. */
export interface StepProfile {
  readonly batch: number;
  readonly seqLen: number;
  /** Wall seconds of the profiled step. */
  readonly stepSeconds: number;
  /** The kernels' time, summed. */
  readonly kernelSeconds: number;
  /** Every kernel name, the longest first. */
  readonly kernels: KernelTime[];
}

/** Runs one step of `stepper` over `batch` under `tf.profile` (see module docs). */
export async function profileStep(
  stepper: Stepper,
  batch: Batch,
  options: { lr: number; seed: number },
): Promise<StepProfile> {
  let stepSeconds = 0;
  const info = await tf.profile(() => {
    const t0 = performance.now();
    stepper.step([batch], options);
    stepSeconds = (performance.now() - t0) / 1000;
    return [];
  });
  const byName = new Map<string, { ms: number; calls: number }>();
  const backend = tf.getBackend();
  for (const k of info.kernels) {
    // Leaf kernels only: tf.profile also records the ops and custom gradients that enclose them
    // ("forward", "fusedMatMul__op"), whose time would count twice.
    if (tf.getKernel(k.name, backend) === undefined) continue;
    const t = await k.kernelTimeMs;
    const ms = typeof t === "number" ? t : 0;
    const entry = byName.get(k.name) ?? { ms: 0, calls: 0 };
    entry.ms += ms;
    entry.calls++;
    byName.set(k.name, entry);
  }
  const kernels = [...byName].map(([kernel, e]) => ({
    kernel,
    seconds: e.ms / 1000,
    calls: e.calls,
  })).sort((a, b) => b.seconds - a.seconds);
  return {
    batch: batch.batchSize,
    seqLen: batch.seqLen,
    stepSeconds,
    kernelSeconds: kernels.reduce((s, k) => s + k.seconds, 0),
    kernels,
  };
}
