/**
 * `bench`: how fast this machine trains and evaluates a DistilBERT of the given shape on the
 * selected tfjs backend, measured the way the PyTorch peer (`../shared/bench/torch_peer.py`)
 * measures itself: training steps (forward, backward, clip, AdamW) at fixed shapes, evaluation,
 * an MRPC epoch slice with the real length distribution extrapolated to the epoch, tokens
 * computed over real tokens for each padding, peak memory, and the backend's matmul rate next
 * to the FLOP rate the training step achieves. Random weights; nothing is downloaded.
 *
 * @example
 * ```ts
 * const report = await runBench(config, { log: console.error });
 * console.log(JSON.stringify(report));
 * ```
 *
 * @module
 */
import { AdamW, type PassSizes, passSizes, splitBatch, TrainStepper } from "../train/mod.ts";
import {
  type BackendChoice,
  type BackendInfo,
  fusedLayers,
  initBackend,
  prepareWasmThreads,
  setFusedLayers,
} from "../backend/mod.ts";
import { DistilBertClassifier, type DistilBertConfig } from "../model/mod.ts";
import { type MachineInfo, machineInfo, type MemoryPeaks, memoryPeaks } from "./_machine.ts";
import { epochBatches, paddedTokens, type Padding, PADDINGS, syntheticExamples } from "./_epoch.ts";
import {
  BENCH_LR,
  encoderMatmulParams,
  epochEstimateSeconds,
  epochSliceTiming,
  evalSeconds,
  fullBatch,
  MATMUL_SHAPE,
  matmulSeconds,
  median,
  trainFlops,
  trainRates,
  trainStepSeconds,
} from "./_parts.ts";
import { type TrackingCost, trackingCost } from "./_tracking_cost.ts";
import { type OptimizerCost, optimizerCost } from "./_optimizer_cost.ts";
import { profileStep, type StepProfile } from "./_profile.ts";

export { encoderMatmulParams, MATMUL_SHAPE, type Padding, PADDINGS, trainFlops };

/** A `batch × seqLen` shape. */
export interface BenchShape {
  readonly batch: number;
  readonly seqLen: number;
}

/** The parts a benchmark can run. */
export type BenchPart =
  | "matmul"
  | "optimizer"
  | "train"
  | "profile"
  | "eval"
  | "epoch"
  | "tracking";

/** Every part, in run order. */
export const BENCH_PARTS: readonly BenchPart[] = [
  "matmul",
  "optimizer",
  "train",
  "profile",
  "eval",
  "epoch",
  "tracking",
];

/** The parts run when `--parts` is not given (`profile` and `tracking` on request). */
export const DEFAULT_BENCH_PARTS: readonly BenchPart[] = [
  "matmul",
  "optimizer",
  "train",
  "eval",
  "epoch",
];

/** What to benchmark (validated by the caller). */
export interface BenchConfig {
  readonly backend: BackendChoice;
  /** Native BLAS for the wasm matmuls: `auto`, `off` or a library (default `auto`). */
  readonly blas?: string;
  readonly model: DistilBertConfig;
  /** Where the model config came from (recorded in the report). */
  readonly modelSource: string;
  /** Token lengths of the training split, one per example (MRPC's for the epoch). */
  readonly tokenLengths: readonly number[];
  readonly parts: ReadonlySet<BenchPart>;
  readonly trainShapes: readonly BenchShape[];
  readonly evalShape: BenchShape;
  /** Untimed steps before the timed ones (per shape). */
  readonly warmup: number;
  /** Timed steps per shape (the median is reported). */
  readonly steps: number;
  /** Batches of the epoch slice that are timed. */
  readonly epochBatches: number;
  readonly epochBatchSize: number;
  readonly padding: Padding;
  /** Truncation and `max` padding length of the epoch. */
  readonly maxSeqLength: number;
  readonly seed: number;
  /**
   * XNNPACK threads for the wasm backend (0: tfjs's default, one thread under Deno). Needs a
   * process whose wasm backend is not initialised yet.
   */
  readonly wasmThreads: number;
  /** Train steps in place on the wasm heap where they can run (false: the JS arrays). */
  readonly inPlace?: boolean;
  /** Fused GELU and LayerNorm kernels where they can run (false: tfjs's kernels). */
  readonly fused?: boolean;
}

