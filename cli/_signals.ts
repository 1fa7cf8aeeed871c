/**
 * The graceful stop of a training command (folder-private): the first SIGINT (Ctrl-C) or SIGTERM
 * (`docker stop`) asks the run to finish its optimizer step and save a checkpoint; a second one,
 * or one that arrives before training started (nothing to save), exits at once after the
 * registered clean-ups (temporary folders, the run lock). Atomic writes keep every file whole.
 *
 * @module
 */
import { SIGNAL_EXIT_CODES, type StopSignalName } from "../core/mod.ts";
import type { StopRequest } from "../train/mod.ts";

const SIGNALS: readonly StopSignalName[] = ["SIGINT", "SIGTERM"];

/** Listens for SIGINT/SIGTERM for one command; call `dispose` when the command ends. */
export class GracefulStop implements StopRequest {
  #signal: StopSignalName | null = null;
  #training = false;
  #log: (line: string) => void;
  readonly #repeatExits: boolean;
  readonly #saving: string;
  readonly #cleanups = new Set<() => void>();
  readonly #listeners: [StopSignalName, () => void][] = [];

  /**
   * `repeatExits: false` (a tuning trial): later signals are ignored — the terminal's Ctrl-C
   * reaches the trial and its worker alike, and the worker, which forwards the first, decides
   * when to stop at once (it exits, and the trial follows). `saving` says what a first signal
   * does (default: finishing the step and saving a checkpoint).
   */
  constructor(
    options: { log: (line: string) => void; repeatExits?: boolean; saving?: string },
  ) {
    this.#log = options.log;
    this.#repeatExits = options.repeatExits ?? true;
    this.#saving = options.saving ?? "finishing this step and saving a checkpoint";
    for (const name of SIGNALS) {
      const handler = () => this.#received(name);
      try {
        Deno.addSignalListener(name, handler);
        this.#listeners.push([name, handler]);
      } catch {
        // A platform without this signal (SIGTERM on Windows): nothing to listen for.
      }
    }
  }

  /** The signal that asked to stop, or null. */
  get signal(): StopSignalName | null {
    return this.#signal;
  }

  /** From now on a first signal saves a checkpoint instead of exiting at once. */
  trainingStarted(): void {
    this.#training = true;
  }

  /** Where notes go (e.g. the progress reporter's `line`, which ends the progress bar). */
  set log(log: (line: string) => void) {
    this.#log = log;
  }

  /** Runs `fn` before an immediate exit; returns a function that unregisters it. */
  onExit(fn: () => void): () => void {
    this.#cleanups.add(fn);
    return () => this.#cleanups.delete(fn);
  }

  /** Stops listening (the command ended). */
  dispose(): void {
    for (const [name, handler] of this.#listeners) Deno.removeSignalListener(name, handler);
    this.#listeners.length = 0;
  }

  #received(name: StopSignalName): void {
    if (this.#signal !== null && !this.#repeatExits) return;
    if (this.#signal !== null || !this.#training) {
      const why = this.#signal !== null
        ? `${name} again: stopping at once`
        : `${name} before training started: stopping (nothing to save)`;
      this.#log(why);
      for (const fn of this.#cleanups) {
        try {
          fn();
        } catch { /* best effort on the way out */ }
      }
      Deno.exit(SIGNAL_EXIT_CODES[name]);
    }
    this.#signal = name;
    this.#log(
      `${name}: ${this.#saving}` +
        (this.#repeatExits
          ? ` (${name === "SIGINT" ? "Ctrl-C" : "SIGTERM"} again stops at once)`
          : ""),
    );
  }
}
