/**
 * The bench folder's public face: the `bench` command's measurements (training and evaluation
 * speed, an MRPC epoch slice, padding, memory, the matmul rate) as one {@linkcode BenchReport}.
 *
 * @module
 */
export {
  BENCH_PARTS,
  type BenchConfig,
  type BenchPart,
  type BenchReport,
  type BenchShape,
  DEFAULT_BENCH_PARTS,
  type EpochFigures,
  type EvalFigures,
  runBench,
  type TokenFigures,
  type TrainFigures,
} from "./bench.ts";
export { PADDINGS } from "./_epoch.ts";
export { BUILT_IN_MODEL_CONFIG, defaultModelConfigJson, defaultTokenLengths } from "./defaults.ts";
export { type OptimizerCost } from "./_optimizer_cost.ts";
export { type KernelTime, type StepProfile } from "./_profile.ts";
export { encoderMatmulParams, trainFlops } from "./_parts.ts";
