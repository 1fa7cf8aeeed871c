/**
 * Optuna's journal: the log records (one JSON object per line, `op_code` and `worker_id`) and
 * their replay into studies and trials, following Optuna 3.1's `JournalStorageReplayResult`
 * rule for rule: study ids in order of creation, trial ids across all studies in log order, a
 * trial's number its index in its study, records about a missing or finished trial dropped, a
 * second RUNNING record of a trial ignored (so the first claim of a WAITING trial wins), a
 * parameter whose distribution conflicts with an earlier trial's dropped.
 *
 * @module
 */
import {
  compatible,
  type Distribution,
  distributionFromJson,
  type ParamValue,
  toExternal,
} from "../distributions.ts";

/** Journal operation codes (Optuna 3.1 knows 0–9 only). */
export const Op = {
  CREATE_STUDY: 0,
  DELETE_STUDY: 1,
  SET_STUDY_USER_ATTR: 2,
  SET_STUDY_SYSTEM_ATTR: 3,
  CREATE_TRIAL: 4,
  SET_TRIAL_PARAM: 5,
  SET_TRIAL_STATE_VALUES: 6,
  SET_TRIAL_INTERMEDIATE_VALUE: 7,
  SET_TRIAL_USER_ATTR: 8,
  SET_TRIAL_SYSTEM_ATTR: 9,
} as const;

/** Trial states with Optuna's numbers. */
export const TrialState = { RUNNING: 0, COMPLETE: 1, PRUNED: 2, FAIL: 3, WAITING: 4 } as const;

/** A trial state number. */
export type TrialStateValue = typeof TrialState[keyof typeof TrialState];

/** The names of the states, for people. */
export const STATE_NAMES: Readonly<Record<TrialStateValue, string>> = {
  0: "RUNNING",
  1: "COMPLETE",
  2: "PRUNED",
  3: "FAIL",
  4: "WAITING",
};

/** Study directions with Optuna's numbers. */
export const Direction = { MINIMIZE: 1, MAXIMIZE: 2 } as const;

/** A direction number. */
export type DirectionValue = typeof Direction[keyof typeof Direction];

/** One journal record. */
export type JournalRecord = Record<string, unknown> & { op_code: number; worker_id: string };

/** A study as replayed. */
export interface StudyRecord {
  readonly studyId: number;
  readonly name: string;
  readonly directions: DirectionValue[];
  readonly userAttrs: Record<string, unknown>;
  readonly systemAttrs: Record<string, unknown>;
  readonly trialIds: number[];
}

/** A trial as replayed. */
export interface Trial {
  readonly trialId: number;
  readonly studyId: number;
  readonly number: number;
  state: TrialStateValue;
  params: Record<string, ParamValue>;
  distributions: Record<string, Distribution>;
  userAttrs: Record<string, unknown>;
  systemAttrs: Record<string, unknown>;
  values: number[] | null;
  intermediateValues: Map<number, number>;
  datetimeStart: string | null;
  datetimeComplete: string | null;
  /** The worker that created the trial, and the one whose RUNNING record claimed it. */
  readonly createdBy: string;
  runningBy: string | null;
}

/** Whether a state is final. */
export function isFinished(state: TrialStateValue): boolean {
  return state === TrialState.COMPLETE || state === TrialState.PRUNED || state === TrialState.FAIL;
}

/** The replayed state of a journal, kept up to date by `apply` (see module docs). */
export class JournalState {
  readonly studies = new Map<number, StudyRecord>();
  readonly trials: Trial[] = [];
  /** Records applied so far. */
  logsRead = 0;
  #nextStudyId = 0;

  /** Applies records in log order. */
  apply(records: readonly JournalRecord[]): void {
    for (const r of records) {
      this.logsRead++;
      switch (r.op_code) {
        case Op.CREATE_STUDY:
          this.#createStudy(r);
          break;
        case Op.DELETE_STUDY:
          this.studies.delete(r.study_id as number);
          break;
        case Op.SET_STUDY_USER_ATTR:
        case Op.SET_STUDY_SYSTEM_ATTR: {
          const study = this.studies.get(r.study_id as number);
          const attrs =
            (r.op_code === Op.SET_STUDY_USER_ATTR ? r.user_attr : r.system_attr) as Record<
              string,
              unknown
            >;
          if (study) {
            Object.assign(
              r.op_code === Op.SET_STUDY_USER_ATTR ? study.userAttrs : study.systemAttrs,
              attrs,
            );
          }
          break;
        }
        case Op.CREATE_TRIAL:
          this.#createTrial(r);
          break;
        case Op.SET_TRIAL_PARAM:
          this.#setParam(r);
          break;
        case Op.SET_TRIAL_STATE_VALUES:
          this.#setState(r);
          break;
        case Op.SET_TRIAL_INTERMEDIATE_VALUE: {
          const t = this.#updatable(r);
          if (t) t.intermediateValues.set(r.step as number, r.intermediate_value as number);
          break;
        }
        case Op.SET_TRIAL_USER_ATTR:
        case Op.SET_TRIAL_SYSTEM_ATTR: {
          const t = this.#updatable(r);
          if (t) {
            Object.assign(
              r.op_code === Op.SET_TRIAL_USER_ATTR ? t.userAttrs : t.systemAttrs,
              (r.op_code === Op.SET_TRIAL_USER_ATTR ? r.user_attr : r.system_attr) as object,
            );
          }
          break;
        }
        default:
          throw new Error(`Unknown journal op_code ${r.op_code} (record ${this.logsRead})`);
      }
    }
  }

