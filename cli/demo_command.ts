/**
 * `demo` (= `train --demo`), the offline demo: a tiny, randomly initialised DistilBERT with a
 * WordPiece vocabulary of the generated paraphrase task's words, written as a Hugging Face folder
 * so that the normal training path (load, train, checkpoint, predict) runs on it unchanged, then
 * a few predictions of the best model.
 *
 * @module
 */
import os from "node:os";
import { join } from "node:path";
import { processAlive } from "../core/mod.ts";
import {
  encodeExamples,
  generateParaphraseTask,
  loadTokenizer,
  type SyntheticTask,
} from "../data/mod.ts";
import {
  DistilBertClassifier,
  initWeights,
  loadPretrained,
  parseDistilBertConfig,
  predict,
  savePretrained,
} from "../model/mod.ts";
import { checkWritableDir, exists, writeJsonAtomic } from "../io/mod.ts";
import type { InlineData, TrainConfig } from "../train/mod.ts";
import type { Command, CommandContext } from "./command.ts";
import { type OptionSpec, parseOptions, UsageError } from "./options.ts";
import { resolveTrainRun, TRAIN_OPTIONS, type TrainOptionValues } from "./train_options.ts";
import { GracefulStop } from "./_signals.ts";
import { log, trainWith } from "./_train_run.ts";
import { inTrialMode } from "./_trial_channel.ts";

/** Flag values the demo uses unless given on the command line. */
export const DEMO_DEFAULTS = {
  checkpoint_dir: "models-demo",
  lr: 1e-3,
  batch_size: 32,
  epochs: 4,
  max_seq_length: 64,
  warmup_ratio: 0.1,
  weight_decay: 0.01,
} as const satisfies Partial<TrainOptionValues>;

const DEMO_TRAIN_SIZE = 8000;
const DEMO_VALIDATION_SIZE = 400;

/** Special tokens of the BERT vocabulary, ids 0..4 as in bert-base-uncased's order of use. */
const SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/** The tiny model's config: 2 layers, dim 64, 4 heads. */
export function demoConfigJson(vocabSize: number): Record<string, unknown> {
  return {
    model_type: "distilbert",
    vocab_size: vocabSize,
    max_position_embeddings: 64,
    n_layers: 2,
    n_heads: 4,
    dim: 64,
    hidden_dim: 128,
    dropout: 0.1,
    attention_dropout: 0.1,
    seq_classif_dropout: 0.1,
    initializer_range: 0.02,
    pad_token_id: 0,
    id2label: { "0": "not_equivalent", "1": "equivalent" },
    label2id: { not_equivalent: 0, equivalent: 1 },
  };
}

/**
 * Generates the task from `seed` and writes the random tiny model folder into `dir` (which must
 * exist). Returns the task.
 */
export async function writeDemoModel(
  dir: string,
  options: { seed: number; trainSize?: number; validationSize?: number },
): Promise<SyntheticTask> {
  const task = generateParaphraseTask(options);
  const vocab = [...SPECIAL_TOKENS, ...task.words];
  await Deno.writeTextFile(join(dir, "vocab.txt"), vocab.join("\n") + "\n");
  await Deno.writeTextFile(
    join(dir, "tokenizer_config.json"),
    JSON.stringify({ do_lower_case: true, model_max_length: 64, tokenizer_class: "BertTokenizer" }),
  );
  const config = parseDistilBertConfig(demoConfigJson(vocab.length), "demo config");
  // The one weight initialisation, in plain JavaScript: no tfjs backend is needed here.
  await savePretrained(dir, { config, weights: initWeights(config, options.seed) });
  return task;
}

async function showDemoPredictions(config: TrainConfig, data: InlineData): Promise<void> {
  const model = await loadPretrained(config.checkpoint_dir, { seed: config.seed });
  const tokenizer = await loadTokenizer(config.checkpoint_dir, {
    maxSeqLength: config.max_seq_length,
  });
  const pairs = data.validation.slice(0, 5);
  const classifier = DistilBertClassifier.fromWeights(model.config, model.weights);
  try {
    const predictions = await predict(classifier, encodeExamples(pairs, tokenizer), {
      batchSize: pairs.length,
      padId: tokenizer.padId,
    });
    console.log("Predictions of the best model on validation pairs:");
    for (const p of predictions) {
      const ex = pairs[p.index];
      const name = model.config.id2label[p.label];
      const mark = p.label === ex.label ? "right" : "wrong";
      console.log(
        `  ${name} (p=${
          p.probabilities[1].toFixed(3)
        }, ${mark}): "${ex.sentence1}" / "${ex.sentence2}"`,
      );
    }
  } finally {
    classifier.dispose();
  }
}

/** Train flags the demo does not take: it builds its own model and data. */
export const DEMO_IGNORED: readonly string[] = ["model", "train_file", "validation_file"];

/** Written into a checkpoint dir the demo created, so that a later demo may replace it. */
export const DEMO_MARKER = ".mrpc-tune-demo";

/** The demo's option table: the train table without what it ignores, with the demo defaults. */
export const DEMO_OPTIONS: readonly OptionSpec[] = TRAIN_OPTIONS
  .filter((o) => o.name !== "demo" && !DEMO_IGNORED.includes(o.name))
  .map((o) => o.name in DEMO_DEFAULTS ? { ...o, default: DEMO_DEFAULTS[o.name as DemoKey] } : o);

