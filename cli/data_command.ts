/**
 * `mrpc-tune data`: reads each MRPC split from a file or the Hub, tokenizes it with the model's
 * tokenizer, and prints split sizes, label balance and token-length statistics — as a table, or
 * with `--json` as exactly one JSON object on stdout:
 * `{"splits":{"train":{"count","positive"},"validation":{…},"test":{"count"}},
 *   "tokens":{"p50","p90","max","truncated"}}`.
 *
 * Token statistics cover all three splits, measured before truncation (`truncated` counts the
 * pairs longer than `--max_seq_length`).
 *
 * @module
 */
import { FORCE_DOWNLOAD_OPTION, MAX_SEQ_LENGTH_OPTION, MODEL_OPTION } from "./common_options.ts";
import { type CommandContext, defineCommand } from "./command.ts";
import type { OptionSpec, OptionValuesOf } from "./options.ts";
import { withOfflineAdvice } from "./_offline.ts";
import { type HubOptions, hubOptionsFromEnv, withCacheHint } from "../hub/mod.ts";
import {
  loadMrpcSplit,
  loadTokenizer,
  MRPC_HUB_FILES,
  MRPC_HUB_REPO,
  type PairExample,
  type PairTokenizer,
  type SplitName,
  type TokenStats,
  tokenStats,
} from "../data/mod.ts";

/** The `data` command's option table (parsing and `--help`). */
export const DATA_OPTIONS = [
  {
    name: "train_file",
    type: "string",
    metavar: "FILE",
    description: "GLUE MRPC TSV (or .parquet) for train; absent: nyu-mll/glue from the Hub",
  },
  {
    name: "validation_file",
    type: "string",
    metavar: "FILE",
    description: "The same for validation (GLUE dev.tsv); absent: from the Hub",
  },
  {
    name: "test_file",
    type: "string",
    metavar: "FILE",
    description: "The same for test (unlabelled); absent: from the Hub",
  },
  { ...MODEL_OPTION, description: "Hub model id or local folder whose tokenizer is used" },
  {
    ...MAX_SEQ_LENGTH_OPTION,
    description: "Truncation length incl. [CLS]/[SEP]; token stats (p50, p90, max, truncated) " +
      "cover all three splits, before truncation",
  },
  FORCE_DOWNLOAD_OPTION,
  {
    name: "json",
    type: "boolean",
    default: false,
    description: "Print one JSON object {splits, tokens} on stdout instead of the table",
  },
] as const satisfies readonly OptionSpec[];

type DataValues = OptionValuesOf<typeof DATA_OPTIONS>;

const SPLITS: readonly {
  split: SplitName;
  flag: "train_file" | "validation_file" | "test_file";
}[] = [
  { split: "train", flag: "train_file" },
  { split: "validation", flag: "validation_file" },
  { split: "test", flag: "test_file" },
];

/** Per-split summary: `positive` only when every example is labelled. */
interface SplitSummary {
  readonly count: number;
  readonly positive?: number;
  readonly source: string;
  readonly stats: TokenStats;
}

/** Counts the examples and, for a fully labelled split, the positives. */
function countLabels(examples: readonly PairExample[]): { count: number; positive?: number } {
  const labelled = examples.every((e) => e.label !== undefined);
  if (!labelled) return { count: examples.length };
  return { count: examples.length, positive: examples.filter((e) => e.label === 1).length };
}

async function runData(values: DataValues, context: CommandContext): Promise<number> {
  const hub = { ...hubOptionsFromEnv(context.env), forceDownload: values.force_download };
  const { loaded, tokenizer } = await withOfflineAdvice(() => load(values, hub), {
    command: "data",
    hub,
    model: values.model,
    splits: {
      train: values.train_file,
      validation: values.validation_file,
      test: values.test_file,
    },
  });
  return summarizeSplits(values, loaded, tokenizer);
}