/** One training shape's figures. */
export interface TrainFigures extends BenchShape {
  /** Rows per forward/backward pass (the wasm heap limit splits large batches). */
  readonly microBatchRows: number;
  readonly stepSeconds: number[];
  readonly medianStepSeconds: number;
  readonly examplesPerSecond: number;
  /** `trainFlops` of the step over its median time, in GFLOP/s. */
  readonly gflops: number;
  /** `gflops` over the matmul rate (null when the matmul part did not run). */
  readonly fractionOfMatmul: number | null;
}

/** Evaluation figures. */
export interface EvalFigures extends BenchShape {
  readonly microBatchRows: number;
  readonly medianSeconds: number;
  readonly examplesPerSecond: number;
  /** 2 × encoder matmul weights × tokens over the median time, in GFLOP/s. */
  readonly gflops: number;
}

/** Tokens an epoch computes under one padding, against its real tokens. */
export interface TokenFigures {
  readonly computed: number;
  readonly ratio: number;
}

/** The epoch slice's figures. */
export interface EpochFigures {
  readonly padding: Padding;
  readonly batchSize: number;
  readonly examples: number;
  readonly batches: number;
  readonly batchesTimed: number;
  readonly secondsTimed: number;
  /** `secondsTimed × epochComputedTokens / timedComputedTokens`. */
  readonly epochSecondsEstimate: number;
  readonly examplesPerSecond: number;
  /** Token positions the epoch computes as run here (micro-batches re-padded). */
  readonly computedTokens: number;
  readonly realTokens: number;
  readonly computedTokensOverReal: number;
}

/** Everything a benchmark measured; `--json` prints exactly this object. */
export interface BenchReport {
  readonly machine: MachineInfo;
  readonly backend: Pick<BackendInfo, "name" | "provider" | "threads" | "gpu" | "blas" | "simd">;
  readonly model: {
    readonly source: string;
    readonly nLayers: number;
    readonly dim: number;
    readonly hiddenDim: number;
    readonly nHeads: number;
    readonly vocabSize: number;
    readonly encoderMatmulParams: number;
  };
  readonly settings: { readonly warmup: number; readonly steps: number; readonly seed: number };
  readonly matmul: {
    readonly shape: readonly number[];
    readonly seconds: number;
    readonly gflops: number;
  } | null;
  /** The fixed cost of an optimizer step, timed alone, in each mode that runs here. */
  readonly optimizer: OptimizerCost[] | null;
  /** Where the optimizer step runs in the train and epoch parts. */
  readonly optimizerMode: "heap" | "js" | null;
  /** Whether the passes ran the fused GELU and LayerNorm kernels. */
  readonly fusedLayers: boolean;
  readonly train: TrainFigures[];
  /** One step per train shape under `tf.profile`: where its time goes, by kernel. */
  readonly profile: StepProfile[] | null;
  readonly eval: EvalFigures | null;
  /** Batch-level padded tokens of one epoch per padding (HF's view, before micro-batching). */
  readonly tokens: { readonly real: number } & Record<Padding, TokenFigures>;
  readonly epoch: EpochFigures | null;
  /** What logging every step to a run record and W&B costs a step (the first train shape). */
  readonly tracking: TrackingCost | null;
  readonly memory: MemoryPeaks;
  /** Wall seconds the whole benchmark took. */
  readonly totalSeconds: number;
}