type DemoKey = keyof typeof DEMO_DEFAULTS;

/** A UsageError for a flag the demo ignores, or nothing. */
export function refuseIgnoredFlags(given: ReadonlySet<string>): void {
  const flag = DEMO_IGNORED.find((name) => given.has(name));
  if (flag) {
    throw new UsageError(
      `--${flag} is not used by the demo: it trains its own tiny model on generated pairs ` +
        `(use train for your own model and data)`,
    );
  }
}

/**
 * Marks a new (or empty) checkpoint dir as the demo's, and says whether the dir is the demo's: a
 * later demo then replaces its run there; a dir the demo did not make is never replaced.
 */
async function claimDemoDir(dir: string): Promise<boolean> {
  const marker = join(dir, DEMO_MARKER);
  if (await exists(marker)) return true;
  const entries = await Array.fromAsync(Deno.readDir(dir)).catch(() => null);
  if (entries !== null && entries.length > 0) return false;
  await checkWritableDir(dir, { what: "--checkpoint_dir" });
  await writeJsonAtomic(marker, { made_by: "mrpc-tune demo", created: new Date().toISOString() });
  return true;
}

/** The temporary folders of demo runs: `<tmp>/mrpc-tune-demo-*`, each with its owner in it. */
const DEMO_TMP_PREFIX = "mrpc-tune-demo-";
const DEMO_OWNER = ".owner.json";

/**
 * Removes the temporary folders that demo runs killed on this host left (kill -9, a killed
 * tuning worker's trials): their owner process is gone. Best effort, never in the way of a run.
 */
async function sweepDeadDemoDirs(): Promise<void> {
  const tmp = os.tmpdir();
  for (const e of await Array.fromAsync(Deno.readDir(tmp)).catch(() => [])) {
    if (!e.isDirectory || !e.name.startsWith(DEMO_TMP_PREFIX)) continue;
    const dir = join(tmp, e.name);
    const owner = await Deno.readTextFile(join(dir, DEMO_OWNER)).then(JSON.parse, () => null);
    if (owner?.host !== os.hostname() || !Number.isInteger(owner?.pid)) continue;
    if (processAlive(owner.pid)) continue;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Runs the demo with `values` (the train table's; demo defaults fill what was not given):
 * writes the tiny model to a temporary folder, trains on the generated task, predicts. The
 * temporary folder is removed on any exit, Ctrl-C included.
 */
export async function runDemo(
  values: TrainOptionValues,
  context: CommandContext,
): Promise<number> {
  refuseIgnoredFlags(context.given);
  const merged: TrainOptionValues = { ...values };
  for (const [key, value] of Object.entries(DEMO_DEFAULTS)) {
    if (!context.given.has(key)) Object.assign(merged, { [key]: value });
  }
  const resolved = await resolveTrainRun(merged, context.given, context.env);
  let config = resolved.config;
  if (config.resume === undefined && await claimDemoDir(config.checkpoint_dir)) {
    config = Object.freeze({ ...config, overwrite_output_dir: true });
  }
  const stop = new GracefulStop({ log, repeatExits: !inTrialMode(context.env) });
  await sweepDeadDemoDirs();
  const demoDir = await Deno.makeTempDir({ prefix: DEMO_TMP_PREFIX });
  const unregister = stop.onExit(() => Deno.removeSync(demoDir, { recursive: true }));
  await Deno.writeTextFile(
    join(demoDir, DEMO_OWNER),
    JSON.stringify({ pid: Deno.pid, host: os.hostname() }),
  );
  try {
    const data = await writeDemoModel(demoDir, {
      seed: config.seed,
      trainSize: DEMO_TRAIN_SIZE,
      validationSize: DEMO_VALIDATION_SIZE,
    });
    const trainSize = Math.min(DEMO_TRAIN_SIZE, config.max_train_samples ?? Infinity);
    const validationSize = Math.min(DEMO_VALIDATION_SIZE, config.max_eval_samples ?? Infinity);
    const banner = `Demo: a tiny random DistilBERT (2 layers, dim 64) on ${trainSize} ` +
      `generated paraphrase pairs (${validationSize} for validation), fully offline`;
    const run = Object.freeze({ ...config, model: demoDir });
    await trainWith(run, context.env, {
      data,
      explicit: resolved.explicit,
      stop,
      banner,
      command: "demo",
    });
    await showDemoPredictions(run, data);
    return 0;
  } finally {
    unregister();
    stop.dispose();
    await Deno.remove(demoDir, { recursive: true });
  }
}

/** `mrpc-tune demo`: `train --demo`, offline on a generated task, with the demo's defaults. */
export const DEMO_COMMAND: Command = {
  name: "demo",
  summary:
    "Train a tiny model offline on a generated paraphrase task, then predict (= train --demo)",
  options: DEMO_OPTIONS,
  execute(argv, env) {
    const given = new Set<string>();
    const pre = new Set(
      argv.filter((a) => a.startsWith("--")).map((a) => a.slice(2).split("=")[0]),
    );
    refuseIgnoredFlags(pre);
    parseOptions(DEMO_OPTIONS, argv, { given }); // the demo's table: errors and --help agree
    const values = parseOptions(TRAIN_OPTIONS, argv);
    return runDemo({ ...values, demo: true }, { given, env });
  },
};
