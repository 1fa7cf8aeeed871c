/**
 * The model folder's public face: Hugging Face `DistilBertForSequenceClassification` in tfjs
 * (HF weight names), its `config.json`, the disk ↔ memory weight layout, the one weight
 * initialisation, Hugging Face folder load/save (masked-LM → classifier conversion), and
 * batched inference.
 *
 * @example
 * ```ts
 * import { DistilBertClassifier, loadPretrained, predict } from "../model/mod.ts";
 * ```
 *
 * @module
 */
export { type DistilBertConfig, distilBertConfigJson, parseDistilBertConfig } from "./config.ts";
export {
  DistilBertClassifier,
  type FromWeightsOptions,
  type LossAndGrads,
  type LossAndGradsOptions,
  WORD_EMBEDDINGS,
} from "./distilbert.ts";
export {
  loadPretrained,
  type PretrainedModel,
  readModelConfig,
  readTokenizerFiles,
  resolveModelDir,
  savePretrained,
} from "./hf_folder.ts";
export { initHeadWeights, initWeights } from "./init.ts";
export {
  argmax,
  loadFineTuned,
  type LoadFineTunedOptions,
  type LogitsModel,
  predict,
  type Prediction,
  type PredictOptions,
  softmax,
} from "./predict.ts";
export {
  distilBertParamShapes,
  HEAD_PARAM_NAMES,
  isLinearWeight,
  memoryShape,
  toDiskLayout,
  toMemoryLayout,
  type WeightData,
} from "./weight_layout.ts";
