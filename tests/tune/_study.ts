/**
 * Study helpers for the tune tests: a study on a journal backend with a sampler, and trials built
 * by hand for the pruner tests.
 *
 * @module
 */
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
