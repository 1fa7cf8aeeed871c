/**
 * Samplers, as Optuna's `optuna.samplers` has them: what a sampler is, random, TPE (Optuna 3.1's
 * defaults) and the grid.
 *
 * @module
 */
export { paramRng, type Sampler, type SamplerContext, sampleUniform } from "./sampler.ts";
export { RandomSampler } from "./random.ts";
export { type Observations, observationsOf, type TpeOptions, TpeSampler } from "./tpe.ts";
export { GridSampler } from "./grid.ts";
export { createSampler, SAMPLER_NAMES, type SamplerName } from "./create.ts";
