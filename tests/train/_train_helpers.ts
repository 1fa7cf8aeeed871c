/**
 * Pieces of the training tests (on top of tests/_helpers.ts): a deterministic labelled MRPC TSV
 * over the tiny model's vocabulary, resolved train configs, and in-process runs of the training
 * loop.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { WORDS, writeTinyModel } from "../_helpers.ts";
import { parseOptions, resolveTrainConfig, resolveTrainRun, TRAIN_OPTIONS } from "../../cli/mod.ts";
import { createRng } from "../../core/mod.ts";
import {
  type EncodedExample,
  encodeExamples,
  loadTokenizer,
  type PairExample,
} from "../../data/mod.ts";
import { initBackend } from "../../backend/mod.ts";
import {
  decaysWeight,
  prepareTraining,
  ProgressReporter,
  runTraining,
  type TrainConfig,
  type TrainResult,
} from "../../train/mod.ts";
import { readSafetensorsFile } from "../../io/mod.ts";

/**
 * `count` labelled pairs over {@linkcode WORDS}, a pure function of `seed`, with a learnable
 * signal: a label 1 pair repeats its first sentence reversed with "said" added, a label 0 pair
 * has an independent second sentence without "said". Lengths vary (3–12 words).
 */
export function tinyPairs(count: number, seed: number): PairExample[] {
  const rng = createRng(seed);
  const words = WORDS.filter((w) => w !== "said");
  const sentence = (n: number) =>
    Array.from({ length: n }, () => words[Math.floor(rng() * words.length)]);
  return Array.from({ length: count }, (_, idx) => {
    const label = rng() < 0.5 ? 0 : 1;
    const a = sentence(3 + Math.floor(rng() * 10));
    const b = label === 1 ? ["said", ...a].reverse() : sentence(3 + Math.floor(rng() * 10));
    return { idx, sentence1: a.join(" "), sentence2: b.join(" "), label: label as 0 | 1 };
  });
}

/** Writes `pairs` as a labelled GLUE MRPC TSV (with the BOM and header of the real files). */
export async function writeMrpcTsv(path: string, pairs: readonly PairExample[]): Promise<void> {
  const rows = pairs.map((p, i) =>
    [p.label, 2 * i + 1000, 2 * i + 1001, p.sentence1, p.sentence2].join("\t")
  );
  const header = "\uFEFFQuality\t#1 ID\t#2 ID\t#1 String\t#2 String";
  await Deno.writeTextFile(path, [header, ...rows].join("\n") + "\n");
}

/** Encodes `pairs` with the tokenizer of the model folder `modelDir`. */
export async function encodeWith(
  modelDir: string,
  pairs: readonly PairExample[],
): Promise<EncodedExample[]> {
  return encodeExamples(pairs, await loadTokenizer(modelDir, { maxSeqLength: 64 }));
}

/** Resolves `train` flags (as the CLI does) into a frozen {@linkcode TrainConfig}. */
export function trainConfig(args: readonly string[]): Promise<TrainConfig> {
  const given = new Set<string>();
  const values = parseOptions(TRAIN_OPTIONS, args, { given });
  return resolveTrainConfig(values, given);
}

/** What an in-process run printed and returned. */
export interface InProcessRun {
  readonly result: TrainResult;
  readonly lines: string[];
}

/** Runs prepareTraining + runTraining in this process on wasm, collecting the log lines. */
export async function trainInProcess(args: readonly string[]): Promise<InProcessRun> {
  await initBackend("wasm");
  const given = new Set<string>();
  const values = parseOptions(TRAIN_OPTIONS, [...args, "--backend", "wasm"], { given });
  const { config, explicit } = await resolveTrainRun(values, given);
  const lines: string[] = [];
  const log = (line: string) => lines.push(line);
  const setup = await prepareTraining(config, { log, explicit });
  const progress = new ProgressReporter({ tty: false, log, write: () => {} });
  const result = await runTraining(setup, { log, progress, backend: "wasm" });
  return { result, lines };
}

/** Reads a safetensors file's tensors as name -> float32 data. */
export async function readTensors(path: string): Promise<Map<string, Float32Array>> {
  const { tensors } = await readSafetensorsFile(path);
  return new Map([...tensors].map(([name, t]) => [name, Float32Array.from(t.data)] as const));
}

/** Asserts both maps hold the same names and every value within `tolerance` (absolute). */
export function assertTensorsClose(
  actual: ReadonlyMap<string, ArrayLike<number>>,
  expected: ReadonlyMap<string, ArrayLike<number>>,
  tolerance: number,
): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
  for (const [name, want] of expected) {
    const got = actual.get(name)!;
    assert.equal(got.length, want.length, name);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
    assert.ok(worst <= tolerance, `"${name}": max abs diff ${worst} > ${tolerance}`);
  }
}

/** Reads a JSON file. */
export async function readJson(path: string): Promise<Record<string, unknown>> {
  return JSON.parse(await Deno.readTextFile(path));
}

/** Paths of a tiny training setup written by {@linkcode writeTinyRun}. */
export interface TinyRun {
  readonly model: string;
  readonly trainFile: string;
  readonly validationFile: string;
  /** `--model ... --train_file ... --validation_file ...` */
  readonly dataFlags: string[];
}

/**
 * Writes a tiny model folder and labelled train/validation TSVs under `dir`: `train` pairs of
 * seed 1 and `validation` pairs of seed 2 (defaults 16 and 8).
 */
export async function writeTinyRun(
  dir: string,
  options: { train?: number; validation?: number; config?: Record<string, unknown> } = {},
): Promise<TinyRun> {
  const model = join(dir, "model");
  await writeTinyModel(model, { config: options.config });
  const trainFile = join(dir, "train.tsv"), validationFile = join(dir, "dev.tsv");
  await writeMrpcTsv(trainFile, tinyPairs(options.train ?? 16, 1));
  await writeMrpcTsv(validationFile, tinyPairs(options.validation ?? 8, 2));
  return {
    model,
    trainFile,
    validationFile,
    dataFlags: ["--model", model, "--train_file", trainFile, "--validation_file", validationFile],
  };
}

/** No dropout anywhere: runs that split a batch differently stay comparable. */
export const NO_DROPOUT = { dropout: 0, attention_dropout: 0, seq_classif_dropout: 0 };

/**
 * The one-step result with weight decay `wd` derived from the fixture's step with `fixtureWd`:
 * `after − lr·(wd − fixtureWd)·before` on the parameters `decaysWeight` selects, `after` elsewhere.
 */
export function expectedWithDecay(
  after: ReadonlyMap<string, Float32Array>,
  before: ReadonlyMap<string, Float32Array>,
  options: { lr: number; wd: number; fixtureWd: number },
): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  for (const [name, a] of after) {
    const p = before.get(name)!;
    const k = decaysWeight(name) ? options.lr * (options.wd - options.fixtureWd) : 0;
    out.set(name, Float64Array.from(a, (x, i) => x - k * p[i]));
  }
  return out;
}
