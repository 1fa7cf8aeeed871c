/**
 * Study helpers for the tune tests: a study on a journal backend with a sampler, and trials built
 * by hand for the pruner tests.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  Direction,
  type DirectionValue,
  type JournalBackend,
  JournalFile,
  JournalMemory,
  JournalStorage,
  NopPruner,
  type Pruner,
  type Sampler,
  Study,
  type Trial,
  type TrialStateValue,
} from "../../tune/mod.ts";

/** A study (named "s" unless told) on `backend` (memory by default). */
export async function makeStudy(
  sampler: Sampler,
  options: {
    backend?: JournalBackend;
    name?: string;
    direction?: DirectionValue;
    nTrials?: number;
    pruner?: Pruner;
    queueOnly?: boolean;
    retryFailed?: number;
    maxWorkerRetries?: number;
    gracePeriodSeconds?: number;
    log?: (line: string) => void;
  } = {},
): Promise<Study> {
  const storage = new JournalStorage(options.backend ?? new JournalMemory());
  const direction = options.direction ?? Direction.MINIMIZE;
  const name = options.name ?? "s";
  const studyId = await storage.getOrCreateStudy(name, direction);
  return new Study({
    storage,
    studyId,
    name,
    direction,
    sampler,
    pruner: options.pruner ?? new NopPruner(),
    nTrials: options.nTrials ?? 10,
    queueOnly: options.queueOnly,
    gracePeriodSeconds: options.gracePeriodSeconds ?? 300,
    retryFailed: options.retryFailed ?? 0,
    maxWorkerRetries: options.maxWorkerRetries,
    log: options.log ?? (() => {}),
  });
}

/** The trials of study `name` in a journal file, as replayed (nothing is written). */
export async function journalTrials(path: string, name: string): Promise<Trial[]> {
  const state = await new JournalStorage(new JournalFile(path)).sync();
  const study = state.studyByName(name);
  if (!study) throw new Error(`No study "${name}" in ${path}`);
  return state.trialsOf(study.studyId);
}

/**
 * Runs 10 read-modify-write sections on each backend at once (each reads the journal, waits, then
 * appends the count it read) and checks that they excluded each other: never two inside at once,
 * and each section saw every record written before it.
 */
export async function assertSectionsExclude(writers: readonly JournalBackend[]): Promise<void> {
  let inside = 0, most = 0;
  await Promise.all(writers.map(async (w, i) => {
    for (let k = 0; k < 10; k++) {
      await w.withLock(async () => {
        inside++;
        most = Math.max(most, inside);
        const n = (await w.readAll()).length;
        await new Promise((r) => setTimeout(r, 1));
        await w.append([{ op_code: 3, worker_id: `w${i}`, study_id: 0, system_attr: { n } }]);
        inside--;
      });
    }
  }));
  assert.equal(most, 1, "two sections were inside at once");
  const records = await writers[0].readAll();
  // Each section saw every earlier record: the n it read is its position.
  assert.deepEqual(
    records.map((r) => (r.system_attr as { n: number }).n),
    [...Array(10 * writers.length).keys()],
  );
}

/** A trial as the replay would produce it. */
export function handTrial(
  number: number,
  state: TrialStateValue,
  intermediate: [number, number][],
  options: { value?: number; systemAttrs?: Record<string, unknown> } = {},
): Trial {
  return {
    trialId: number,
    studyId: 0,
    number,
    state,
    params: {},
    distributions: {},
    userAttrs: {},
    systemAttrs: { ...(options.systemAttrs ?? {}) },
    values: options.value === undefined ? null : [options.value],
    intermediateValues: new Map(intermediate),
    datetimeStart: null,
    datetimeComplete: null,
    createdBy: "test",
    runningBy: null,
  };
}
