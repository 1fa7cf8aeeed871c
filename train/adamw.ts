/**
 * AdamW with `torch.optim.AdamW` semantics, as one fused single-pass loop over plain `Float32Array`s
 * keyed by Hugging Face parameter name (backend-independent; no tensors, no wasm heap).
 *
 * Per element, in torch's operation order (`_single_tensor_adamw`) with float32 rounding after each
 * torch op (the JS arithmetic is float64 and `Math.fround` rounds where torch's float32 kernels do):
 * ```
 * g  = grad · clipScale                     (clip_grad_norm_'s in-place multiply; skipped when 1)
 * p  = p · (1 − lr·wd)                      (decoupled weight decay, wd = 0 for no-decay names)
 * m  = m + (1 − β1)·(g − m)                 (lerp_, fused multiply-add as torch's vector kernel)
 * v  = v·β2 + ((1 − β2)·g)·g                (mul_ then addcmul_)
 * d  = sqrt(v) / sqrt(1 − β2^t) + eps
 * p  = p + ((−lr / (1 − β1^t))·m) / d       (addcdiv_)
 * ```
 * Layout: the update is elementwise, so any memory layout works (e.g. Linear weights kept transposed
 * as `[in, out]` while the disk holds `[out, in]`) as long as a parameter, its gradient and its two
 * moments share it. Saved moments therefore carry the in-memory layout of their parameter.
 *
 * @example
 * ```ts
 * const opt = new AdamW({ weightDecay: 0.01 });
 * const clip = gradClip(grads, { maxNorm: 1 });
 * if (clip.finite) opt.step(params, grads, { lr: lrAt(opt.stepCount, schedule), clipScale: clip.scale });
 * ```
 * @module
 */
import type { AdamWConstants } from "../backend/mod.ts";

/** torch's default betas. */
export const DEFAULT_BETAS: readonly [number, number] = [0.9, 0.999];
/** torch's default epsilon. */
export const DEFAULT_EPS = 1e-8;

/**
 * Whether the Hugging Face Trainer applies weight decay to parameter `name`: not to biases and not to
 * normalisation layers (names containing `bias`, `layernorm`, `layer_norm`, a `norm` component or a
 * `_norm` suffix, case-insensitive, as `Trainer.get_decay_parameter_names`). In DistilBERT the excluded
 * LayerNorm weights are `distilbert.embeddings.LayerNorm.weight`, `*.sa_layer_norm.weight` and
 * `*.output_layer_norm.weight`.
 */
export function decaysWeight(name: string): boolean {
  const lower = name.toLowerCase();
  return !NO_DECAY_PATTERNS.some((pattern) => pattern.test(lower));
}

const NO_DECAY_PATTERNS: readonly RegExp[] = [
  /bias/,
  /layernorm/,
  /layer_norm/,
  /(?:^|\.)norm(?:$|\.)/,
  /_norm(?:$|\.)/,
];

/** Construction options of {@link AdamW}. */
export interface AdamWOptions {
  /** Coefficients of the moment averages (default {@link DEFAULT_BETAS}). */
  readonly betas?: readonly [number, number];
  /** Added to the denominator (default {@link DEFAULT_EPS}). */
  readonly eps?: number;
  /** Decoupled weight decay for the parameters that `decays` selects (`--weight_decay`). */
  readonly weightDecay: number;
  /** Which parameters get weight decay (default {@link decaysWeight}). */
  readonly decays?: (name: string) => boolean;
}

/** Per-step options of {@link AdamW.step}. */
export interface AdamWStepOptions {
  /** Learning rate of this step (from the schedule). */
  readonly lr: number;
  /** Multiplier of every gradient, from `gradClip(...).scale` (default 1: no clipping). */
  readonly clipScale?: number;
}

/** Optimizer state: step count and both moments under the parameter names (live arrays). */
export interface AdamWState {
  /** Number of optimizer steps taken (torch's `state[p]["step"]`). */
  readonly step: number;
  /** First moments (`exp_avg`). */
  readonly m: ReadonlyMap<string, Float32Array>;
  /** Second moments (`exp_avg_sq`). */
  readonly v: ReadonlyMap<string, Float32Array>;
}

