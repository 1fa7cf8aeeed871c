/**
 * The cli folder's public face: the command registry, the option-table machinery (parsing,
 * `--help`, the README's flag tables), `UsageError`, and the train option table with its
 * resolution into a `TrainConfig` (the one definition of `train`'s flags, which tests use to build
 * a config exactly as the command line would), and `tune`'s table (which the deployment tests
 * parse the workers' arguments with). Only `main.ts`, `scripts/` and tests use it.
 *
 * @module
 */
export { type Command, type CommandContext, type Env } from "./command.ts";
export {
  formatHelp,
  formatMarkdown,
  type OptionSpec,
  type OptionValues,
  type OptionValuesOf,
  parseOptions,
  UsageError,
} from "./options.ts";
export { COMMANDS } from "./registry.ts";
export {
  resolveTrainConfig,
  resolveTrainRun,
  TRAIN_OPTIONS,
  type TrainConfigOf,
  type TrainOptionValues,
} from "./train_options.ts";
export { TUNE_OPTIONS } from "./tune_options.ts";
export { BUILD_INFO, gitCommit, PROGRAM, VERSION, versionLine } from "./version.ts";
