/**
 * The cli folder's public face: the command registry, the option-table machinery (parsing,
 * `--help`, the README's flag tables) and `UsageError`. Only `main.ts` and `scripts/` use it.
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
export { BUILD_INFO, gitCommit, PROGRAM, VERSION, versionLine } from "./version.ts";
