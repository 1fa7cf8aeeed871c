/**
 * The sampler a `--sampler` name stands for.
 *
 * @module
 */
import type { SearchSpace } from "../search_space.ts";
import { GridSampler } from "./grid.ts";
import { RandomSampler } from "./random.ts";
import type { Sampler } from "./sampler.ts";
import { TpeSampler } from "./tpe.ts";

/** The samplers `--sampler` offers. */
export const SAMPLER_NAMES = ["tpe", "random", "grid"] as const;

/** A `--sampler` name. */
export type SamplerName = typeof SAMPLER_NAMES[number];

/** The sampler `name` with `seed` over `space` (the grid needs the space; the others ignore it). */
export function createSampler(
  name: SamplerName,
  options: { seed: number; space: SearchSpace },
): Sampler {
  switch (name) {
    case "tpe":
      return new TpeSampler({ seed: options.seed });
    case "random":
      return new RandomSampler({ seed: options.seed });
    case "grid":
      return new GridSampler(options.space);
  }
}
