/**
 * `mrpc-tune bench`: training and evaluation speed of a DistilBERT-base-shaped model on this
 * machine (random weights, nothing downloaded), as a table or, with `--json`, as exactly one JSON
 * object on stdout (snake_case keys; see `BenchReport` in bench/bench.ts). Progress goes to stderr.
 * `scripts/bench_side_by_side.ts` runs it next to the PyTorch peer.
 *
 * @module
 */
import { InputError } from "../core/mod.ts";
import {
  BENCH_PARTS,
  type BenchConfig,
  type BenchPart,
  type BenchReport,
  type BenchShape,
  BUILT_IN_MODEL_CONFIG,
  DEFAULT_BENCH_PARTS,
  defaultModelConfigJson,
  defaultTokenLengths,
  PADDINGS,
  runBench,
} from "../bench/mod.ts";
import { parseDistilBertConfig } from "../model/mod.ts";
import { defineCommand } from "./command.ts";
import {
  BACKEND_OPTION,
  BLAS_OPTION,
  blasChoice,
  MAX_SEQ_LENGTH_OPTION,
  SEED_OPTION,
} from "./common_options.ts";
import { type OptionSpec, type OptionValuesOf, UsageError } from "./options.ts";

/** The `bench` command's option table (parsing and `--help`). */
export const BENCH_OPTIONS = [
  {
    ...BACKEND_OPTION,
    description: "TensorFlow.js backend (auto: tensorflow when it loads, else wasm)",
  },
  BLAS_OPTION,
  { name: "json", type: "boolean", default: false, description: "Print one JSON object on stdout" },
  {
    name: "model_config",
    type: "string",
    metavar: "FILE",
    description:
      "DistilBERT config.json giving the shapes (weights are random; default: distilbert-base-uncased's, built in)",
  },
  {
    name: "token_lengths",
    type: "string",
    metavar: "FILE",
    description:
      "JSON with a \"train\" array of token lengths, the epoch slice's examples (default: MRPC train's, built in)",
  },
  {
    name: "parts",
    type: "string",
    default: DEFAULT_BENCH_PARTS.join(","),
    metavar: "LIST",
    description: `Comma-separated parts to run (${BENCH_PARTS.join(", ")})`,
  },
  {
    name: "train_shapes",
    type: "string",
    default: "16x128,16x64",
    metavar: "BxS,...",
    description: "Training step shapes: batch x tokens, all tokens real",
  },
  {
    name: "eval_shape",
    type: "string",
    default: "64x128",
    metavar: "BxS",
    description: "Evaluation shape",
  },
  { name: "warmup", type: "int", default: 1, min: 0, description: "Untimed steps per shape" },
  { name: "steps", type: "int", default: 2, min: 1, description: "Timed steps per shape (median)" },
  {
    name: "epoch_batches",
    type: "int",
    default: 4,
    min: 1,
    description: "Batches of the MRPC epoch slice timed (spread over the epoch)",
  },
  { name: "batch_size", type: "int", default: 16, min: 1, description: "Epoch slice batch size" },
  {
    name: "padding",
    type: "choice",
    choices: PADDINGS,
    default: "grouped",
    description: "Epoch slice padding: max (run_glue), dynamic, grouped (--group_by_length)",
  },
  { ...MAX_SEQ_LENGTH_OPTION, description: "Epoch truncation and max-padding length" },
  { ...SEED_OPTION, description: "Seed of weights, data, dropout" },
  {
    name: "wasm_threads",
    type: "int",
    default: 0,
    min: 0,
    max: 8,
    description: "XNNPACK threads on wasm (0: tfjs's default, 1 under Deno)",
  },
  {
    name: "in_place",
    type: "boolean",
    default: true,
    description: "Optimizer steps in place on the wasm heap with the SIMD kernels where they " +
      "run (false: the JS arrays, to compare)",
  },
  {
    name: "fused",
    type: "boolean",
    default: true,
    description: "Fused GELU and LayerNorm kernels where our SIMD kernels run (false: tfjs's " +
      "kernels, to compare)",
  },
] as const satisfies readonly OptionSpec[];

/** The typed values of {@linkcode BENCH_OPTIONS}. */
export type BenchValues = OptionValuesOf<typeof BENCH_OPTIONS>;

