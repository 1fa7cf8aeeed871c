/**
 * The batches of each optimizer step: the epoch's seeded order (optionally grouped by length, as
 * Hugging Face's `LengthGroupedSampler`), cut into the step's accumulation group. A pure function
 * of (seed, step), so a resumed run reads exactly the batches an uninterrupted one would.
 *
 * @module
 */
import { type Batch, collate, type EncodedExample, epochOrder } from "../data/mod.ts";
import { type RunPlan, stepPosition } from "./run_plan.ts";

/** Options of {@linkcode StepBatches}. */
export interface StepBatchesOptions {
  readonly seed: number;
  /** `--group_by_length`: batch examples of similar length together. */
  readonly groupByLength: boolean;
  /** Token id of `[PAD]`. */
  readonly padId: number;
}

/** Makes the batches of any optimizer step; keeps the current epoch's order. */
export class StepBatches {
  readonly #train: readonly EncodedExample[];
  readonly #plan: RunPlan;
  readonly #options: StepBatchesOptions;
  readonly #lengths: number[];
  #order: { epoch: number; indices: number[] } | null = null;

  constructor(train: readonly EncodedExample[], plan: RunPlan, options: StepBatchesOptions) {
    this.#train = train;
    this.#plan = plan;
    this.#options = options;
    this.#lengths = train.map((e) => e.inputIds.length);
  }

  /** The batches of optimizer step `step` (0-based), in accumulation order. */
  forStep(step: number): Batch[] {
    const { epoch, firstBatch, endBatch } = stepPosition(this.#plan, step);
    const indices = this.#epochIndices(epoch);
    const bs = this.#plan.batchSize;
    const batches: Batch[] = [];
    for (let j = firstBatch; j < endBatch; j++) {
      const rows = indices.slice(j * bs, (j + 1) * bs);
      batches.push(collate(this.#train, rows, { padId: this.#options.padId }));
    }
    return batches;
  }

  #epochIndices(epoch: number): number[] {
    if (this.#order?.epoch !== epoch) {
      const { seed, groupByLength } = this.#options;
      const group = groupByLength
        ? { lengths: this.#lengths, batchSize: this.#plan.batchSize * this.#plan.accumulation }
        : undefined;
      const indices = epochOrder(this.#train.length, { seed, epoch, groupByLength: group });
      this.#order = { epoch, indices };
    }
    return this.#order.indices;
  }
}