/** Runs the benchmark `config` describes, logging progress lines through `options.log`. */
export async function runBench(
  config: BenchConfig,
  options: { log: (line: string) => void },
): Promise<BenchReport> {
  const t0 = performance.now();
  const { log } = options;
  const machine = machineInfo();
  const backend = await startBackend(config, log);
  setFusedLayers(config.fused ?? true);
  const cfg = config.model;
  const ctx: PartContext = {
    config,
    log,
    timing: { warmup: config.warmup, steps: config.steps, seed: config.seed, log },
    passes: passSizes(backend.name, cfg),
    data: { vocabSize: cfg.vocab_size, numLabels: cfg.id2label.length, seed: config.seed },
  };
  const matmul = config.parts.has("matmul") ? await matmulPart(log) : null;
  const model = DistilBertClassifier.random(cfg, { seed: config.seed });
  let stepper: TrainStepper | null = null;
  try {
    const optimizer = config.parts.has("optimizer")
      ? await optimizerCost(model, { repeats: config.steps, log })
      : null;
    const needsStepper = config.parts.has("train") || config.parts.has("epoch") ||
      config.parts.has("tracking") || config.parts.has("profile");
    stepper = needsStepper
      ? await TrainStepper.create(model, new AdamW({ weightDecay: 0.01 }), {
        maxGradNorm: 1,
        maxRows: ctx.passes.trainRows,
        inPlace: config.inPlace,
      })
      : null;
    const train = stepper && config.parts.has("train") ? trainPart(ctx, stepper, matmul) : [];
    const profile = stepper && config.parts.has("profile") ? await profilePart(ctx, stepper) : null;
    const evalFigures = config.parts.has("eval") ? await evalPart(ctx, model) : null;
    const tokens = tokenFigures(config);
    let epoch: EpochFigures | null = null;
    if (stepper && config.parts.has("epoch")) {
      epoch = runEpochSlice(config, stepper, { ...ctx.timing, maxRows: ctx.passes.trainRows });
      log(
        `epoch (${config.padding}): ~${epoch.epochSecondsEstimate.toFixed(0)} s, ` +
          `${epoch.computedTokensOverReal.toFixed(3)} x real tokens`,
      );
    }
    let tracking: TrackingCost | null = null;
    if (stepper && config.parts.has("tracking")) {
      const shape = config.trainShapes[0];
      tracking = await trackingCost(stepper, fullBatch(shape.batch, shape.seqLen, ctx.data), {
        steps: config.steps,
        seed: config.seed,
        log,
      });
    }
    return {
      machine,
      backend: {
        name: backend.name,
        provider: backend.provider,
        threads: backend.threads,
        gpu: backend.gpu,
        blas: backend.blas,
        simd: backend.simd,
      },
      model: {
        source: config.modelSource,
        nLayers: cfg.n_layers,
        dim: cfg.dim,
        hiddenDim: cfg.hidden_dim,
        nHeads: cfg.n_heads,
        vocabSize: cfg.vocab_size,
        encoderMatmulParams: encoderMatmulParams(cfg),
      },
      settings: { warmup: config.warmup, steps: config.steps, seed: config.seed },
      matmul,
      optimizer,
      optimizerMode: stepper?.mode ?? null,
      fusedLayers: fusedLayers() !== null,
      train,
      profile,
      eval: evalFigures,
      tokens,
      epoch,
      tracking,
      memory: memoryPeaks(),
      totalSeconds: (performance.now() - t0) / 1000,
    };
  } finally {
    stepper?.dispose();
    model.dispose();
    setFusedLayers(true);
  }
}

/** What each part of the bench needs. */
interface PartContext {
  readonly config: BenchConfig;
  readonly log: (line: string) => void;
  readonly timing: { warmup: number; steps: number; seed: number; log: (line: string) => void };
  readonly passes: PassSizes;
  readonly data: { vocabSize: number; numLabels: number; seed: number };
}

/** The backend the bench measures (wasm threads set up first when asked for). */
async function startBackend(config: BenchConfig, log: (line: string) => void) {
  const restore = config.wasmThreads > 0 && config.backend !== "cpu"
    ? prepareWasmThreads(config.wasmThreads)
    : null;
  try {
    return await initBackend(config.backend, { log, blas: config.blas });
  } finally {
    restore?.();
  }
}

/** The backend's rate on one large matmul: the ceiling a train step's GFLOP/s is compared to. */
async function matmulPart(log: (line: string) => void): Promise<BenchReport["matmul"]> {
  const seconds = await matmulSeconds(MATMUL_SHAPE, { warmup: 2, repeats: 5 });
  const [m, k, n] = MATMUL_SHAPE;
  const gflops = (2 * m * k * n) / seconds / 1e9;
  log(`matmul ${m}x${k}x${n}: ${(seconds * 1000).toFixed(1)} ms, ${gflops.toFixed(1)} GFLOP/s`);
  return { shape: [...MATMUL_SHAPE], seconds, gflops };
}