/** The three splits (files or the Hub) and the tokenizer. */
async function load(values: DataValues, hub: HubOptions) {
  const loaded: { split: SplitName; examples: PairExample[]; source: string }[] = [];
  for (const { split, flag } of SPLITS) {
    const file = values[flag];
    const examples = await withCacheHint(
      hub,
      () => loadMrpcSplit(split, file === undefined ? { hub } : { file, hub }),
    );
    loaded.push({
      split,
      examples,
      source: file ?? `Hub ${MRPC_HUB_REPO}/${MRPC_HUB_FILES[split]}`,
    });
  }
  const tokenizer = await withCacheHint(
    hub,
    () => loadTokenizer(values.model, { maxSeqLength: values.max_seq_length, hub }),
  );
  return { loaded, tokenizer };
}

/** Prints the splits' summary (see the module docs). */
function summarizeSplits(
  values: DataValues,
  loaded: readonly { split: SplitName; examples: PairExample[]; source: string }[],
  tokenizer: PairTokenizer,
): number {
  const requested = values.max_seq_length;
  const maxSeqLength = tokenizer.maxSeqLength;
  if (maxSeqLength < requested) {
    console.error(
      `note: --max_seq_length ${requested} exceeds the tokenizer's model_max_length ` +
        `${tokenizer.modelMaxLength}; using ${maxSeqLength}`,
    );
  }

  const allLengths: number[] = [];
  const summaries = new Map<SplitName, SplitSummary>();
  for (const { split, examples, source } of loaded) {
    const lengths = examples.map((e) => tokenizer.encodePair(e.sentence1, e.sentence2).fullLength);
    allLengths.push(...lengths);
    summaries.set(split, {
      ...countLabels(examples),
      source,
      stats: tokenStats(lengths, { maxSeqLength }),
    });
  }
  const all = tokenStats(allLengths, { maxSeqLength });

  if (values.json) {
    const splits = Object.fromEntries(
      [...summaries].map(([split, s]) => [
        split,
        s.positive === undefined ? { count: s.count } : { count: s.count, positive: s.positive },
      ]),
    );
    const { p50, p90, max, truncated } = all;
    console.log(JSON.stringify({ splits, tokens: { p50, p90, max, truncated } }));
  } else {
    console.log(formatTable(summaries, all, { model: values.model, maxSeqLength }));
  }
  return 0;
}

/** The human-readable report: one row per split and one for all splits together. */
function formatTable(
  summaries: ReadonlyMap<SplitName, SplitSummary>,
  all: TokenStats,
  options: { model: string; maxSeqLength: number },
): string {
  const header = ["split", "pairs", "positive", "p50", "p90", "max", "truncated", "source"];
  const row = (
    name: string,
    count: number,
    positive: number | undefined,
    s: TokenStats,
    source: string,
  ) => [
    name,
    String(count),
    positive === undefined ? "-" : `${positive} (${(100 * positive / count).toFixed(1)}%)`,
    String(s.p50),
    String(s.p90),
    String(s.max),
    String(s.truncated),
    source,
  ];
  const rows = [...summaries].map(([split, s]) =>
    row(split, s.count, s.positive, s.stats, s.source)
  );
  rows.push(row("all", all.count, undefined, all, ""));
  const table = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...table.map((r) => r[c].length)));
  const lines = table.map((r) =>
    r.map((cell, c) =>
      c === 0 || c === r.length - 1 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])
    )
      .join("  ").trimEnd()
  );
  return [
    `MRPC with the tokenizer of "${options.model}", max_seq_length ${options.maxSeqLength}`,
    "Token lengths of [CLS] a [SEP] b [SEP] before truncation; truncated = longer than " +
    `${options.maxSeqLength}`,
    "",
    ...lines,
  ].join("\n");
}

/** The `data` command. */
export const DATA_COMMAND = defineCommand({
  name: "data",
  summary: "Fetch or read MRPC, tokenize, and print split and token-length statistics",
  options: DATA_OPTIONS,
  run: runData,
});
