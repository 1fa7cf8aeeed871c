/**
 * Optuna's RandomSampler: each parameter uniform (log-uniform on a log scale), a pure function
 * of the seed, the trial's number and the parameter's name.
 *
 * @module
 */
import type { Distribution, ParamValue } from "../distributions.ts";
import { paramRng, type Sampler, type SamplerContext, sampleUniform } from "./sampler.ts";

/** Optuna's RandomSampler: each parameter uniform (log-uniform on a log scale). */
export class RandomSampler implements Sampler {
  readonly name = "random";
  readonly #seed: number;

  constructor(options: { seed: number }) {
    this.#seed = options.seed;
  }

  sample(ctx: SamplerContext, param: string, d: Distribution): ParamValue {
    return sampleUniform(d, paramRng(this.#seed, ctx.trial.number, param));
  }
}
