/**
 * The graceful stop's signal handling, in a child process that signals itself: the first signal
 * during training only asks to stop; a second one, or one before training started, exits at
 * once with 130/143 after the clean-ups.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { REPO_ROOT, withTempDir } from "../_helpers.ts";

/**
 * Runs `body` in a child with `stop` (a GracefulStop logging to stderr) whose clean-up writes
 * `<dir>/cleaned`; returns the exit code and stderr.
 */
async function runWithStop(dir: string, body: string): Promise<{ code: number; stderr: string }> {
  const script = join(dir, "script.ts");
  const signals = pathToFileURL(join(REPO_ROOT, "cli", "_signals.ts")).href;
  await Deno.writeTextFile(
    script,
    [
      `import { GracefulStop } from ${JSON.stringify(signals)};`,
      `const tick = () => new Promise((r) => setTimeout(r, 50));`,
      `const stop = new GracefulStop({ log: (line) => console.error(line) });`,
      `stop.onExit(() => Deno.writeTextFileSync(${JSON.stringify(join(dir, "cleaned"))}, "yes"));`,
      body,
      `console.error("not reached");`,
    ].join("\n"),
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", join(REPO_ROOT, "deno.json"), script],
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("signals: during training the first signal asks, the second exits at once", async () => {
  await withTempDir(async (dir) => {
    const r = await runWithStop(
      dir,
      [
        `stop.trainingStarted();`,
        `Deno.kill(Deno.pid, "SIGINT");`,
        `await tick();`,
        `console.error("requested: " + stop.signal);`,
        `Deno.kill(Deno.pid, "SIGINT");`,
        `await tick();`,
      ].join("\n"),
    );
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /^SIGINT: finishing this step and saving a checkpoint/m);
    assert.match(r.stderr, /^requested: SIGINT$/m);
    assert.match(r.stderr, /^SIGINT again: stopping at once$/m);
    assert.doesNotMatch(r.stderr, /not reached/);
    assert.equal(await Deno.readTextFile(join(dir, "cleaned")), "yes", "clean-ups ran");
  });
});

Deno.test("signals: SIGTERM before training started exits 143 at once after the clean-ups", async () => {
  await withTempDir(async (dir) => {
    const r = await runWithStop(dir, `Deno.kill(Deno.pid, "SIGTERM");\nawait tick();`);
    assert.equal(r.code, 143, r.stderr);
    assert.match(r.stderr, /^SIGTERM before training started: stopping \(nothing to save\)$/m);
    assert.doesNotMatch(r.stderr, /not reached/);
    assert.equal(await Deno.readTextFile(join(dir, "cleaned")), "yes", "clean-ups ran");
  });
});
