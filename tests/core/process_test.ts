import assert from "node:assert/strict";
import { processAlive } from "../../core/mod.ts";

Deno.test("processAlive: this process is alive; a zombie (ended, not reaped) is not", async () => {
  assert.equal(processAlive(Deno.pid), true);
  // `true` ends at once; its parent becomes `sleep`, which never reaps it: a zombie.
  const parent = new Deno.Command("sh", {
    args: ["-c", "true & echo $!; exec sleep 60"],
    stdout: "piped",
  }).spawn();
  try {
    const reader = parent.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const pid = Number((await reader.read()).value!.trim());
    reader.releaseLock();
    const deadline = performance.now() + 60_000;
    while (processAlive(pid) && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(processAlive(pid), false, "a zombie is dead");
    assert.equal(processAlive(parent.pid), true, "its parent runs");
  } finally {
    parent.kill("SIGKILL");
    await parent.status;
    await parent.stdout.cancel().catch(() => {});
  }
});
