/**
 * The univariate Parzen estimator of Optuna 3.1's TPE (folder-private): truncated-normal kernels
 * at the observations (in log space for log-scale parameters, on the step grid for stepped ones)
 * plus a prior kernel, bandwidths from the neighbours' distances clipped by the "magic clip",
 * weights from `default_weights`; categorical parameters get smoothed choice frequencies.
 *
 * A continuous kernel's density is the normalised truncated normal, as in Optuna >= 3.5
 * (optuna/optuna#5110). Optuna before 3.5 left `- log(sigma)` out of it (optuna/optuna#5109), which
 * weighs each kernel by its bandwidth; tests/tune/optuna_compat_test.ts compares these densities
 * with Optuna 3.1's estimator with that fix applied.
 *
 * @module
 */
import type { Rng } from "../../core/mod.ts";
import type { Distribution } from "../distributions.ts";
import { logGaussMass, truncnormLogPdf, truncnormSample } from "./_normal.ts";

/** Optuna's `default_weights(n)`: ones below 25, else a ramp from 1/n then 25 ones. */
export function defaultWeights(n: number): number[] {
  if (n === 0) return [];
  if (n < 25) return new Array(n).fill(1);
  const ramp = Array.from(
    { length: n - 25 },
    (_, i) => n - 25 === 1 ? 1 / n : 1 / n + (i * (1 - 1 / n)) / (n - 26),
  );
  return [...ramp, ...new Array(25).fill(1)];
}

/** The TPE settings of Optuna 3.1 that the estimator uses. */
const PRIOR_WEIGHT = 1.0;

/** A fitted univariate estimator over internal (transformed) values. */
export class ParzenEstimator {
  readonly #d: Distribution;
  readonly #weights: number[];
  readonly #low: number;
  readonly #high: number;
  readonly #q: number | null;
  readonly #mus: number[] = [];
  readonly #sigmas: number[] = [];
  readonly #categorical: number[][] = [];

