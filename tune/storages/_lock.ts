/**
 * The in-process side of a journal backend's lock (folder-private): one holder per process at a
 * time, in call order, and re-entrant along one call chain (a locked section that appends, which
 * takes the lock again, runs at once), tracked with `AsyncLocalStorage` so that a concurrent
 * caller — a heartbeat timer during a locked section — waits its turn instead of slipping in.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";

/** Serialises a backend's locked sections within the process (see module docs). */
export class ProcessLock {
  readonly #inside = new AsyncLocalStorage<true>();
  #tail: Promise<void> = Promise.resolve();

  /** Runs `fn` between `acquire()` and `release()` (the cross-process lock), or at once nested. */
  async run<T>(
    acquire: () => Promise<void>,
    release: () => Promise<void>,
    fn: () => Promise<T>,
  ): Promise<T> {
    if (this.#inside.getStore()) return await fn();
    const previous = this.#tail;
    let done!: () => void;
    this.#tail = new Promise<void>((resolve) => done = resolve);
    try {
      await previous;
      await acquire();
      try {
        return await this.#inside.run(true, fn);
      } finally {
        await release();
      }
    } finally {
      done();
    }
  }
}
