/**
 * Evaluation on a labelled split: mean cross-entropy, accuracy and F1 of class 1, with dropout
 * off. Uses `predict` (input order, dynamic padding, every tensor disposed).
 *
 * @module
 */
import type { EncodedExample } from "../data/mod.ts";
import { accuracyAndF1, type EvalMetrics } from "./metrics.ts";
import { type LogitsModel, predict } from "../model/mod.ts";

/** Cross-entropy of one row of logits against `label`, in float64 (stable log-sum-exp). */
export function crossEntropyOf(logits: readonly number[], label: number): number {
  const max = Math.max(...logits);
  let sum = 0;
  for (const l of logits) sum += Math.exp(l - max);
  return Math.log(sum) + max - logits[label];
}

/** Evaluates `model` on labelled `examples`; throws when one has no label. */
export async function evaluate(
  model: LogitsModel,
  examples: readonly EncodedExample[],
  options: { batchSize: number; padId: number },
): Promise<EvalMetrics> {
  const labels = examples.map((e, i) => {
    if (e.label === undefined) throw new Error(`Cannot evaluate: example ${i} has no label`);
    return e.label;
  });
  const predictions = await predict(model, examples, options);
  let loss = 0;
  for (const p of predictions) loss += crossEntropyOf(p.logits, labels[p.index]);
  const { accuracy, f1 } = accuracyAndF1(predictions.map((p) => p.label), labels);
  return { loss: loss / Math.max(1, examples.length), accuracy, f1, count: examples.length };
}