  /** Fits to `observations` (internal representation: a categorical's index). */
  constructor(observations: readonly number[], d: Distribution) {
    this.#d = d;
    const n = observations.length;
    const w = [...defaultWeights(n), PRIOR_WEIGHT]; // consider_prior (always, as n = 0 forces it)
    const total = w.reduce((a, b) => a + b, 0);
    this.#weights = w.map((x) => x / total);
    if (d.kind === "categorical") {
      this.#low = this.#high = 0;
      this.#q = null;
      const k = d.choices.length, value = PRIOR_WEIGHT / (n + 1);
      for (let i = 0; i <= n; i++) {
        const row = new Array(k).fill(value);
        if (i < n) row[observations[i]] += 1;
        const s = row.reduce((a, b) => a + b, 0);
        this.#categorical.push(row.map((x) => x / s));
      }
      return;
    }
    [this.#low, this.#high, this.#q] = bounds(d);
    const xs = observations.map((v) => (d.log ? Math.log(v) : v));
    const mus = [...xs, 0.5 * (this.#low + this.#high)];
    // Bandwidths: the larger distance to a neighbour (the bounds count as neighbours), with the
    // ends using their inner neighbour only (consider_endpoints false), then the magic clip.
    const order = mus.map((_, i) => i).sort((a, b) => mus[a] - mus[b]);
    const sorted = order.map((i) => mus[i]);
    const withEnds = [this.#low, ...sorted, this.#high];
    const sortedSigmas = sorted.map((_, i) =>
      Math.max(withEnds[i + 1] - withEnds[i], withEnds[i + 2] - withEnds[i + 1])
    );
    if (withEnds.length >= 4) {
      sortedSigmas[0] = withEnds[2] - withEnds[1];
      sortedSigmas[sortedSigmas.length - 1] = withEnds[withEnds.length - 2] -
        withEnds[withEnds.length - 3];
    }
    const sigmas = new Array(mus.length);
    order.forEach((orig, k) => sigmas[orig] = sortedSigmas[k]);
    const range = this.#high - this.#low;
    const minSigma = range / Math.min(100, 1 + mus.length);
    for (let i = 0; i < sigmas.length; i++) {
      sigmas[i] = Math.min(range, Math.max(minSigma, sigmas[i]));
    }
    sigmas[n] = range; // the prior's sigma
    this.#mus.push(...mus);
    this.#sigmas.push(...sigmas);
  }

  /** `size` draws (internal values: log-scale ones exponentiated, grids rounded). */
  sample(rng: Rng, size: number): number[] {
    const out: number[] = [];
    for (let s = 0; s < size; s++) {
      const i = pick(this.#weights, rng());
      if (this.#d.kind === "categorical") {
        out.push(pick(this.#categorical[i], rng()));
        continue;
      }
      const mu = this.#mus[i], sigma = this.#sigmas[i];
      const x = truncnormSample(
        (this.#low - mu) / sigma,
        (this.#high - mu) / sigma,
        mu,
        sigma,
        rng(),
      );
      out.push(this.#fromUniform(x));
    }
    return out;
  }

  /** log density (or probability mass, for grids and categoricals) of each internal value. */
  logPdf(values: readonly number[]): number[] {
    return values.map((v) => {
      if (this.#d.kind === "categorical") {
        let p = 0;
        for (let i = 0; i < this.#weights.length; i++) {
          p += this.#weights[i] * this.#categorical[i][v];
        }
        return Math.log(p);
      }
      const x = this.#d.log ? Math.log(v) : v;
      const terms = this.#mus.map((mu, i) => {
        const sigma = this.#sigmas[i];
        const a = (this.#low - mu) / sigma, b = (this.#high - mu) / sigma;
        let lp: number;
        if (this.#q === null) {
          lp = truncnormLogPdf(x, a, b, mu, sigma);
        } else {
          const upper = Math.min(x + this.#q / 2, this.#high),
            lower = Math.max(x - this.#q / 2, this.#low);
          lp = logGaussMass((lower - mu) / sigma, (upper - mu) / sigma) - logGaussMass(a, b);
        }
        return lp + Math.log(this.#weights[i]);
      });
      const m = Math.max(...terms);
      return m === -Infinity
        ? -Infinity
        : m + Math.log(terms.reduce((s, t) => s + Math.exp(t - m), 0));
    });
  }

  #fromUniform(x: number): number {
    const d = this.#d;
    if (d.kind === "float") {
      if (d.log) return Math.exp(x);
      if (d.step !== null) {
        return Math.min(d.high, Math.max(d.low, Math.round((x - d.low) / d.step) * d.step + d.low));
      }
      return x;
    }
    if (d.kind === "int") {
      if (d.log) return Math.min(d.high, Math.max(d.low, Math.round(Math.exp(x))));
      return Math.min(d.high, Math.max(d.low, Math.round((x - d.low) / d.step) * d.step + d.low));
    }
    return x;
  }
}

/** Optuna's `_calculate_parzen_bounds`: the kernels' support and grid step. */
function bounds(d: Distribution): [number, number, number | null] {
  if (d.kind === "float") {
    if (d.log) return [Math.log(d.low), Math.log(d.high), null];
    if (d.step !== null) return [d.low - 0.5 * d.step, d.high + 0.5 * d.step, d.step];
    return [d.low, d.high, null];
  }
  if (d.kind === "int") {
    if (d.log) return [Math.log(d.low - 0.5), Math.log(d.high + 0.5), null];
    return [d.low - 0.5 * d.step, d.high + 0.5 * d.step, d.step];
  }
  return [0, 0, null];
}

/** The index that `u` in [0, 1) selects from probabilities `p`. */
function pick(p: readonly number[], u: number): number {
  let acc = 0;
  for (let i = 0; i < p.length; i++) {
    acc += p[i];
    if (u < acc) return i;
  }
  return p.length - 1;
}