/** Full optimizer steps at each train shape. */
function trainPart(
  ctx: PartContext,
  stepper: TrainStepper,
  matmul: BenchReport["matmul"],
): TrainFigures[] {
  const train: TrainFigures[] = [];
  for (const shape of ctx.config.trainShapes) {
    const batch = fullBatch(shape.batch, shape.seqLen, ctx.data);
    const times = trainStepSeconds(stepper, batch, ctx.timing);
    const rates = trainRates(ctx.config.model, shape, times);
    train.push({
      ...shape,
      microBatchRows: Math.max(
        ...splitBatch(batch, ctx.passes.trainRows(shape.seqLen)).map((m) => m.batch.batchSize),
      ),
      stepSeconds: times,
      ...rates,
      fractionOfMatmul: matmul ? rates.gflops / matmul.gflops : null,
    });
    ctx.log(
      `train ${shape.batch}x${shape.seqLen}: ${rates.examplesPerSecond.toFixed(2)} ` +
        `examples/s, ${rates.gflops.toFixed(1)} GFLOP/s`,
    );
  }
  return train;
}

/** One profiled step per train shape, after a warm-up step. */
async function profilePart(ctx: PartContext, stepper: TrainStepper): Promise<StepProfile[]> {
  const out: StepProfile[] = [];
  for (const shape of ctx.config.trainShapes) {
    const batch = fullBatch(shape.batch, shape.seqLen, ctx.data);
    trainStepSeconds(stepper, batch, { ...ctx.timing, warmup: 1, steps: 0 });
    const p = await profileStep(stepper, batch, { lr: BENCH_LR, seed: ctx.config.seed });
    ctx.log(
      `profile ${shape.batch}x${shape.seqLen}: step ${p.stepSeconds.toFixed(2)} s, kernels ` +
        `${p.kernelSeconds.toFixed(2)} s`,
    );
    out.push(p);
  }
  return out;
}

/** Evaluation passes at the eval shape. */
async function evalPart(ctx: PartContext, model: DistilBertClassifier): Promise<EvalFigures> {
  const { batch: b, seqLen: s } = ctx.config.evalShape;
  const rows = Math.min(b, ctx.passes.evalRows(s));
  const times = await evalSeconds(model, fullBatch(b, s, ctx.data), { ...ctx.timing, rows });
  const med = median(times);
  ctx.log(`eval ${b}x${s}: ${(b / med).toFixed(2)} examples/s`);
  return {
    ...ctx.config.evalShape,
    microBatchRows: rows,
    medianSeconds: med,
    examplesPerSecond: b / med,
    gflops: (2 * encoderMatmulParams(ctx.config.model) * b * s) / med / 1e9,
  };
}

function epochPlan(config: BenchConfig, padding: Padding) {
  const examples = syntheticExamples(config.tokenLengths, {
    maxSeqLength: config.maxSeqLength,
    seed: config.seed,
    vocabSize: config.model.vocab_size,
  });
  const batches = epochBatches(examples, {
    batchSize: config.epochBatchSize,
    padding,
    maxSeqLength: config.maxSeqLength,
    seed: config.seed,
    padId: config.model.pad_token_id,
    vocabSize: config.model.vocab_size,
  });
  const real = examples.reduce((sum, e) => sum + e.inputIds.length, 0);
  return { examples, batches, real };
}

function tokenFigures(config: BenchConfig): BenchReport["tokens"] {
  const out: Record<string, unknown> = {};
  let real = 0;
  for (const padding of PADDINGS) {
    const plan = epochPlan(config, padding);
    real = plan.real;
    const computed = paddedTokens(plan.batches);
    out[padding] = { computed, ratio: computed / plan.real };
  }
  return { real, ...out } as BenchReport["tokens"];
}

function runEpochSlice(
  config: BenchConfig,
  stepper: TrainStepper,
  options: Parameters<typeof epochSliceTiming>[2],
): EpochFigures {
  const { examples, batches, real } = epochPlan(config, config.padding);
  const slice = epochSliceTiming(stepper, batches, { ...options, steps: config.epochBatches });
  const estimate = epochEstimateSeconds(slice);
  return {
    padding: config.padding,
    batchSize: config.epochBatchSize,
    examples: examples.length,
    batches: batches.length,
    batchesTimed: slice.batchesTimed,
    secondsTimed: slice.secondsTimed,
    epochSecondsEstimate: estimate,
    examplesPerSecond: examples.length / estimate,
    computedTokens: slice.epochTokens,
    realTokens: real,
    computedTokensOverReal: slice.epochTokens / real,
  };
}
