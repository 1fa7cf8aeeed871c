/**
 * Whether a process of this machine is still alive, for locks and trials that record their
 * owner's PID (`kill(pid, 0)`: no signal is sent).
 *
 * @module
 */
import process from "node:process";

/**
 * True while process `pid` exists. A process of another user (`EPERM`) counts as alive; only a
 * PID that no longer exists (`ESRCH`) is dead.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === "EPERM";
  }
}
