/**
 * `train` (the default command) and `demo` (= `train --demo`): resolve the config, pick the
 * backend, load data and weights, run the loop, report the best model.
 *
 * @module
 */
import { encodeExamples, hubOptionsFromEnv, loadTokenizer } from "../data/mod.ts";
import { initBackend } from "../backend/mod.ts";
import { writeDemoModel } from "./demo_command.ts";
import { DistilBertClassifier, loadPretrained, predict } from "../model/mod.ts";
import {
  type InlineData,
  prepareTraining,
  ProgressReporter,
  runTraining,
  type TrainConfig,
} from "../train/mod.ts";
import type { Command, CommandContext } from "./command.ts";
import type { OptionValues } from "./options.ts";
import { resolveTrainConfig, TRAIN_OPTIONS } from "./train_options.ts";

/** Flag values the demo uses unless given on the command line. */
export const DEMO_DEFAULTS: Readonly<Record<string, string | number>> = {
  checkpoint_dir: "models-demo",
  lr: 1e-3,
  batch_size: 32,
  epochs: 4,
  max_seq_length: 64,
  warmup_ratio: 0.1,
  weight_decay: 0.01,
};

const DEMO_TRAIN_SIZE = 8000;
const DEMO_VALIDATION_SIZE = 400;

function log(line: string): void {
  console.error(line);
}

/** Runs training for `config` (already resolved); resolves to the exit code. */
export async function trainWith(config: TrainConfig, env: CommandContext["env"]): Promise<number> {
  const hub = hubOptionsFromEnv(env);
  // The demo builds its random model with tfjs; otherwise bad input is reported before the
  // backend's log line, so that it stays one error line.
  let backend = config.demo ? await initBackend(config.backend, { log }) : null;
  if (config.wandb_mode !== "disabled") {
    log(
      `W&B logging (--wandb_mode ${config.wandb_mode}) is not built yet: metrics are kept in ` +
        `each checkpoint's trainer_state.json`,
    );
  }
  let data: InlineData | undefined;
  let demoDir: string | null = null;
  let run = config;
  if (config.demo) {
    demoDir = await Deno.makeTempDir({ prefix: "mrpc-tune-demo-" });
    data = await writeDemoModel(demoDir, {
      seed: config.seed,
      trainSize: DEMO_TRAIN_SIZE,
      validationSize: DEMO_VALIDATION_SIZE,
    });
    run = Object.freeze({ ...config, model: demoDir });
    log(
      `Demo: a tiny random DistilBERT (2 layers, dim 64) on ${DEMO_TRAIN_SIZE} generated ` +
        `paraphrase pairs (${DEMO_VALIDATION_SIZE} for validation), fully offline`,
    );
  }
  try {
    const setup = await prepareTraining(run, { hub, data, log });
    backend ??= await initBackend(config.backend, { log });
    const progress = new ProgressReporter({
      tty: Deno.stderr.isTerminal(),
      log,
      write: (text) => Deno.stderr.writeSync(new TextEncoder().encode(text)),
    });
    const result = await runTraining(run, setup, { log, progress, backend: backend.name });
    const best = result.bestEval;
    console.log(
      best
        ? `Best model: accuracy ${best.accuracy.toFixed(4)} f1 ${best.f1.toFixed(4)} eval loss ` +
          `${best.loss.toFixed(4)} (${result.bestCheckpoint}); saved to "${run.checkpoint_dir}"`
        : `Training ended at step ${result.globalStep} without an evaluation`,
    );
    if (config.demo && data) await showDemoPredictions(run, data);
    return 0;
  } finally {
    if (demoDir) await Deno.remove(demoDir, { recursive: true });
  }
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

async function runTrain(values: OptionValues, context: CommandContext): Promise<number> {
  let merged = values;
  if (values.demo) {
    merged = { ...values };
    for (const [k, v] of Object.entries(DEMO_DEFAULTS)) {
      if (!context.given.has(k)) merged[k] = v;
    }
  }
  const config = await resolveTrainConfig(merged, context.given);
  return await trainWith(config, context.env);
}

/** `mrpc-tune train`: fine-tune DistilBERT on MRPC. */
export const TRAIN_COMMAND: Command = {
  name: "train",
  summary: "Fine-tune DistilBERT on MRPC (the default command)",
  options: TRAIN_OPTIONS,
  run: runTrain,
};

/** `mrpc-tune demo`: `train --demo`, offline on a generated task. */
export const DEMO_COMMAND: Command = {
  name: "demo",
  summary:
    "Train a tiny model offline on a generated paraphrase task, then predict (= train --demo)",
  options: TRAIN_OPTIONS.filter((o) => o.name !== "demo"),
  run: (values, context) => runTrain({ ...values, demo: true }, context),
};
