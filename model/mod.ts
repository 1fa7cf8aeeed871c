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
export * from "./config.ts";
export * from "./distilbert.ts";
export * from "./hf_folder.ts";
export * from "./init.ts";
export * from "./predict.ts";
export * from "./weight_layout.ts";
