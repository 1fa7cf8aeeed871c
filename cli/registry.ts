import type { Command } from "./command.ts";
import { notBuiltYet } from "./command.ts";
import { DATA_COMMAND } from "./data_command.ts";
import { PREDICT_COMMAND } from "./predict_command.ts";
import { TRAIN_OPTIONS } from "./train_options.ts";

/** Every command of the CLI, in the order `--help` lists them. */
export const COMMANDS: readonly Command[] = [
  DATA_COMMAND,
  notBuiltYet("train", "Fine-tune DistilBERT on MRPC (the default command)", TRAIN_OPTIONS),
  notBuiltYet("tune", "Search hyperparameters (log-scale learning rate) over training runs"),
  PREDICT_COMMAND,
  notBuiltYet("demo", "Train a tiny model offline on a generated paraphrase task, then predict"),
  notBuiltYet("bench", "Benchmark training and evaluation speed on this machine"),
];
