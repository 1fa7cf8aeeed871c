/**
 * The BERT-uncased WordPiece tokenizer of DistilBERT and its pair encoding
 * `[CLS] a [SEP] b [SEP]`, truncated `longest_first` to `maxSeqLength` and never padded (padding is
 * the batcher's job: see `batching.ts`).
 *
 * Loads from a model folder (`tokenizer.json` + optional `tokenizer_config.json`, or `vocab.txt`
 * alone, as `BertTokenizer` would) or from a Hugging Face Hub model id through `hub.ts`. Word
 * splitting is `@huggingface/tokenizers` (the tokenizer of transformers.js); special tokens and
 * truncation are assembled here, because that library has no truncation.
 *
 * @example
 * ```ts
 * const tok = await loadTokenizer("../shared/data/tokenizers/distilbert-base-uncased", {
 *   maxSeqLength: 128,
 * });
 * tok.encodePair("The company said profits rose.", "Profits increased, the firm said.").inputIds;
 * // [101, 1996, 2194, 2056, 11372, 3123, 1012, 102, 11372, 3445, 1010, 1996, 3813, 2056, 1012, 102]
 * ```
 *
 * @module
 */
import { Tokenizer } from "@huggingface/tokenizers";
import { join } from "node:path";
import { InputError } from "../core/mod.ts";
import { downloadFile, type HubOptions } from "../hub/mod.ts";

/** One encoded sentence pair: `[CLS] a [SEP] b [SEP]`, unpadded. */
export interface PairEncoding {
  readonly inputIds: number[];
  /** True when `longest_first` truncation removed at least one token. */
  readonly truncated: boolean;
  /** The length the encoding would have without truncation. */
  readonly fullLength: number;
}

/** A loaded WordPiece tokenizer that encodes sentence pairs for sequence classification. */
export interface PairTokenizer {
  /** The folder or hub id it was loaded from. */
  readonly source: string;
  readonly vocabSize: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  /** The effective maximum: `min(options.maxSeqLength, model_max_length)`, as HF `run_glue` does. */
  readonly maxSeqLength: number;
  /** `model_max_length` from `tokenizer_config.json` (Infinity when absent). */
  readonly modelMaxLength: number;
  /** Token ids of one text, without special tokens and without truncation. */
  tokenize(text: string): number[];
  /** `[CLS] first [SEP] second [SEP]`, truncated `longest_first` to `maxSeqLength`. */
  encodePair(first: string, second: string): PairEncoding;
}

/** Options of {@linkcode loadTokenizer}. */
export interface LoadTokenizerOptions {
  /** Maximum encoded length including the 3 special tokens (default 128, at least 3). */
  readonly maxSeqLength?: number;
  /** Needed only when `nameOrDir` is a hub id rather than an existing folder. */
  readonly hub?: HubOptions;
}

type Json = Record<string, unknown>;

/** The raw files a tokenizer is built from. */
interface TokenizerFiles {
  readonly tokenizerJson?: string;
  readonly tokenizerConfig?: string;
  readonly vocabTxt?: string;
}

const HUB_ID = /^[A-Za-z0-9][\w.-]*(\/[\w.-]+)?$/;

/**
 * Loads a BERT WordPiece tokenizer. An existing directory is read locally; anything else that looks
 * like a hub id (`name` or `org/name`) is downloaded through `hub.ts` with `options.hub`.
 */
export async function loadTokenizer(
  nameOrDir: string,
  options: LoadTokenizerOptions = {},
): Promise<PairTokenizer> {
  const stat = await Deno.stat(nameOrDir).catch(() => null);
  if (stat?.isDirectory) return buildTokenizer(await readLocalFiles(nameOrDir), nameOrDir, options);
  if (stat || !HUB_ID.test(nameOrDir)) {
    throw new InputError(
      `Cannot load tokenizer "${nameOrDir}": ${stat ? "not a directory" : "directory not found"}`,
    );
  }
  if (!options.hub) {
    throw new InputError(
      `Cannot load tokenizer "${nameOrDir}": not a local directory, and no hub options were given`,
    );
  }
  return buildTokenizer(await readHubFiles(nameOrDir, options.hub), nameOrDir, options);
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw new InputError(`Cannot read "${path}": ${(err as Error).message}`);
  }
}

async function readLocalFiles(dir: string): Promise<TokenizerFiles> {
  const tokenizerJson = await readOptional(join(dir, "tokenizer.json"));
  const tokenizerConfig = await readOptional(join(dir, "tokenizer_config.json"));
  const vocabTxt = tokenizerJson === undefined
    ? await readOptional(join(dir, "vocab.txt"))
    : undefined;
  if (tokenizerJson === undefined && vocabTxt === undefined) {
    throw new InputError(`Cannot load tokenizer "${dir}": no tokenizer.json or vocab.txt in it`);
  }
  return { tokenizerJson, tokenizerConfig, vocabTxt };
}

async function readHubFiles(repoId: string, hub: HubOptions): Promise<TokenizerFiles> {
  const fetchText = async (filename: string) =>
    await Deno.readTextFile(await downloadFile(repoId, filename, { hub, repoType: "model" }));
  const tokenizerConfig = await fetchText("tokenizer_config.json");
  const tokenizerJson = await fetchText("tokenizer.json");
  return { tokenizerJson, tokenizerConfig };
}

function parseJson(text: string, what: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InputError(
      `Cannot load tokenizer "${what}": invalid JSON (${(err as Error).message})`,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InputError(`Cannot load tokenizer "${what}": expected a JSON object`);
  }
  return value as Json;
}