/** Parses `"16x128"` into a shape; `flag` names the flag in the error. */
export function parseShape(text: string, flag: string): BenchShape {
  const match = /^\s*(\d+)\s*x\s*(\d+)\s*$/i.exec(text);
  const batch = match ? Number(match[1]) : 0;
  const seqLen = match ? Number(match[2]) : 0;
  if (batch < 1 || seqLen < 1) {
    throw new UsageError(`Invalid value for --${flag}: "${text}" is not a shape like 16x128`);
  }
  return { batch, seqLen };
}

function parseParts(text: string): Set<BenchPart> {
  const parts = new Set<BenchPart>();
  for (const raw of text.split(",")) {
    const part = raw.trim() as BenchPart;
    if (!BENCH_PARTS.includes(part)) {
      throw new UsageError(
        `Invalid value for --parts: "${raw}" is not one of ${BENCH_PARTS.join(", ")}`,
      );
    }
    parts.add(part);
  }
  return parts;
}

async function readJson(path: string, flag: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound ? "no such file" : String(error);
    throw new InputError(`Cannot read --${flag} "${path}": ${reason}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError(`Cannot read --${flag} "${path}": ${(error as Error).message}`);
  }
}

async function readLengths(path: string): Promise<number[]> {
  const json = await readJson(path, "token_lengths") as { train?: unknown };
  const lengths = json?.train;
  if (
    !Array.isArray(lengths) || lengths.length === 0 ||
    !lengths.every((n) => Number.isInteger(n) && n > 0)
  ) {
    throw new InputError(
      `Cannot read --token_lengths "${path}": expected a "train" array of positive integers`,
    );
  }
  return lengths;
}

/** Builds the benchmark config from validated flag values (reads the two input files). */
export async function benchConfigFrom(
  values: BenchValues,
  env: Readonly<Record<string, string | undefined>> = {},
): Promise<BenchConfig> {
  const modelSource = values.model_config || BUILT_IN_MODEL_CONFIG;
  const model = parseDistilBertConfig(
    values.model_config ? await readJson(modelSource, "model_config") : defaultModelConfigJson(),
    modelSource,
  );
  const config: BenchConfig = {
    backend: values.backend,
    blas: blasChoice(values.blas, env),
    model,
    modelSource,
    tokenLengths: values.token_lengths
      ? await readLengths(values.token_lengths)
      : defaultTokenLengths(),
    parts: parseParts(values.parts),
    trainShapes: values.train_shapes.split(",").map((s) => parseShape(s, "train_shapes")),
    evalShape: parseShape(values.eval_shape, "eval_shape"),
    warmup: values.warmup,
    steps: values.steps,
    epochBatches: values.epoch_batches,
    epochBatchSize: values.batch_size,
    padding: values.padding,
    maxSeqLength: values.max_seq_length,
    seed: values.seed,
    wasmThreads: values.wasm_threads,
    inPlace: values.in_place,
    fused: values.fused,
  };
  const lengths = [
    ...(config.parts.has("train") ? config.trainShapes.map((s) => s.seqLen) : []),
    ...(config.parts.has("eval") ? [config.evalShape.seqLen] : []),
    ...(config.parts.has("epoch") ? [config.maxSeqLength] : []),
  ];
  if (lengths.some((n) => n > model.max_position_embeddings)) {
    throw new UsageError(
      `Shapes must not exceed the model's max_position_embeddings ` +
        `(${model.max_position_embeddings}) of "${modelSource}"`,
    );
  }
  return config;
}

/** `BenchReport` with snake_case keys, the form `--json` prints. */
export function reportJson(report: BenchReport): unknown {
  const convert = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(convert);
    if (value === null || typeof value !== "object") return value;
    return Object.fromEntries(
      Object.entries(value).map((
        [k, v],
      ) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), convert(v)]),
    );
  };
  return convert(report);
}

