import assert from "node:assert/strict";
import { processAlive } from "../../core/mod.ts";
import { needsProgram, waitFor } from "../_helpers.ts";

/** A Python parent that forks a child which exits at once and is never reaped: a zombie. */
const ZOMBIE_MAKER = `import os, time
pid = os.fork()
if pid == 0:
    os._exit(0)
print(pid, flush=True)
time.sleep(60)`;

Deno.test({
  name: "processAlive: this process is alive; a zombie (ended, not reaped) is not",
  ignore: needsProgram("python3", "processAlive: a zombie"),
  fn: async () => {
    assert.equal(processAlive(Deno.pid), true);
    const parent = new Deno.Command("python3", {
      args: ["-c", ZOMBIE_MAKER],
      stdout: "piped",
    }).spawn();
    try {
      const reader = parent.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let line = "";
      while (!line.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        line += value;
      }
      reader.releaseLock();
      const pid = Number(line.trim());
      assert.ok(Number.isInteger(pid) && pid > 0, `the zombie's pid: ${JSON.stringify(line)}`);
      const state = () =>
        new TextDecoder().decode(
          new Deno.Command("ps", { args: ["-o", "stat=", "-p", String(pid)], stdout: "piped" })
            .outputSync().stdout,
        ).trim()[0];
      await waitFor(() => state() === "Z", `process ${pid} to become a zombie`);
      assert.equal(processAlive(pid), false, "a zombie is dead");
      assert.equal(processAlive(parent.pid), true, "its parent runs");
    } finally {
      parent.kill("SIGKILL");
      await parent.status;
      await parent.stdout.cancel().catch(() => {});
    }
  },
});

Deno.test("processAlive: where Deno may not signal other processes (no --allow-run), all count as alive", async () => {
  const sleeper = new Deno.Command("sleep", { args: ["600"] }).spawn();
  const ended = new Deno.Command("true").spawn();
  const endedPid = ended.pid;
  await ended.status;
  try {
    const mod = new URL("../../core/process.ts", import.meta.url).href;
    const script = await Deno.makeTempFile({ prefix: "mrpc-tune-test-", suffix: ".ts" });
    try {
      await Deno.writeTextFile(
        script,
        `import { processAlive } from ${JSON.stringify(mod)};\n` +
          `console.log(JSON.stringify([processAlive(${sleeper.pid}), processAlive(${endedPid})]));\n`,
      );
      const run = async (permissions: string[]) => {
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "--no-config", ...permissions, script],
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.ok(out.success, new TextDecoder().decode(out.stderr));
        return JSON.parse(new TextDecoder().decode(out.stdout));
      };
      // Without --allow-run nothing can be told apart: nothing is taken over or removed.
      assert.deepEqual(await run(["--allow-read"]), [true, true]);
      // With it (deno task train and demo, tune's trials, the binary), the ended one is dead.
      assert.deepEqual(await run(["--allow-read", "--allow-run"]), [true, false]);
    } finally {
      await Deno.remove(script);
    }
  } finally {
    sleeper.kill("SIGKILL");
    await sleeper.status;
  }
});
