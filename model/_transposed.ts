/**
 * Linear weights kept transposed for the backward pass (folder-private). The input gradient of a
 * Linear layer multiplies by `wᵀ`; on wasm only untransposed 2-D matmuls are fast, so `wᵀ` is
 * materialised — once per parameter update, shared by every micro-batch until the next update,
 * instead of once per backward pass (which cost about 5% of a DistilBERT-base step on wasm).
 * With a native BLAS (`activeBlas()`) sgemm takes the transpose as a flag at full speed, so none
 * are made (saving their 0.16 GiB of heap and a transpose of every weight per step).
 *
 * @module
 */
import { activeBlas, tf } from "../backend/mod.ts";
import { isLinearWeight } from "./weight_layout.ts";

const NONE: ReadonlyMap<string, tf.Tensor> = new Map();

/**
 * The transposed Linear weights of a parameter map (`[out, in]`, keyed by HF name). Made on
 * first use; after that `refresh` remakes them whenever the parameters change, so a training
 * model holds them throughout (its tensor count stays constant between steps).
 */
export class TransposedWeights {
  readonly #params: ReadonlyMap<string, tf.Variable>;
  #cache: Map<string, tf.Tensor> | null = null;

  constructor(params: ReadonlyMap<string, tf.Variable>) {
    this.#params = params;
  }

  /** `wᵀ` of every Linear weight, made now if not held; none while BLAS runs the matmuls. */
  get(): ReadonlyMap<string, tf.Tensor> {
    if (activeBlas()) {
      this.dispose();
      return NONE;
    }
    if (this.#cache) return this.#cache;
    const cache = new Map<string, tf.Tensor>();
    for (const [name, param] of this.#params) {
      if (isLinearWeight(name)) cache.set(name, tf.keep(tf.tidy(() => tf.transpose(param))));
    }
    this.#cache = cache;
    return cache;
  }

  /** Call after the parameters changed: remakes the transposes if they were held. */
  refresh(): void {
    if (this.dispose()) this.get();
  }

  /** Frees the transposes; true when there were any. */
  dispose(): boolean {
    if (!this.#cache) return false;
    tf.dispose([...this.#cache.values()]);
    this.#cache = null;
    return true;
  }
}