/** The human-readable summary table. */
export function formatReport(r: BenchReport): string {
  const f = (x: number, d = 2) => x.toFixed(d);
  const lines = [
    `Machine: ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.os}; ${r.machine.date}; ` +
    `load ${r.machine.loadAverage.join(" ") || "unknown"}`,
    `Backend: ${r.backend.name}${
      r.backend.blas ? ` + ${r.backend.blas}` : ""
    } (${r.backend.provider}, ${r.backend.threads} thread(s))`,
    `Model: ${r.model.nLayers} layers, dim ${r.model.dim}, hidden ${r.model.hiddenDim} (${r.model.source})`,
  ];
  if (r.matmul) {
    lines.push(`matmul ${r.matmul.shape.join("x")}: ${f(r.matmul.gflops, 1)} GFLOP/s`);
  }
  for (const o of r.optimizer ?? []) {
    lines.push(
      `optimizer step, fixed cost (${o.mode === "heap" ? "in place, wasm SIMD" : "JS arrays"}): ` +
        `${f(o.totalSeconds, 3)} s = accumulate ${f(o.accumulateSeconds, 3)} + norm ` +
        `${f(o.normSeconds, 3)} + AdamW and write-back ${f(o.updateSeconds, 3)} s`,
    );
  }
  if (r.optimizerMode) lines.push(`train steps' optimizer: ${r.optimizerMode}`);
  lines.push(`fused GELU and LayerNorm kernels: ${r.fusedLayers ? "on" : "off"}`);
  for (const t of r.train) {
    const frac = t.fractionOfMatmul === null
      ? ""
      : ` (${f(100 * t.fractionOfMatmul, 0)}% of matmul)`;
    lines.push(
      `train ${t.batch}x${t.seqLen}: ${f(t.examplesPerSecond)} examples/s, ` +
        `${f(t.medianStepSeconds)} s/step, ${f(t.gflops, 1)} GFLOP/s${frac}, ` +
        `micro-batches of ${t.microBatchRows}`,
    );
  }
  for (const p of r.profile ?? []) {
    const share = (s: number) => `${f(s, 3)} s (${f((100 * s) / p.stepSeconds, 0)}%)`;
    lines.push(
      `profile ${p.batch}x${p.seqLen}: one step ${f(p.stepSeconds)} s; kernels ` +
        `${share(p.kernelSeconds)}; outside kernels (optimizer, JS) ` +
        share(Math.max(0, p.stepSeconds - p.kernelSeconds)),
    );
    for (const k of p.kernels.slice(0, 12)) {
      lines.push(`  ${k.kernel}: ${share(k.seconds)}, ${k.calls} calls`);
    }
  }
  if (r.eval) {
    lines.push(`eval ${r.eval.batch}x${r.eval.seqLen}: ${f(r.eval.examplesPerSecond)} examples/s`);
  }
  const tk = r.tokens;
  lines.push(
    `tokens computed / real (${tk.real} real): max ${f(tk.max.ratio, 3)}, ` +
      `dynamic ${f(tk.dynamic.ratio, 3)}, grouped ${f(tk.grouped.ratio, 3)}`,
  );
  if (r.epoch) {
    const e = r.epoch;
    lines.push(
      `epoch (${e.padding}, batch ${e.batchSize}): ~${f(e.epochSecondsEstimate, 0)} s ` +
        `(${
          f(e.examplesPerSecond)
        } examples/s; ${e.batchesTimed} of ${e.batches} batches timed), ` +
        `${f(e.computedTokensOverReal, 3)} x real tokens`,
    );
  }
  if (r.tracking) {
    const t = r.tracking;
    lines.push(
      `tracking (a record row + W&B upload every step): ${f(100 * t.overhead, 1)}% per step ` +
        `(${f(t.medianStepSeconds, 3)} s vs ${
          f(t.medianStepSecondsTracked, 3)
        } s, ${t.steps} pairs)`,
    );
  }
  const gib = (b: number) => f(b / 2 ** 30);
  const heap = r.memory.wasmHeapBytes === null
    ? ""
    : `, wasm heap ${gib(r.memory.wasmHeapBytes)} GiB`;
  lines.push(`memory: peak RSS ${gib(r.memory.peakRssBytes)} GiB${heap}`);
  return lines.join("\n");
}

/** `mrpc-tune bench`. */
export const BENCH_COMMAND = defineCommand({
  name: "bench",
  summary: "Benchmark training and evaluation speed on this machine",
  options: BENCH_OPTIONS,
  async run(values, { env }) {
    const config = await benchConfigFrom(values, env);
    const report = await runBench(config, { log: (line) => console.error(line) });
    console.log(values.json ? JSON.stringify(reportJson(report)) : formatReport(report));
    return 0;
  },
});
