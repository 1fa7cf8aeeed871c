/**
 * Every command of the CLI, in the order `--help` lists them.
 *
 * @module
 */
import type { Command } from "./command.ts";
import { BENCH_COMMAND } from "./bench_command.ts";
import { DATA_COMMAND } from "./data_command.ts";
import { DEMO_COMMAND } from "./demo_command.ts";
import { PREDICT_COMMAND } from "./predict_command.ts";
import { REPORT_COMMAND } from "./report_command.ts";
import { SYNC_COMMAND } from "./sync_command.ts";
import { TRAIN_COMMAND } from "./train_command.ts";
import { TUNE_COMMAND } from "./tune_command.ts";

/** Every command of the CLI, in the order `--help` lists them. */
export const COMMANDS: readonly Command[] = [
  DATA_COMMAND,
  TRAIN_COMMAND,
  TUNE_COMMAND,
  PREDICT_COMMAND,
  DEMO_COMMAND,
  REPORT_COMMAND,
  SYNC_COMMAND,
  BENCH_COMMAND,
];
