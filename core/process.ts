/**
 * Whether a process of this machine is still alive, for locks and trials that record their
 * owner's PID (`kill(pid, 0)`: no signal is sent).
 *
 * @module
 */
import process from "node:process";

/**
 * True while process `pid` exists and runs. A process of another user (`EPERM`) counts as
 * alive; a PID that no longer exists (`ESRCH`), or a zombie (ended, not yet reaped by its
 * parent), is dead. The zombie state is read from `/proc` (Deno allows that only with
 * --allow-all) or from `ps`; where neither can be asked, `kill(pid, 0)` has the last word.
 *
 * Without `--allow-run` Deno refuses `kill(pid, 0)` for any other process: then every process
 * counts as alive, so that nothing (a run lock, a worker's trial, a temporary folder) is taken
 * over or removed on a guess.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      return true;
    }
    return (err as { code?: string }).code === "EPERM";
  }
  return processState(pid) !== "Z";
}

/** The one-letter state of process `pid` (`R`, `S`, `Z`, ...), or null when it cannot be read. */
function processState(pid: number): string | null {
  try {
    // "pid (comm) S ...": the state follows the last ")".
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) || null;
  } catch { /* no /proc, or not allowed to read it */ }
  try {
    const out = new Deno.Command("ps", {
      args: ["-o", "stat=", "-p", String(pid)],
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    const state = new TextDecoder().decode(out.stdout).trim();
    return out.success && state ? state[0] : null;
  } catch {
    return null; // no ps, or not allowed to run it
  }
}