/**
 * The `tokenizer.json` that Hugging Face's `BertTokenizerFast` builds from a lone `vocab.txt`
 * (one token per line, id = line number), honouring `do_lower_case`, `strip_accents` and
 * `tokenize_chinese_chars` from `tokenizer_config.json` when present.
 */
function bertJsonFromVocab(vocabTxt: string, config: Json): Json {
  const lines = vocabTxt.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const vocab: Record<string, number> = {};
  lines.forEach((line, id) => {
    const token = line.endsWith("\r") ? line.slice(0, -1) : line;
    if (!(token in vocab)) vocab[token] = id;
  });
  const specials = ["pad_token", "unk_token", "cls_token", "sep_token", "mask_token"]
    .map((key) => specialToken(config, key))
    .filter((t) => t in vocab);
  return {
    version: "1.0",
    added_tokens: specials.map((content) => ({
      id: vocab[content],
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: "BertNormalizer",
      clean_text: true,
      handle_chinese_chars: config.tokenize_chinese_chars ?? true,
      strip_accents: config.strip_accents ?? null,
      lowercase: config.do_lower_case ?? true,
    },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: null,
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: specialToken(config, "unk_token"),
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab,
    },
  };
}

const DEFAULT_SPECIALS: Record<string, string> = {
  pad_token: "[PAD]",
  unk_token: "[UNK]",
  cls_token: "[CLS]",
  sep_token: "[SEP]",
  mask_token: "[MASK]",
};

/** A special token's text from `tokenizer_config.json` (a string or `{content}`), else BERT's. */
function specialToken(config: Json, key: string): string {
  const v = config[key];
  if (typeof v === "string") return v;
  if (typeof v === "object" && v !== null && typeof (v as Json).content === "string") {
    return (v as Json).content as string;
  }
  return DEFAULT_SPECIALS[key];
}

function buildTokenizer(
  files: TokenizerFiles,
  source: string,
  options: LoadTokenizerOptions,
): PairTokenizer {
  const requested = options.maxSeqLength ?? 128;
  if (!Number.isInteger(requested) || requested < 3) {
    throw new RangeError(`maxSeqLength must be an integer >= 3, got ${requested}`);
  }
  const config = files.tokenizerConfig === undefined
    ? {}
    : parseJson(files.tokenizerConfig, join(source, "tokenizer_config.json"));
  const json = files.tokenizerJson === undefined
    ? bertJsonFromVocab(files.vocabTxt ?? "", config)
    : parseJson(files.tokenizerJson, join(source, "tokenizer.json"));
  const model = json.model as Json | undefined;
  if (model?.type !== "WordPiece") {
    throw new InputError(
      `Cannot load tokenizer "${source}": expected a WordPiece model, found "${model?.type}"`,
    );
  }
  const inner = new Tokenizer(json, config);
  const idOf = (key: string): number => {
    const token = specialToken(config, key);
    const id = inner.token_to_id(token);
    if (id === undefined) {
      throw new InputError(
        `Cannot load tokenizer "${source}": "${token}" is not in the vocabulary`,
      );
    }
    return id;
  };
  const clsId = idOf("cls_token");
  const sepId = idOf("sep_token");
  const padId = idOf("pad_token");
  const configMax = config.model_max_length;
  // HF writes a huge sentinel (1e30) when the model has no limit.
  const modelMaxLength = typeof configMax === "number" && configMax < 1e12 ? configMax : Infinity;
  const maxSeqLength = Math.min(requested, modelMaxLength);
  const tokenize = (text: string): number[] =>
    inner.encode(text, { add_special_tokens: false }).ids;
  return {
    source,
    vocabSize: inner.get_vocab(true).size,
    clsId,
    sepId,
    padId,
    maxSeqLength,
    modelMaxLength,
    tokenize,
    encodePair(first: string, second: string): PairEncoding {
      return assemblePair(tokenize(first), tokenize(second), {
        clsId,
        sepId,
        maxSeqLength,
      });
    },
  };
}

/** Options of {@linkcode assemblePair}. */
export interface AssemblePairOptions {
  readonly clsId: number;
  readonly sepId: number;
  /** Maximum total length including the 3 special tokens. */
  readonly maxSeqLength: number;
}

/**
 * Builds `[CLS] a [SEP] b [SEP]` from two token-id lists, truncating them with
 * {@linkcode longestFirstLengths} so the result fits `maxSeqLength`.
 */
export function assemblePair(
  first: readonly number[],
  second: readonly number[],
  options: AssemblePairOptions,
): PairEncoding {
  const budget = Math.max(0, options.maxSeqLength - 3);
  const [n1, n2] = longestFirstLengths(first.length, second.length, budget);
  const inputIds = [options.clsId, ...first.slice(0, n1), options.sepId];
  for (let i = 0; i < n2; i++) inputIds.push(second[i]);
  inputIds.push(options.sepId);
  const fullLength = first.length + second.length + 3;
  return { inputIds, truncated: inputIds.length < fullLength, fullLength };
}

/**
 * Lengths of the two sequences after `longest_first` truncation to `budget` tokens, exactly as
 * Hugging Face's Python `truncate_sequences` does: remove one token at a time from the end of the
 * longer sequence, and from the second one on ties. So when both must be cut, the first keeps
 * `ceil(budget / 2)` and the second `floor(budget / 2)`.
 *
 * (The Rust "fast" tokenizer differs in one case: when both are cut, `budget` is odd and the first
 * is not longer than the second, it keeps `floor` for the first and `ceil` for the second.)
 */
export function longestFirstLengths(n1: number, n2: number, budget: number): [number, number] {
  let a = n1;
  let b = n2;
  while (a + b > budget) {
    if (a > b) a--;
    else b--;
  }
  return [a, b];
}
