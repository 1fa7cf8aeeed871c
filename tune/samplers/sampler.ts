/**
 * What a sampler is (Optuna's shape: a sampler suggests one parameter of one trial from the
 * study so far), and the seeded uniform draw that the random and TPE samplers share. Suggestions are a pure function of the seed, the trial's
 * number, the parameter's name and the study's finished trials, so the same seed gives the same
 * suggestions, whichever worker asks.
 *
 * @module
 */
import { createRng, deriveSeed, type Rng } from "../../core/mod.ts";
import type { Distribution, ParamValue } from "../distributions.ts";
import type { DirectionValue, Trial } from "../storages/mod.ts";

/** What a sampler sees. */
export interface SamplerContext {
  /** Every trial of the study (all states), the one being sampled included. */
  readonly trials: readonly Trial[];
  readonly direction: DirectionValue;
  /** The trial being sampled. */
  readonly trial: Trial;
}

/** A sampler of one parameter at a time. */
export interface Sampler {
  readonly name: string;
  sample(ctx: SamplerContext, param: string, d: Distribution): ParamValue;
}

function hashName(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619) >>> 0;
  return h;
}

/** Tags the sampler's streams apart from the data pipeline's ("tune"). */
const SAMPLER_STREAM = 0x74756e65;

/**
 * The random stream of (seed, trial number, parameter). The seed is scrambled on its own first,
 * so that neighbouring seeds and trial numbers do not share streams (seed 1, trial 0 ≠ seed 0,
 * trial 1).
 */
export function paramRng(seed: number, trialNumber: number, param: string): Rng {
  return createRng(deriveSeed(deriveSeed(seed, SAMPLER_STREAM), trialNumber, hashName(param)));
}

/** A uniform draw from `d` with `rng` (log-scale distributions uniform in log space). */
export function sampleUniform(d: Distribution, rng: Rng): ParamValue {
  const u = rng();
  switch (d.kind) {
    case "categorical":
      return d.choices[Math.min(d.choices.length - 1, Math.floor(u * d.choices.length))];
    case "float": {
      if (d.log) return Math.exp(Math.log(d.low) + u * (Math.log(d.high) - Math.log(d.low)));
      if (d.step !== null) {
        const n = Math.floor((d.high - d.low) / d.step + 1e-9);
        return Math.min(d.high, d.low + d.step * Math.min(n, Math.floor(u * (n + 1))));
      }
      return d.low + u * (d.high - d.low);
    }
    case "int": {
      if (d.log) {
        const lo = Math.log(d.low - 0.5), hi = Math.log(d.high + 0.5);
        return Math.min(d.high, Math.max(d.low, Math.round(Math.exp(lo + u * (hi - lo)))));
      }
      const n = Math.floor((d.high - d.low) / d.step);
      return d.low + d.step * Math.min(n, Math.floor(u * (n + 1)));
    }
  }
}
