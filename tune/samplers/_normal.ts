/**
 * The normal distribution's functions in double precision, for the truncated-normal kernels of
 * TPE (folder-private): `erfc` (series below 2, Lentz's continued fraction above), `logNdtr`
 * (log Φ, in log space far in the tail), `ndtri` (Acklam's inverse with a Halley step),
 * `logGaussMass` (log(Φ(b) − Φ(a)) without cancellation), and a truncated-normal sampler and
 * log density, as Optuna's `_truncnorm` provides them.
 *
 * @module
 */

const SQRT2 = Math.SQRT2;
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** log(erfc(z)) for z >= 2, by Lentz's continued fraction, without underflow. */
function logErfcLarge(z: number): number {
  // erfc(z) = exp(-z²)/√π · 1/(z + 1/2/(z + 1/(z + 3/2/(z + 2/(z + ...)))))
  const tiny = 1e-300;
  let f = z, c = z, d = 0;
  for (let i = 1; i < 300; i++) {
    const a = i / 2;
    d = z + a * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = z + a / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return -z * z - 0.5 * Math.log(Math.PI) - Math.log(f);
}

/** erf(x) by its Maclaurin series (|x| < 2). */
function erfSeries(x: number): number {
  let term = x, sum = x;
  const x2 = x * x;
  for (let n = 1; n < 200; n++) {
    term *= -x2 / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/** The complementary error function. */
export function erfc(x: number): number {
  if (x < 0) return 2 - erfc(-x);
  if (x < 2) return 1 - erfSeries(x);
  return Math.exp(logErfcLarge(x));
}

/** Φ(x), the standard normal CDF. */
export function ndtr(x: number): number {
  return 0.5 * erfc(-x / SQRT2);
}

/** log Φ(x), accurate far into the lower tail. */
export function logNdtr(x: number): number {
  const z = -x / SQRT2;
  if (z >= 2) return logErfcLarge(z) - Math.LN2;
  return Math.log(ndtr(x));
}

/** Φ⁻¹(p) for p in (0, 1): Acklam's rational approximation refined by one Halley step. */
export function ndtri(p: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  const a = [
    -3.969683028665376e1,
    2.209460984245205e2,
    -2.759285104469687e2,
    1.383577518672690e2,
    -3.066479806614716e1,
    2.506628277459239,
  ];
  const b = [
    -5.447609879822406e1,
    1.615858368580409e2,
    -1.556989798598866e2,
    6.680131188771972e1,
    -1.328068155288572e1,
  ];
  const c = [
    -7.784894002430293e-3,
    -3.223964580411365e-1,
    -2.400758277161838,
    -2.549732539343734,
    4.374664141464968,
    2.938163982698783,
  ];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  let x: number;
  if (p < 0.02425) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p > 1 - 0.02425) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else {
    const q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
      (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  const e = ndtr(x) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

/** x with log Φ(x) = `logp` (logp ≤ 0), also where Φ(x) underflows. */
export function ndtriExp(logp: number): number {
  if (logp > -700) return ndtri(Math.exp(logp));
  // Far tail: start from the asymptote and refine by Newton on log Φ.
  let x = -Math.sqrt(-2 * logp - Math.log(-2 * logp) - Math.log(2 * Math.PI));
  for (let i = 0; i < 50; i++) {
    const lp = logNdtr(x);
    // d/dx log Φ(x) = φ(x)/Φ(x) = exp(log φ(x) − log Φ(x))
    const slope = Math.exp(-0.5 * x * x - LOG_SQRT_2PI - lp);
    const step = (lp - logp) / slope;
    x -= step;
    if (Math.abs(step) < 1e-12 * Math.max(1, Math.abs(x))) break;
  }
  return x;
}

function logSumExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const m = Math.max(a, b);
  return m + Math.log(Math.exp(a - m) + Math.exp(b - m));
}

/** log(Φ(b) − Φ(a)) for a < b, without cancellation in either tail. */
export function logGaussMass(a: number, b: number): number {
  if (b <= 0) {
    const la = logNdtr(a), lb = logNdtr(b);
    return lb + Math.log1p(-Math.exp(la - lb));
  }
  if (a >= 0) {
    const la = logNdtr(-a), lb = logNdtr(-b);
    return la + Math.log1p(-Math.exp(lb - la));
  }
  return Math.log1p(-ndtr(a) - ndtr(-b));
}

/** A draw of N(loc, scale²) truncated to [loc + a·scale, loc + b·scale] from uniform `u`. */
export function truncnormSample(
  a: number,
  b: number,
  loc: number,
  scale: number,
  u: number,
): number {
  // Work in the lower tail, where log Φ is exact: flip when the interval lies above 0.
  if (a > 0) return loc - scale * standardSample(-b, -a, 1 - u);
  return loc + scale * standardSample(a, b, u);
}

function standardSample(a: number, b: number, u: number): number {
  const la = logNdtr(a), lb = logNdtr(b);
  // log((1 − u)·Φ(a) + u·Φ(b))
  const lp = logSumExp(
    u < 1 ? Math.log1p(-u) + la : -Infinity,
    u > 0 ? Math.log(u) + lb : -Infinity,
  );
  return Math.min(b, Math.max(a, ndtriExp(Math.min(0, lp))));
}

/** log density of N(loc, scale²) truncated to standardized bounds [a, b], at x. */
export function truncnormLogPdf(
  x: number,
  a: number,
  b: number,
  loc: number,
  scale: number,
): number {
  const z = (x - loc) / scale;
  if (z < a || z > b) return -Infinity;
  return -0.5 * z * z - LOG_SQRT_2PI - Math.log(scale) - logGaussMass(a, b);
}
