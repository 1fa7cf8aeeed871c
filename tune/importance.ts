/**
 * Parameter importances in the manner of fANOVA (Hutter et al. 2014, Optuna's default
 * `FanovaImportanceEvaluator`): a random forest (64 trees, bootstrap samples, depth ≤ 64, as
 * Optuna's defaults) is fitted to the COMPLETE trials' objective values, and a parameter's
 * importance is the variance of the forest's marginal prediction over that parameter — its
 * first-order main effect — normalised so that all importances sum to 1. Where fANOVA takes the
 * marginal under the uniform distribution over the search space, this takes it under the trials'
 * own (empirical) distribution: each parameter is set to each observed value while the others
 * keep every trial's values (a partial dependence), which needs no tree arithmetic and gives the
 * same ranking on the studies this program runs. Log-scale parameters are fitted in log space,
 * categoricals by their index. Seeded: the same trials give the same importances.
 *
 * @module
 */
import { createRng } from "../core/mod.ts";
import type { Distribution } from "./distributions.ts";
import { toInternal } from "./distributions.ts";
import { type Trial, TrialState } from "./storages/mod.ts";

interface Node {
  readonly feature: number;
  readonly threshold: number;
  readonly left: Node | null;
  readonly right: Node | null;
  readonly value: number;
}

function mean(v: readonly number[]): number {
  return v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
}

function buildTree(
  x: readonly number[][],
  y: readonly number[],
  idx: number[],
  options: { depth: number; maxDepth: number; features: number },
): Node {
  const ys = idx.map((i) => y[i]);
  const value = mean(ys);
  if (options.depth >= options.maxDepth || idx.length < 2) {
    return { feature: -1, threshold: 0, left: null, right: null, value };
  }
  let best:
    | { gain: number; feature: number; threshold: number; left: number[]; right: number[] }
    | null = null;
  const total = ys.reduce((s, v) => s + (v - value) ** 2, 0);
  for (let f = 0; f < options.features; f++) {
    const sorted = [...idx].sort((a, b) => x[a][f] - x[b][f]);
    let sumL = 0, sqL = 0;
    const sumAll = ys.reduce((a, b) => a + b, 0), sqAll = ys.reduce((a, b) => a + b * b, 0);
    for (let k = 0; k < sorted.length - 1; k++) {
      const v = y[sorted[k]];
      sumL += v;
      sqL += v * v;
      const a = x[sorted[k]][f], b = x[sorted[k + 1]][f];
      if (a === b) continue;
      const nL = k + 1, nR = sorted.length - nL;
      const sseL = sqL - sumL * sumL / nL, sseR = (sqAll - sqL) - (sumAll - sumL) ** 2 / nR;
      const gain = total - sseL - sseR;
      if (!best || gain > best.gain + 1e-12) {
        best = {
          gain,
          feature: f,
          threshold: (a + b) / 2,
          left: sorted.slice(0, nL),
          right: sorted.slice(nL),
        };
      }
    }
  }
  if (!best || best.gain <= 1e-15) {
    return { feature: -1, threshold: 0, left: null, right: null, value };
  }
  const next = { ...options, depth: options.depth + 1 };
  return {
    feature: best.feature,
    threshold: best.threshold,
    left: buildTree(x, y, best.left, next),
    right: buildTree(x, y, best.right, next),
    value,
  };
}

function predict(node: Node, row: readonly number[]): number {
  let n = node;
  while (n.left && n.right) n = row[n.feature] <= n.threshold ? n.left : n.right;
  return n.value;
}

/** The internal, fitted representation of a parameter value (log for log scales). */
function encode(d: Distribution, value: unknown): number {
  const v = toInternal(d, value as number);
  return d.kind !== "categorical" && d.log ? Math.log(v) : v;
}

/**
 * Importances of the parameters of `trials` (COMPLETE ones with a value; parameters all of them
 * have), summing to 1, most important first. Fewer than 2 trials, or no varying parameter:
 * every importance 0.
 */
export function paramImportances(
  trials: readonly Trial[],
  options: { seed?: number; nTrees?: number; maxDepth?: number } = {},
): { name: string; importance: number }[] {
  const done = trials.filter((t) => t.state === TrialState.COMPLETE && t.values !== null);
  const names = done.length === 0
    ? []
    : Object.keys(done[0].params).filter((n) => done.every((t) => n in t.params)).sort();
  if (names.length === 0) return [];
  const x = done.map((t) => names.map((n) => encode(t.distributions[n], t.params[n])));
  const y = done.map((t) => t.values![0]);
  const zero = names.map((name) => ({ name, importance: 0 }));
  if (done.length < 2) return zero;
  const rng = createRng(options.seed ?? 0);
  const forest: Node[] = [];
  for (let k = 0; k < (options.nTrees ?? 64); k++) {
    const sample = Array.from({ length: done.length }, () => Math.floor(rng() * done.length));
    forest.push(
      buildTree(x, y, sample, {
        depth: 0,
        maxDepth: options.maxDepth ?? 64,
        features: names.length,
      }),
    );
  }
  const forestPredict = (row: number[]) => mean(forest.map((tree) => predict(tree, row)));
  const variances = names.map((_, f) => {
    const levels = [...new Set(x.map((row) => row[f]))];
    const marginal = levels.map((v) =>
      mean(x.map((row) => forestPredict(row.map((r, j) => (j === f ? v : r)))))
    );
    const m = mean(marginal);
    return mean(marginal.map((p) => (p - m) ** 2));
  });
  const total = variances.reduce((a, b) => a + b, 0);
  if (!(total > 0)) return zero;
  return names.map((name, f) => ({ name, importance: variances[f] / total }))
    .sort((a, b) => b.importance - a.importance || a.name.localeCompare(b.name));
}
