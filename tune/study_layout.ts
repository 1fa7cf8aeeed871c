/**
 * The one owner of a study folder's layout, `<checkpoint_dir>/<study_name>/`:
 *
 * ```text
 * journal.log           the study (Optuna's journal), unless --storage names another
 * best/                 the best trial's model (best_model.ts)
 * trials/trial-N/       each trial's checkpoint dir (a resumed trial continues its origin's)
 * study_summary.json    the summary (summary.ts)
 * report.html           the study report
 * runs/<id>/            the study's own run records (one per worker session)
 * ```
 *
 * @module
 */
import { isAbsolute, join } from "node:path";
import type { Trial } from "./storages/mod.ts";

/**
 * The system attribute naming a trial's checkpoint dir, relative to the study dir. A retry that
 * resumes a trial (its worker died, or a signal stopped it) carries its origin's, so that it
 * continues from that trial's last checkpoint instead of starting again.
 */
export const TRIAL_DIR_ATTR = "mrpc_tune_trial_dir";

/** The same, as earlier versions wrote it: a path (relative to where the worker ran). */
const LEGACY_RESUME_DIR_ATTR = "mrpc_tune_resume_dir";

/** The study's journal when `--storage` names none. */
export function defaultJournal(studyDir: string): string {
  return join(studyDir, "journal.log");
}

/** The best model's folder. */
export function bestModelDir(studyDir: string): string {
  return join(studyDir, "best");
}

/** `study_summary.json`. */
export function summaryPath(studyDir: string): string {
  return join(studyDir, "study_summary.json");
}

/** The study report's default path. */
export function reportPath(studyDir: string): string {
  return join(studyDir, "report.html");
}

/** Where the study's own run records go. */
export function studyRunsDir(studyDir: string): string {
  return join(studyDir, "runs");
}

/** A trial's own checkpoint dir, relative to the study dir: `trials/trial-N`. */
export function ownTrialDir(number: number): string {
  return join("trials", `trial-${number}`);
}

/**
 * The checkpoint dir of trial `t`: the one it carries ({@linkcode TRIAL_DIR_ATTR}, its origin's
 * when it resumes another trial), else its own.
 */
export function trialDir(studyDir: string, t: Trial): string {
  const carried = t.systemAttrs[TRIAL_DIR_ATTR];
  if (typeof carried === "string") return isAbsolute(carried) ? carried : join(studyDir, carried);
  const legacy = t.systemAttrs[LEGACY_RESUME_DIR_ATTR];
  if (typeof legacy === "string") return legacy;
  return join(studyDir, ownTrialDir(t.number));
}
