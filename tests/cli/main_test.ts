import assert from "node:assert/strict";
import { UsageError } from "../../cli/mod.ts";
import { InputError, Interrupted, RunError } from "../../core/mod.ts";
import { reportError } from "../../main.ts";
import { assertUsageError, runMain } from "../_helpers.ts";

Deno.test("main: unknown command is one error line, exit 2", async () => {
  assertUsageError(await runMain(["frobnicate"]), /Unknown command "frobnicate"/);
});

Deno.test("main: top-level --help lists every command", async () => {
  const r = await runMain(["--help"]);
  assert.equal(r.code, 0);
  for (const c of ["data", "train", "tune", "predict", "demo", "bench"]) {
    assert.match(r.stdout, new RegExp(`\\n  ${c} `));
  }
});

/** Runs `fn` with console.error captured; returns what it printed. */
function captureErrors(fn: () => number): { code: number; printed: string[] } {
  const printed: string[] = [];
  const original = console.error;
  console.error = (...a: unknown[]) => printed.push(a.map(String).join(" "));
  try {
    return { code: fn(), printed };
  } finally {
    console.error = original;
  }
}

Deno.test("main: every error is one line with its exit code; the stack only with MRPC_TUNE_DEBUG=1", () => {
  const cases: [unknown, number, RegExp][] = [
    [new UsageError("Unknown flag --lrr"), 2, /^error: Unknown flag --lrr$/],
    [new InputError('Cannot read "x.tsv": no such file'), 2, /^error: Cannot read "x\.tsv"/],
    [new RunError("Training diverged"), 1, /^error: Training diverged$/],
    [
      new Deno.errors.PermissionDenied("Permission denied (os error 13): mkdir 'models/x'"),
      1,
      /^error: Permission denied \(os error 13\): mkdir 'models\/x'$/,
    ],
    [
      new Deno.errors.NotADirectory("Not a directory (os error 20): open 'a/b'"),
      1,
      /^error: Not a directory \(os error 20\): open 'a\/b'$/,
    ],
    [
      // A full disk where no code of ours worded it: still the OS's words, not "internal".
      Object.assign(new Error("No space left on device (os error 28)"), { code: "ENOSPC" }),
      1,
      /^error: No space left on device \(os error 28\)$/,
    ],
    [
      new TypeError("x is undefined\n  more"),
      1,
      /^error: TypeError: x is undefined \(an internal error: run with MRPC_TUNE_DEBUG=1 for the stack, and please report it\)$/,
    ],
    [
      new Interrupted("SIGTERM", "Interrupted at step 3: checkpoint-3 saved"),
      143,
      /^Interrupted at step 3/,
    ],
  ];
  for (const [err, code, pattern] of cases) {
    const r = captureErrors(() => reportError(err, {}));
    assert.equal(r.code, code, String(err));
    assert.equal(r.printed.length, 1, `one line for ${err}: ${r.printed}`);
    assert.match(r.printed[0], pattern);
  }
  assert.equal(captureErrors(() => reportError(new Interrupted("SIGINT", "x"), {})).code, 130);
  const debug = captureErrors(() => reportError(new TypeError("boom"), { MRPC_TUNE_DEBUG: "1" }));
  assert.equal(debug.printed.length, 2);
  assert.match(debug.printed[1], /TypeError: boom\n\s+at /);
});
