import assert from "node:assert/strict";
import { join } from "node:path";
import { COMMANDS, formatMarkdown } from "../cli/mod.ts";
import { REPO_ROOT } from "./_helpers.ts";

/** A Markdown table with cell padding and separator widths normalised (as `deno fmt` pads them). */
function normaliseTable(table: string): string[] {
  return table.trim().split("\n").map((line) =>
    line.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/^-+$/, "-")).join("|")
  );
}

Deno.test("README: each command's flag table is the one its option table generates", async () => {
  const readme = await Deno.readTextFile(join(REPO_ROOT, "README.md"));
  for (const command of COMMANDS) {
    // `demo` takes the flags of `train` (documented in the train section).
    if (command.options.length === 0 || command.name === "demo") continue;
    const begin = `<!-- flags:${command.name} -->`, end = `<!-- /flags:${command.name} -->`;
    const i = readme.indexOf(begin), j = readme.indexOf(end);
    assert.ok(i !== -1 && j > i, `README.md lacks the ${begin} … ${end} section`);
    const table = readme.slice(i + begin.length, j).trim();
    assert.deepEqual(
      normaliseTable(table),
      normaliseTable(formatMarkdown(command.documentedOptions ?? command.options)),
      `README.md flags of "${command.name}" are stale: regenerate with ` +
        `deno run scripts/readme_flags.ts`,
    );
  }
});

Deno.test("README: the two commands of a fresh machine and the test command CI runs", async () => {
  const readme = await Deno.readTextFile(join(REPO_ROOT, "README.md"));
  assert.match(readme, /npm install -g deno@2\.9\.6/);
  assert.match(readme, /deno task train/);
  assert.match(readme, /deno task test/);
  const ci = await Deno.readTextFile(join(REPO_ROOT, ".ci", "run"));
  assert.match(ci, /deno task test/);
  assert.match(ci, /npm install -g deno@2\.9\.6/);
});
