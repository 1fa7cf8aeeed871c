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
 * parent; Linux's /proc says so), is dead.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as { code?: string }).code === "EPERM";
  }
  try {
    // "pid (comm) S ...": the state follows the last ")".
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no /proc (or no permission to read it): kill(pid, 0) has the last word
  }
}
