/**
 * Study storage on an Optuna journal (a file or Redis): every operation is a journal record, and
 * the state is the replay of all records. Sections that read and then write (creating a trial,
 * claiming a waiting one, failing a stale one) hold the backend's lock, so that workers on many
 * machines never claim one trial twice; single records (a parameter, an intermediate value, a
 * heartbeat) are appended on their own, as Optuna does.
 *
 * @module
 */
import { InputError } from "../../core/mod.ts";
import {
  type Distribution,
  distributionToJson,
  type ParamValue,
  toInternal,
} from "../distributions.ts";
import {
  type DirectionValue,
  type JournalRecord,
  JournalState,
  Op,
  type Trial,
  TrialState,
  type TrialStateValue,
} from "./journal.ts";
import { pyNow } from "./py_json.ts";

/** Where the records live. */
export interface JournalBackend {
  /** Every record, in order. */
  readAll(): Promise<JournalRecord[]>;
  /** Appends records (atomically with respect to other writers). */
  append(records: readonly JournalRecord[]): Promise<void>;
  /** Runs `fn` holding the backend's lock (re-entrant). */
  withLock<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A trial to create from a template (Optuna's `create_new_trial(template_trial)`). */
export interface TrialTemplate {
  readonly state: TrialStateValue;
  readonly params?: Readonly<Record<string, ParamValue>>;
  readonly distributions?: Readonly<Record<string, Distribution>>;
  readonly userAttrs?: Readonly<Record<string, unknown>>;
  readonly systemAttrs?: Readonly<Record<string, unknown>>;
}

/** Study storage on a journal backend (see module docs). */
export class JournalStorage {
  readonly backend: JournalBackend;
  /** This worker's id in the records it writes (unique per process). */
  readonly workerId: string;
  #state = new JournalState();

  constructor(backend: JournalBackend, options: { workerId?: string } = {}) {
    this.backend = backend;
    this.workerId = options.workerId ?? `${crypto.randomUUID()}-mrpc-tune-${Deno.pid}`;
  }

  /** Re-reads the journal and returns the replayed state. */
  async sync(): Promise<JournalState> {
    const records = await this.backend.readAll();
    const state = new JournalState();
    state.apply(records);
    this.#state = state;
    return state;
  }

  /** The state as of the last `sync`. */
  get state(): JournalState {
    return this.#state;
  }

  /**
   * Appends records written by this worker. An attribute record sets exactly one attribute:
   * Optuna's replay asserts it, so anything else would make the study unreadable in Python.
   */
  async write(records: readonly Record<string, unknown>[]): Promise<void> {
    for (const r of records) {
      const attrs = r.system_attr ?? r.user_attr;
      if (attrs !== undefined && Object.keys(attrs as object).length !== 1) {
        throw new Error(`A journal attribute record must set one attribute: ${JSON.stringify(r)}`);
      }
    }
    await this.backend.append(
      records.map((r) => ({ ...r, worker_id: this.workerId }) as JournalRecord),
    );
  }

  /** Runs `fn` with the lock held and the state freshly read. */
  async locked<T>(fn: (state: JournalState) => Promise<T>): Promise<T> {
    return await this.backend.withLock(async () => await fn(await this.sync()));
  }

  /** The id of study `name`, creating it with `direction` when it does not exist. */
  async getOrCreateStudy(name: string, direction: DirectionValue): Promise<number> {
    return await this.locked(async (state) => {
      const existing = state.studyByName(name);
      if (existing) {
        if (existing.directions.length !== 1 || existing.directions[0] !== direction) {
          const want = direction === 2 ? "maximize" : "minimize";
          throw new InputError(
            `Study "${name}" exists with another direction (expected ${want}); use another ` +
              `--study_name or the study's --direction`,
          );
        }
        return existing.studyId;
      }
      await this.write([{ op_code: Op.CREATE_STUDY, study_name: name, directions: [direction] }]);
      return (await this.sync()).studyByName(name)!.studyId;
    });
  }

  /** Creates trials in one locked append; returns them (as replayed) in order. */
  async createTrials(studyId: number, templates: readonly TrialTemplate[]): Promise<Trial[]> {
    return await this.locked(async (state) => {
      const before = state.trialsOf(studyId).length;
      await this.write(templates.map((t) => createTrialRecord(studyId, t)));
      const mine = (await this.sync()).trialsOf(studyId).slice(before)
        .filter((t) => t.createdBy === this.workerId);
      return mine.slice(-templates.length);
    });
  }

  /** Sets a parameter of a running trial. */
  async setParam(trial: Trial, name: string, value: ParamValue, d: Distribution): Promise<void> {
    await this.write([{
      op_code: Op.SET_TRIAL_PARAM,
      trial_id: trial.trialId,
      param_name: name,
      param_value_internal: toInternal(d, value),
      distribution: distributionToJson(d),
    }]);
  }

  /** Sets a trial's state (and its values when it completes). */
  async setState(
    trial: Trial,
    state: TrialStateValue,
    values: number[] | null = null,
  ): Promise<void> {
    await this.write([stateRecord(trial.trialId, state, values)]);
  }

  /** Records an intermediate value at `step`. */
  async setIntermediate(trial: Trial, step: number, value: number): Promise<void> {
    await this.write([{
      op_code: Op.SET_TRIAL_INTERMEDIATE_VALUE,
      trial_id: trial.trialId,
      step,
      intermediate_value: value,
    }]);
  }

  /** Sets one system attribute of a trial. */
  async setSystemAttr(trial: Trial, key: string, value: unknown): Promise<void> {
    await this.write([{
      op_code: Op.SET_TRIAL_SYSTEM_ATTR,
      trial_id: trial.trialId,
      system_attr: { [key]: value },
    }]);
  }

  /** Sets one user attribute of a study (Optuna's `study.set_user_attr`). */
  async setStudyUserAttr(studyId: number, key: string, value: unknown): Promise<void> {
    await this.write([{
      op_code: Op.SET_STUDY_USER_ATTR,
      study_id: studyId,
      user_attr: { [key]: value },
    }]);
  }

  /** Sets one user attribute of a trial. */
  async setUserAttr(trial: Trial, key: string, value: unknown): Promise<void> {
    await this.write([{
      op_code: Op.SET_TRIAL_USER_ATTR,
      trial_id: trial.trialId,
      user_attr: { [key]: value },
    }]);
  }

  async close(): Promise<void> {
    await this.backend.close();
  }
}

/** A SET_TRIAL_STATE_VALUES record (datetime_start for RUNNING, datetime_complete when final). */
export function stateRecord(
  trialId: number,
  state: TrialStateValue,
  values: number[] | null,
): Record<string, unknown> {
  const r: Record<string, unknown> = {
    op_code: Op.SET_TRIAL_STATE_VALUES,
    trial_id: trialId,
    state,
    values,
  };
  if (state === TrialState.RUNNING) r.datetime_start = pyNow();
  else if (state !== TrialState.WAITING) r.datetime_complete = pyNow();
  return r;
}

function createTrialRecord(studyId: number, t: TrialTemplate): Record<string, unknown> {
  const distributions = t.distributions ?? {};
  return {
    op_code: Op.CREATE_TRIAL,
    study_id: studyId,
    datetime_start: t.state === TrialState.RUNNING ? pyNow() : null,
    state: t.state,
    value: null,
    values: null,
    distributions: Object.fromEntries(
      Object.entries(distributions).map(([k, d]) => [k, distributionToJson(d)]),
    ),
    params: Object.fromEntries(
      Object.entries(t.params ?? {}).map(([k, v]) => [k, toInternal(distributions[k], v)]),
    ),
    user_attrs: t.userAttrs ?? {},
    system_attrs: t.systemAttrs ?? {},
    intermediate_values: {},
  };
}
