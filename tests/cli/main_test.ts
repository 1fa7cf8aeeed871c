import assert from "node:assert/strict";
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