/**
 * AdamW over `Float32Array` parameters, updated in place. Moments are created (zero) on a parameter's
 * first step. The trainer reads its tensors' data, calls {@link AdamW.step}, then writes the arrays
 * back into fresh tensors (a new buffer per step, so XNNPACK's packed-weight cache is never stale).
 */
export class AdamW {
  readonly #beta1: number;
  readonly #beta2: number;
  readonly #eps: number;
  readonly #weightDecay: number;
  readonly #decays: (name: string) => boolean;
  #step = 0;
  #m = new Map<string, Float32Array>();
  #v = new Map<string, Float32Array>();

  /** Validates the hyperparameters as `torch.optim.AdamW` does. */
  constructor(options: AdamWOptions) {
    const [beta1, beta2] = options.betas ?? DEFAULT_BETAS;
    const eps = options.eps ?? DEFAULT_EPS;
    if (!(beta1 >= 0 && beta1 < 1)) throw new RangeError(`Invalid AdamW beta1 "${beta1}"`);
    if (!(beta2 >= 0 && beta2 < 1)) throw new RangeError(`Invalid AdamW beta2 "${beta2}"`);
    if (!(eps >= 0)) throw new RangeError(`Invalid AdamW epsilon "${eps}"`);
    if (!(options.weightDecay >= 0 && Number.isFinite(options.weightDecay))) {
      throw new RangeError(`Invalid AdamW weight decay "${options.weightDecay}"`);
    }
    this.#beta1 = beta1;
    this.#beta2 = beta2;
    this.#eps = eps;
    this.#weightDecay = options.weightDecay;
    this.#decays = options.decays ?? decaysWeight;
  }

  /** Number of steps taken so far: the 0-based index of the next step (feed it to `lrAt`). */
  get stepCount(): number {
    return this.#step;
  }

  /**
   * One AdamW step on every parameter in `params`, in place. `grads` must hold a gradient of the same
   * length for each parameter name (extra gradients are an error too). The caller skips the step when
   * the gradients are not finite (see `gradClip(...).finite`); a non-finite `lr` or `clipScale` throws.
   */
  step(
    params: ReadonlyMap<string, Float32Array>,
    grads: ReadonlyMap<string, Float32Array>,
    options: AdamWStepOptions,
  ): void {
    for (const [name, p] of params) {
      const g = grads.get(name);
      if (!g) throw new Error(`AdamW step: no gradient for parameter "${name}"`);
      if (g.length !== p.length) {
        throw new Error(
          `AdamW step: gradient of "${name}" has ${g.length} elements, parameter has ${p.length}`,
        );
      }
      const m = this.#m.get(name);
      if (m && m.length !== p.length) {
        throw new Error(
          `AdamW step: moments of "${name}" have ${m.length} elements, parameter has ${p.length}`,
        );
      }
    }
    for (const name of grads.keys()) {
      if (!params.has(name)) throw new Error(`AdamW step: gradient "${name}" has no parameter`);
    }

    const constants = this.nextStep(options);
    for (const [name, p] of params) {
      let m = this.#m.get(name);
      let v = this.#v.get(name);
      if (!m || !v) {
        m = new Float32Array(p.length);
        v = new Float32Array(p.length);
        this.#m.set(name, m);
        this.#v.set(name, v);
      }
      fusedUpdate(p, grads.get(name)!, m, v, constants.of(name));
    }
    this.completeStep();
  }

