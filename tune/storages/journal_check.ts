/**
 * Checking a journal record before it is replayed: the fields its `op_code` needs, with their
 * types and ranges. A study file written by hand, by a buggy tool or torn by a disk error is
 * then refused up front with the line that is wrong (exit 2), instead of steering the study by a
 * value such as `"values": "high"`.
 *
 * @module
 */
import { excerptValue } from "../../core/mod.ts";
import { type Distribution, distributionFromJson } from "../distributions.ts";
import { Op } from "./journal.ts";

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isId = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
const isState = (v: unknown) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 4;
const isValues = (v: unknown) =>
  v === null || (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "number"));

/** A distribution's JSON, or the reason it is not one. */
function distribution(v: unknown): Distribution | string {
  if (typeof v !== "string" && !isObject(v)) return "is not a distribution's JSON";
  try {
    const d = distributionFromJson(v);
    if (d.kind !== "categorical" && !(d.low <= d.high)) return "has low > high";
    return d;
  } catch (err) {
    return `is not a distribution (${(err as Error).message})`;
  }
}

/** Why an internal value is not one of `d`'s, or null when it is. */
function internalProblem(d: Distribution, v: unknown): string | null {
  if (typeof v !== "number") return "is not a number";
  if (d.kind === "categorical") {
    return Number.isInteger(v) && v >= 0 && v < d.choices.length ? null : "is no choice's index";
  }
  return v >= d.low && v <= d.high ? null : `is outside [${d.low}, ${d.high}]`;
}

/** What is wrong with record `r`, in a few words, or null when it can be replayed. */
export function recordProblem(r: unknown): string | null {
  if (!isObject(r)) return "not a JSON object";
  const field = (name: string, ok: boolean, what: string) =>
    ok ? null : `field "${name}" ${excerptValue(r[name])} is not ${what}`;
  const op = r.op_code;
  if (!Number.isInteger(op) || (op as number) < 0 || (op as number) > 9) {
    return `unknown op_code ${excerptValue(op)} (Optuna's journal has 0 to 9)`;
  }
  const checks: (string | null)[] = [field("worker_id", typeof r.worker_id === "string", "text")];
  switch (op) {
    case Op.CREATE_STUDY:
      checks.push(
        field("study_name", typeof r.study_name === "string", "text"),
        field(
          "directions",
          Array.isArray(r.directions) && r.directions.length > 0 &&
            r.directions.every((d) => d === 1 || d === 2),
          "a list of directions (1 minimize, 2 maximize)",
        ),
      );
      break;
    case Op.DELETE_STUDY:
      checks.push(field("study_id", isId(r.study_id), "a study id"));
      break;
    case Op.SET_STUDY_USER_ATTR:
    case Op.SET_STUDY_SYSTEM_ATTR: {
      const key = op === Op.SET_STUDY_USER_ATTR ? "user_attr" : "system_attr";
      checks.push(
        field("study_id", isId(r.study_id), "a study id"),
        field(key, isObject(r[key]), "an object"),
      );
      break;
    }
    case Op.CREATE_TRIAL:
      checks.push(
        field("study_id", isId(r.study_id), "a study id"),
        field("state", r.state === undefined || isState(r.state), "a trial state (0 to 4)"),
        field("values", r.values === undefined || isValues(r.values), "null or a list of numbers"),
        field(
          "value",
          r.value === undefined || r.value === null || typeof r.value === "number",
          "a number",
        ),
        field("user_attrs", r.user_attrs === undefined || isObject(r.user_attrs), "an object"),
        field(
          "system_attrs",
          r.system_attrs === undefined || isObject(r.system_attrs),
          "an object",
        ),
        field(
          "intermediate_values",
          r.intermediate_values === undefined ||
            (isObject(r.intermediate_values) &&
              Object.values(r.intermediate_values).every((v) => typeof v === "number")),
          "an object of numbers",
        ),
        trialParamsProblem(r),
      );
      break;
    case Op.SET_TRIAL_PARAM: {
      const d = distribution(r.distribution);
      checks.push(
        field("trial_id", isId(r.trial_id), "a trial id"),
        field("param_name", typeof r.param_name === "string", "text"),
        typeof d === "string" ? `field "distribution" ${d}` : null,
        typeof d === "string" ? null : internalProblem(d, r.param_value_internal) &&
          `field "param_value_internal" ${excerptValue(r.param_value_internal)} ${
            internalProblem(d, r.param_value_internal)
          }`,
      );
      break;
    }
    case Op.SET_TRIAL_STATE_VALUES:
      checks.push(
        field("trial_id", isId(r.trial_id), "a trial id"),
        field("state", isState(r.state), "a trial state (0 to 4)"),
        field("values", r.values === undefined || isValues(r.values), "null or a list of numbers"),
      );
      break;
    case Op.SET_TRIAL_INTERMEDIATE_VALUE:
      checks.push(
        field("trial_id", isId(r.trial_id), "a trial id"),
        field("step", Number.isSafeInteger(r.step), "an integer step"),
        field("intermediate_value", typeof r.intermediate_value === "number", "a number"),
      );
      break;
    case Op.SET_TRIAL_USER_ATTR:
    case Op.SET_TRIAL_SYSTEM_ATTR: {
      const key = op === Op.SET_TRIAL_USER_ATTR ? "user_attr" : "system_attr";
      checks.push(
        field("trial_id", isId(r.trial_id), "a trial id"),
        field(key, isObject(r[key]), "an object"),
      );
      break;
    }
  }
  return checks.find((c) => c !== null) ?? null;
}

/** A CREATE_TRIAL's distributions and the internal values of its params. */
function trialParamsProblem(r: Record<string, unknown>): string | null {
  const dists = r.distributions ?? {};
  const params = r.params ?? {};
  if (!isObject(dists)) return `field "distributions" ${excerptValue(dists)} is not an object`;
  if (!isObject(params)) return `field "params" ${excerptValue(params)} is not an object`;
  for (const [name, json] of Object.entries(dists)) {
    const d = distribution(json);
    if (typeof d === "string") return `distribution of "${name}" ${d}`;
    if (name in params) {
      const problem = internalProblem(d, params[name]);
      if (problem) return `param "${name}" ${excerptValue(params[name])} ${problem}`;
    }
  }
  const loose = Object.keys(params).find((name) => !(name in dists));
  return loose === undefined ? null : `param "${loose}" has no distribution`;
}
