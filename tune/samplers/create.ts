/**
 * The sampler a `--sampler` name stands for.
 *
 * @module
 */
import type { ParamValue } from "../distributions.ts";
import type { SearchSpace } from "../search_space.ts";
import { GridSampler } from "./grid.ts";
import { RandomSampler } from "./random.ts";
import type { Sampler } from "./sampler.ts";
import { TpeSampler } from "./tpe.ts";

/** The samplers `--sampler` offers. */
export const SAMPLER_NAMES = ["tpe", "random", "grid"] as const;

/** A `--sampler` name. */
export type SamplerName = typeof SAMPLER_NAMES[number];

/**
 * The sampler `name` with `seed` over `space` (the grid needs the space and, where given, each
 * parameter's grid values; the others ignore both).
 */
export function createSampler(
  name: SamplerName,
  options: {
    seed: number;
    space: SearchSpace;
    /** TPE's constant liar (Optuna's `constant_liar`); the others ignore it. */
    constantLiar?: boolean;
    gridValues?: ReadonlyMap<string, readonly ParamValue[]>;
  },
): Sampler {
  switch (name) {
    case "tpe":
      return new TpeSampler({ seed: options.seed, constantLiar: options.constantLiar });
    case "random":
      return new RandomSampler({ seed: options.seed });
    case "grid":
      return new GridSampler(options.space, options.gridValues);
  }
}
