import assert from "node:assert/strict";
import { assertUsageError, runMain } from "../_helpers.ts";

Deno.test("sync: without a path it says what it syncs; --help shows its PATH argument", async () => {
  assertUsageError(
    await runMain(["sync"]),
    /^error: Missing what to sync: give the run records to upload, as folders \(runs\/<id>\) or checkpoint dirs whose runs\/ hold them, e\.g\. `deno task sync models` \(see sync --help\)$/,
  );
  const help = await runMain(["sync", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: mrpc-tune sync \[flags\] PATH\.\.\.$/m);
  assert.match(help.stdout, /^PATH: a run record folder \(<checkpoint_dir>\/runs\/<id>/m);
});
