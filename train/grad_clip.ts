/**
 * Gradient clipping by global L2 norm, as `torch.nn.utils.clip_grad_norm_` computes it:
 * `total_norm = ‖all gradients‖₂`, `clip_coef = max_norm / (total_norm + 1e-6)`, and every gradient is
 * multiplied by `min(clip_coef, 1)`.
 *
 * The norm is measured here; the multiplication is left to `AdamW.step`'s `clipScale` option (train/adamw.ts),
 * which applies it inside the fused update so the gradients are read once and never copied.
 *
 * @example
 * ```ts
 * const clip = gradClip(grads, { maxNorm: 1.0 });
 * if (!clip.finite) skipStep(); // NaN/Inf somewhere in the gradients
 * else optimizer.step(params, grads, { lr, clipScale: clip.scale });
 * ```
 * @module
 */

/** The term `clip_grad_norm_` adds to the norm before dividing, so a zero norm never divides by 0. */
export const CLIP_EPSILON = 1e-6;

/** The outcome of measuring the gradients against a maximum norm. */
export interface GradClip {
  /** Global L2 norm before clipping, rounded to float32 as torch's tensor result (the `train/grad_norm` metric). */
  readonly totalNorm: number;
  /**
   * Factor to multiply every gradient by: `min(clip_coef, 1)` in float32, exactly 1 when clipping is off
   * or not needed, and NaN when the norm is not finite and clipping is on (as torch produces).
   */
  readonly scale: number;
  /** False when any gradient holds NaN or ±Infinity (or the norm overflows float32): skip the step. */
  readonly finite: boolean;
}

/** Options of {@link gradClip}. */
export interface GradClipOptions {
  /** `--max_grad_norm`: the largest allowed global norm; 0 (or less) disables clipping. */
  readonly maxNorm: number;
}

/**
 * Global L2 norm of all gradients, `sqrt(Σ g²)` over every element of every tensor, accumulated in
 * float64 and rounded once to float32. NaN or ±Infinity in any gradient makes it non-finite.
 */
export function globalGradNorm(grads: Iterable<Float32Array>): number {
  let sumSquares = 0;
  for (const g of grads) {
    let s = 0;
    for (let i = 0; i < g.length; i++) s += g[i] * g[i];
    sumSquares += s;
  }
  return Math.fround(Math.sqrt(sumSquares));
}

/**
 * The factor `clip_grad_norm_` multiplies gradients by, with torch's float32 rounding:
 * `clip_coef = (1 / (total_norm + 1e-6)) · max_norm` (torch evaluates `max_norm / tensor` as a
 * reciprocal times a scalar), clamped to at most 1. Returns 1 when `maxNorm <= 0` (clipping off).
 */
export function clipScale(totalNorm: number, maxNorm: number): number {
  if (!(maxNorm > 0)) return 1;
  const f = Math.fround;
  const denom = f(f(totalNorm) + f(CLIP_EPSILON));
  const coef = f(f(1 / denom) * f(maxNorm));
  return coef < 1 ? coef : Number.isNaN(coef) ? NaN : 1;
}

/**
 * Measures the gradients (given as a name→array map or any iterable of arrays) against
 * `options.maxNorm`. The gradients are not modified: pass `scale` to the optimizer. The norm is
 * reported even when clipping is disabled.
 */
export function gradClip(
  grads: ReadonlyMap<string, Float32Array> | Iterable<Float32Array>,
  options: GradClipOptions,
): GradClip {
  const arrays = grads instanceof Map ? grads.values() : grads as Iterable<Float32Array>;
  const totalNorm = globalGradNorm(arrays);
  return {
    totalNorm,
    scale: clipScale(totalNorm, options.maxNorm),
    finite: Number.isFinite(totalNorm),
  };
}
