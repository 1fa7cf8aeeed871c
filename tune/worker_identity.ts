/**
 * Who runs a trial, and whether that worker is certainly gone. A worker records its host, PID
 * and PID namespace on each trial it claims ({@linkcode WORKER_ATTR}); another worker on the same
 * host, in the same PID namespace, can then tell at once that the process has ended. Anything
 * less certain (another host, another container) is left to the heartbeat and `--grace_period`.
 *
 * @module
 */
import os from "node:os";
import { processAlive } from "../core/mod.ts";
import type { Trial } from "./storages/mod.ts";

/** The system attribute naming the worker (host, pid) that runs a trial. */
export const WORKER_ATTR = "mrpc_tune_worker";

let namespace: string | null | undefined;

/**
 * This process's PID namespace (Linux), so that a PID is only judged within its own namespace.
 * Asked of a `readlink` child (same namespace): Deno reads /proc/self only with --allow-all.
 * Null where that fails (then only heartbeats tell).
 */
function pidNamespace(): string | null {
  if (namespace !== undefined) return namespace;
  try {
    const out = new Deno.Command("readlink", {
      args: ["/proc/self/ns/pid"],
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    const text = new TextDecoder().decode(out.stdout).trim();
    namespace = out.success && /^pid:\[\d+\]$/.test(text) ? text : null;
  } catch {
    namespace = null;
  }
  return namespace;
}

/** Who this worker is, as recorded on the trials it runs. */
export function workerIdentity(): { host: string; pid: number; pid_ns: string | null } {
  return { host: os.hostname(), pid: Deno.pid, pid_ns: pidNamespace() };
}

/**
 * Whether a RUNNING trial's worker is certainly gone: it ran on this host, in this PID namespace
 * (so not in another container), is not this process, and its PID no longer exists. Anything
 * less certain is left to the heartbeat.
 */
export function workerDead(t: Trial): boolean {
  const w = t.systemAttrs[WORKER_ATTR] as
    | { host?: string; pid?: number; pid_ns?: string | null }
    | undefined;
  const me = workerIdentity();
  if (!w || typeof w.pid !== "number" || w.host !== me.host) return false;
  if (me.pid_ns === null || w.pid_ns !== me.pid_ns || w.pid === me.pid) return false;
  return !processAlive(w.pid);
}
