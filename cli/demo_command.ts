/**
 * The offline demo: a tiny, randomly initialised DistilBERT with a WordPiece vocabulary of the
 * generated paraphrase task's words, written as a Hugging Face folder so that the normal training
 * path (load, train, checkpoint, predict) runs on it unchanged.
 *
 * @module
 */
import { join } from "node:path";
import { generateParaphraseTask, type SyntheticTask } from "../data/mod.ts";
import { DistilBertClassifier, parseDistilBertConfig, savePretrained } from "../model/mod.ts";

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
 * exist). The tfjs backend must be initialised. Returns the task.
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
  const model = DistilBertClassifier.random(config, { seed: options.seed });
  try {
    await savePretrained(dir, { config, weights: await model.exportWeights() });
  } finally {
    model.dispose();
  }
  return task;
}
