/**
 * Classification metrics as reported by the GLUE MRPC evaluation: accuracy and the F1 score of
 * class 1 ("equivalent").
 *
 * @module
 */

/** Evaluation metrics of one pass over a labelled split. */
export interface EvalMetrics {
  readonly loss: number;
  readonly accuracy: number;
  readonly f1: number;
  readonly count: number;
}

/** Accuracy and F1 of class 1 from predicted and true labels (equal lengths). */
export function accuracyAndF1(
  predicted: ArrayLike<number>,
  labels: ArrayLike<number>,
): { accuracy: number; f1: number } {
  if (predicted.length !== labels.length) {
    throw new Error(`Cannot score ${predicted.length} predictions against ${labels.length} labels`);
  }
  let correct = 0, tp = 0, fp = 0, fn = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = predicted[i], y = labels[i];
    if (p === y) correct++;
    if (p === 1 && y === 1) tp++;
    else if (p === 1) fp++;
    else if (y === 1) fn++;
  }
  const n = labels.length;
  // As scikit-learn's f1_score: 0 when there are no true or predicted positives.
  const f1 = tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  return { accuracy: n === 0 ? 0 : correct / n, f1 };
}

/** Whether `candidate` beats `best` for `metric` (loss: lower is better). */
export function isImprovement(
  metric: "accuracy" | "f1" | "loss",
  candidate: number,
  best: number | null,
): boolean {
  if (best === null) return true;
  return metric === "loss" ? candidate < best : candidate > best;
}
