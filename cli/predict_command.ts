/**
 * `mrpc-tune predict`: runs a fine-tuned model in evaluation mode over a GLUE MRPC TSV file
 * (labelled or not) and writes one JSON line per pair, in input order:
 * `{"index":0,"logits":[-1.25,2.5],"probability":0.9627,"label":1}` — `index` is the 0-based row,
 * `logits` the full float32 values, `probability` the softmax probability of class 1
 * ("equivalent") and `label` the argmax.
 *
 * Lines go to stdout (which holds nothing else) or, with `--output`, atomically to a file. The
 * backend line, notes and, for a labelled file, `accuracy 0.8529 f1 0.8971 (408 pairs)` go to
 * stderr.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { type CommandContext, defineCommand } from "./command.ts";
import {
  BACKEND_OPTION,
  BLAS_OPTION,
  blasChoice,
  FORCE_DOWNLOAD_OPTION,
  MAX_SEQ_LENGTH_OPTION,
} from "./common_options.ts";
import { type OptionSpec, type OptionValuesOf, UsageError } from "./options.ts";
import { encodeExamples, loadTokenizer, readMrpcTsv } from "../data/mod.ts";
import { hubOptionsFromEnv, withCacheHint } from "../hub/mod.ts";
import { InputError } from "../core/mod.ts";
import { writeFileAtomic } from "../io/mod.ts";
import { initBackend } from "../backend/mod.ts";
import { DistilBertClassifier, loadFineTuned, predict, type Prediction } from "../model/mod.ts";
import { accuracyAndF1 } from "../train/mod.ts";

/** The `predict` command's option table (parsing and `--help`). */
export const PREDICT_OPTIONS = [
  {
    name: "model",
    type: "string",
    metavar: "DIR_OR_ID",
    description: "Fine-tuned model folder (config.json, model.safetensors, tokenizer) or Hub id " +
      "(required)",
  },
  {
    name: "input",
    type: "string",
    metavar: "FILE",
    description: "GLUE MRPC TSV to predict (the Quality label column is optional) (required)",
  },
  {
    name: "output",
    type: "string",
    metavar: "FILE",
    description: "Write the JSON lines to FILE (atomically) instead of stdout",
  },
  {
    name: "batch_size",
    type: "int",
    default: 64,
    min: 1,
    metavar: "N",
    description: "Pairs per forward pass",
  },
  {
    ...MAX_SEQ_LENGTH_OPTION,
    description: "Truncation length incl. [CLS]/[SEP] (capped by the model's positions and the " +
      "tokenizer's model_max_length)",
  },
  BACKEND_OPTION,
  BLAS_OPTION,
  FORCE_DOWNLOAD_OPTION,
] as const satisfies readonly OptionSpec[];

type PredictValues = OptionValuesOf<typeof PREDICT_OPTIONS>;

function required(value: string | undefined, flag: string): string {
  if (value === undefined) throw new UsageError(`Missing required flag --${flag}`);
  return value;
}

/** One JSON line per prediction, in input order. */
function formatJsonLines(predictions: readonly Prediction[]): string {
  return predictions.map((p) =>
    JSON.stringify({
      index: p.index,
      logits: p.logits,
      probability: p.probabilities[1],
      label: p.label,
    }) + "\n"
  ).join("");
}

async function writeStdout(text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  let off = 0;
  while (off < bytes.length) off += await Deno.stdout.write(bytes.subarray(off));
}

/** Fails early (before the backend starts) when `path`'s folder does not exist. */
async function checkOutputFolder(path: string): Promise<void> {
  const folder = dirname(resolve(path));
  const stat = await Deno.stat(folder).catch(() => null);
  if (!stat?.isDirectory) {
    throw new InputError(`Cannot write "${path}": folder "${folder}" does not exist`);
  }
  if ((await Deno.stat(path).catch(() => null))?.isDirectory) {
    throw new InputError(`Cannot write "${path}": it is a directory`);
  }
}

async function runPredict(values: PredictValues, context: CommandContext): Promise<number> {
  const modelName = required(values.model, "model");
  const input = required(values.input, "input");
  const output = values.output;
  const batchSize = values.batch_size;
  const requested = values.max_seq_length;
  const hub = { ...hubOptionsFromEnv(context.env), forceDownload: values.force_download };

  // Everything that can be wrong with the user's files is checked before the backend starts.
  const examples = await readMrpcTsv(input);
  const pretrained = await withCacheHint(hub, () => loadFineTuned(modelName, { hub }));
  const { config, dir } = pretrained;
  if (config.id2label.length !== 2) {
    throw new InputError(
      `Cannot predict with model "${modelName}": it has ${config.id2label.length} labels, ` +
        `MRPC needs 2`,
    );
  }
  const tokenizer = await withCacheHint(hub, () =>
    loadTokenizer(dir, {
      maxSeqLength: Math.min(requested, config.max_position_embeddings),
    }));
  if (tokenizer.maxSeqLength < requested && context.given.has("max_seq_length")) {
    console.error(
      `note: --max_seq_length ${requested} exceeds what model "${modelName}" accepts; ` +
        `using ${tokenizer.maxSeqLength}`,
    );
  }
  const encoded = encodeExamples(examples, tokenizer);
  if (output !== undefined) await checkOutputFolder(output);

  await initBackend(values.backend, {
    log: (line) => console.error(line),
    blas: blasChoice(values.blas, context.env),
  });
  const model = DistilBertClassifier.fromWeights(config, pretrained.weights, { source: dir });
  let predictions: Prediction[];
  try {
    predictions = await predict(model, encoded, { batchSize, padId: tokenizer.padId });
  } finally {
    model.dispose();
  }

  const text = formatJsonLines(predictions);
  if (output === undefined) {
    await writeStdout(text);
  } else {
    try {
      await writeFileAtomic(output, text);
    } catch (err) {
      throw new InputError(`Cannot write "${output}": ${(err as Error).message}`);
    }
    console.error(`Wrote ${predictions.length} predictions to "${output}"`);
  }
  if (examples.every((e) => e.label !== undefined)) {
    const { accuracy, f1 } = accuracyAndF1(
      predictions.map((p) => p.label),
      examples.map((e) => e.label!),
    );
    console.error(
      `accuracy ${accuracy.toFixed(4)} f1 ${f1.toFixed(4)} (${examples.length} pairs)`,
    );
  }
  return 0;
}

/** The `predict` command. */
export const PREDICT_COMMAND = defineCommand({
  name: "predict",
  summary: "Run a fine-tuned model over a GLUE MRPC TSV file and write JSON lines",
  options: PREDICT_OPTIONS,
  run: runPredict,
});