  /** The study named `name`, or undefined. */
  studyByName(name: string): StudyRecord | undefined {
    return [...this.studies.values()].find((s) => s.name === name);
  }

  /** The trials of a study in number order. */
  trialsOf(studyId: number): Trial[] {
    return (this.studies.get(studyId)?.trialIds ?? []).map((id) => this.trials[id]);
  }

  #createStudy(r: JournalRecord): void {
    const name = r.study_name as string;
    if (this.studyByName(name)) return;
    const studyId = this.#nextStudyId++;
    this.studies.set(studyId, {
      studyId,
      name,
      directions: [...(r.directions as DirectionValue[])],
      userAttrs: {},
      systemAttrs: {},
      trialIds: [],
    });
  }

  #createTrial(r: JournalRecord): void {
    const study = this.studies.get(r.study_id as number);
    if (!study) return;
    const distributions: Record<string, Distribution> = {};
    for (const [k, v] of Object.entries((r.distributions ?? {}) as Record<string, string>)) {
      distributions[k] = distributionFromJson(v);
    }
    const params: Record<string, ParamValue> = {};
    for (const [k, v] of Object.entries((r.params ?? {}) as Record<string, number>)) {
      params[k] = toExternal(distributions[k], v);
    }
    const values = (r.values as number[] | null | undefined) ??
      (typeof r.value === "number" ? [r.value] : null);
    const intermediate = new Map<number, number>();
    for (const [k, v] of Object.entries((r.intermediate_values ?? {}) as Record<string, number>)) {
      intermediate.set(Number(k), v);
    }
    const trial: Trial = {
      trialId: this.trials.length,
      studyId: study.studyId,
      number: study.trialIds.length,
      state: (r.state ?? TrialState.RUNNING) as TrialStateValue,
      params,
      distributions,
      userAttrs: { ...(r.user_attrs as object ?? {}) },
      systemAttrs: { ...(r.system_attrs as object ?? {}) },
      values,
      intermediateValues: intermediate,
      datetimeStart: (r.datetime_start as string | null) ?? null,
      datetimeComplete: (r.datetime_complete as string | undefined) ?? null,
      createdBy: r.worker_id,
      runningBy: (r.state ?? TrialState.RUNNING) === TrialState.RUNNING ? r.worker_id : null,
    };
    this.trials.push(trial);
    study.trialIds.push(trial.trialId);
  }

  #updatable(r: JournalRecord): Trial | null {
    const t = this.trials[r.trial_id as number];
    if (!t || isFinished(t.state) || !this.studies.has(t.studyId)) return null;
    return t;
  }

  #setParam(r: JournalRecord): void {
    const t = this.#updatable(r);
    if (!t) return;
    const name = r.param_name as string;
    const d = distributionFromJson(r.distribution as string);
    for (const other of this.trialsOf(t.studyId)) {
      if (name in other.distributions) {
        if (!compatible(other.distributions[name], d)) return;
        break;
      }
    }
    t.params = { ...t.params, [name]: toExternal(d, r.param_value_internal as number) };
    t.distributions = { ...t.distributions, [name]: d };
  }

  #setState(r: JournalRecord): void {
    const t = this.#updatable(r);
    if (!t) return;
    const state = r.state as TrialStateValue;
    if (state === TrialState.RUNNING && t.state === TrialState.RUNNING) return;
    if (state === TrialState.RUNNING) {
      t.datetimeStart = r.datetime_start as string;
      t.runningBy = r.worker_id;
    }
    if (isFinished(state)) t.datetimeComplete = r.datetime_complete as string;
    t.state = state;
    if (r.values !== null && r.values !== undefined) t.values = r.values as number[];
  }
}
