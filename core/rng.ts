/**
 * A small, seedable, serialisable PRNG (sfc32 seeded through splitmix32) for data order,
 * synthetic data and weight initialisation. Its whole state is four uint32 values, so a
 * checkpoint can store it and a resumed run continues the exact same stream.
 *
 * @example
 * ```ts
 * const rng = createRng(42);
 * const x = rng(); // [0, 1)
 * const saved = rng.state();
 * const again = createRng(0, { state: saved });
 * ```
 *
 * @module
 */

/** A PRNG returning uniform floats in [0, 1), with its state exposed for checkpoints. */
export interface Rng {
  (): number;
  /** Uniform uint32. */
  nextUint32(): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
  /** The current state (four uint32s). */
  state(): [number, number, number, number];
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Creates a PRNG from `seed` (uint32), or from a saved `state`. */
export function createRng(
  seed: number,
  options: { state?: readonly number[] } = {},
): Rng {
  let a: number, b: number, c: number, d: number;
  if (options.state) {
    [a, b, c, d] = options.state.map((x) => x >>> 0);
  } else {
    const sm = splitmix32(seed);
    [a, b, c, d] = [sm(), sm(), sm(), sm()];
  }
  function nextUint32(): number {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  }
  const rng = (() => nextUint32() / 4294967296) as Rng;
  rng.nextUint32 = nextUint32;
  rng.normal = () => {
    const u = 1 - rng(); // (0, 1]
    const v = rng();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  rng.state = () => [a, b, c, d];
  return rng;
}

/** Derives an independent uint32 seed from a base seed and a list of integers (e.g. epoch). */
export function deriveSeed(seed: number, ...parts: number[]): number {
  let h = seed >>> 0;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x9e3779b1) >>> 0;
    h = splitmix32(h)();
  }
  return h;
}

/** Fisher–Yates shuffle of `items` in place using `rng`; returns `items`. */
export function shuffleInPlace<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}
