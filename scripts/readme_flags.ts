/**
 * Rewrites the `<!-- flags:NAME -->` sections of README.md from the commands' option tables, so
 * that the README's flag tables and `--help` come from one source. Run: `deno run -A
 * scripts/readme_flags.ts` (tests/readme_test.ts fails when they are stale).
 *
 * @module
 */
import { COMMANDS, formatMarkdown } from "../cli/mod.ts";

const path = new URL("../README.md", import.meta.url);
let text = await Deno.readTextFile(path);
for (const command of COMMANDS) {
  // `demo` takes the flags of `train` (documented in the train section).
  if (command.options.length === 0 || command.name === "demo") continue;
  const begin = `<!-- flags:${command.name} -->`, end = `<!-- /flags:${command.name} -->`;
  const i = text.indexOf(begin), j = text.indexOf(end);
  if (i === -1 || j < i) {
    console.error(`README.md has no ${begin} section`);
    continue;
  }
  text = `${text.slice(0, i + begin.length)}\n${
    formatMarkdown(command.documentedOptions ?? command.options)
  }\n${text.slice(j)}`;
}
await Deno.writeTextFile(path, text);
await new Deno.Command(Deno.execPath(), { args: ["fmt", path.pathname] }).output();
