import assert from "node:assert/strict";
import { formatHelp, type OptionSpec, parseOptions, UsageError } from "../../cli/mod.ts";

const TABLE: readonly OptionSpec[] = [
  { name: "lr", type: "float", default: 3e-5, min: 0, minExclusive: true, description: "LR" },
  { name: "batch_size", type: "int", default: 16, min: 1, description: "Batch size" },
  {
    name: "scheduler",
    type: "choice",
    choices: ["linear", "cosine"],
    default: "linear",
    description: "S",
  },
  { name: "json", type: "boolean", default: false, description: "JSON" },
  { name: "model", type: "string", description: "Model" },
];

Deno.test("options: defaults, both value forms and booleans", () => {
  assert.deepEqual(parseOptions(TABLE, []), {
    lr: 3e-5,
    batch_size: 16,
    scheduler: "linear",
    json: false,
    model: undefined,
  });
  const v = parseOptions(TABLE, ["--lr=1e-4", "--batch_size", "8", "--json", "--model", "m"]);
  assert.equal(v.lr, 1e-4);
  assert.equal(v.batch_size, 8);
  assert.equal(v.json, true);
  assert.equal(v.model, "m");
  assert.equal(parseOptions(TABLE, ["--json", "false"]).json, false);
});

Deno.test("options: bad input names the flag", () => {
  const cases: [string[], RegExp][] = [
    [["--lr", "0"], /--lr: "0" must be > 0/],
    [["--lr", "-1"], /--lr: "-1" must be > 0/],
    [["--lr", "abc"], /--lr: "abc" is not a finite number/],
    [["--lr", "Infinity"], /--lr: "Infinity" is not a finite number/],
    [["--lr", "NaN"], /--lr/],
    [["--batch_size", "0"], /--batch_size: "0" must be >= 1/],
    [["--batch_size", "2.5"], /--batch_size: "2.5" is not an integer/],
    [["--scheduler", "step"], /--scheduler: "step" is not one of linear, cosine/],
    [["--nope", "1"], /Unknown flag --nope/],
    [["--batch-size", "1"], /did you mean --batch_size/],
    [["--lr"], /Missing value for --lr/],
    [["--lr", "1", "--lr", "2"], /more than once/],
    [["stray"], /Unexpected argument "stray"/],
  ];
  for (const [argv, pattern] of cases) {
    assert.throws(() => parseOptions(TABLE, argv), (e: Error) => {
      assert.ok(e instanceof UsageError, `${argv}: ${e}`);
      assert.match(e.message, pattern);
      return true;
    });
  }
});

Deno.test("options: help is generated from the table", () => {
  const help = formatHelp("x [flags]", "Does x", TABLE);
  for (const s of TABLE) assert.match(help, new RegExp(`--${s.name}`));
  assert.match(help, /default: 3e-5/);
  assert.match(help, /linear\|cosine/);
});