  /**
   * The float32 constants of the next step, in the one place they are computed (a step that runs
   * elsewhere, such as the wasm SIMD kernel, takes them from here): `of(name)` gives a
   * parameter's, with its weight decay factor (1 for no-decay names). Call
   * {@linkcode AdamW.completeStep} once the step has been applied.
   */
  nextStep(options: AdamWStepOptions): { of(name: string): StepCoefficients } {
    const { lr, clipScale = 1 } = options;
    if (!(Number.isFinite(lr) && lr >= 0)) {
      throw new RangeError(`AdamW step: learning rate must be finite and >= 0, got "${lr}"`);
    }
    if (!Number.isFinite(clipScale)) {
      throw new RangeError(`AdamW step: clip scale must be finite, got "${clipScale}"`);
    }
    const t = this.#step + 1;
    const f = Math.fround;
    const base: StepCoefficients = {
      clipScale: f(clipScale),
      decayFactor: 1,
      oneMinusBeta1: f(1 - this.#beta1),
      beta2: f(this.#beta2),
      oneMinusBeta2: f(1 - this.#beta2),
      negStepSize: f(-(lr / (1 - this.#beta1 ** t))),
      biasCorrection2Sqrt: f(Math.sqrt(1 - this.#beta2 ** t)),
      eps: f(this.#eps),
    };
    const decayed = { ...base, decayFactor: f(1 - lr * this.#weightDecay) };
    return { of: (name) => this.#decays(name) ? decayed : base };
  }

  /** Counts a step applied with {@linkcode AdamW.nextStep}'s constants. */
  completeStep(): void {
    this.#step++;
  }

  /**
   * The state to checkpoint: step count and the live moment arrays (do not modify them; they change
   * at the next step, so write them out before stepping again).
   */
  state(): AdamWState {
    return { step: this.#step, m: this.#m, v: this.#v };
  }

  /**
   * Restores a checkpointed state (copies the arrays), so that subsequent steps are bit-identical to
   * an uninterrupted run. `m` and `v` must name the same parameters with equal lengths.
   */
  loadState(state: AdamWState): void {
    if (!Number.isInteger(state.step) || state.step < 0) {
      throw new RangeError(`AdamW state: step must be a non-negative integer, got "${state.step}"`);
    }
    const m = new Map<string, Float32Array>();
    const v = new Map<string, Float32Array>();
    for (const [name, mArr] of state.m) {
      const vArr = state.v.get(name);
      if (!vArr) throw new Error(`AdamW state: "${name}" has a first moment but no second moment`);
      if (vArr.length !== mArr.length) {
        throw new Error(
          `AdamW state: moments of "${name}" differ in length (${mArr.length} vs ${vArr.length})`,
        );
      }
      m.set(name, mArr.slice());
      v.set(name, vArr.slice());
    }
    for (const name of state.v.keys()) {
      if (!state.m.has(name)) {
        throw new Error(`AdamW state: "${name}" has a second moment but no first moment`);
      }
    }
    this.#step = state.step;
    this.#m = m;
    this.#v = v;
  }
}

/**
 * Float32 constants of one step (torch casts each Python scalar to the tensor's float32): the
 * same record the wasm AdamW kernel takes.
 */
type StepCoefficients = AdamWConstants;

/**
 * The fused per-element update. Each `f(...)` is one float32 torch op: float64 evaluation of a
 * single +, −, ×, ÷ or sqrt of float32 operands followed by rounding is the correctly rounded float32
 * result. The lerp's `a + w·(b − a)` is a fused multiply-add in torch's vector kernel: the float64
 * product of two float32 values is exact, so only the sum is rounded.
 */
function fusedUpdate(
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  c: StepCoefficients,
): void {
  const f = Math.fround;
  const { clipScale, decayFactor, oneMinusBeta1, beta2, oneMinusBeta2 } = c;
  const { negStepSize, biasCorrection2Sqrt, eps } = c;
  const scaled = clipScale !== 1;
  const decayed = decayFactor !== 1;
  for (let i = 0; i < p.length; i++) {
    const gi = scaled ? f(g[i] * clipScale) : g[i];
    const pi = decayed ? f(p[i] * decayFactor) : p[i];
    const mOld = m[i];
    const mi = f(mOld + oneMinusBeta1 * f(gi - mOld));
    const vi = f(f(v[i] * beta2) + f(f(oneMinusBeta2 * gi) * gi));
    const denom = f(f(f(Math.sqrt(vi)) / biasCorrection2Sqrt) + eps);
    m[i] = mi;
    v[i] = vi;
    p[i] = pi + f(f(negStepSize * mi) / denom);
  }
}
