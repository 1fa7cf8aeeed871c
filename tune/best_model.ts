/**
 * The study's best model, `<study_dir>/best/`: an HF folder (config, weights, tokenizer, the
 * trial's results) plus `trial.json`, replaced atomically whenever a trial beats the study's
 * best, under the journal lock so that workers never interleave two replacements. A crash between
 * the two renames of a replacement leaves the old folder aside (`.best.old-<pid>`); the next
 * worker puts it back.
 *
 * @module
 */
import { join } from "node:path";
import { exists, writeDirAtomic, writeJsonAtomic } from "../io/mod.ts";
import { copyFinalModel, hasFinalModel } from "../train/mod.ts";
import type { ParamValue } from "./distributions.ts";
import type { JournalStorage } from "./storages/mod.ts";
import { bestModelDir } from "./study_layout.ts";
import type { Objective } from "./trial_runner.ts";

/** What `best/trial.json` says about the trial the model came from. */
export interface BestTrialInfo {
  readonly study_name: string;
  readonly number: number;
  readonly value: number;
  readonly objective: Objective;
  readonly params: Readonly<Record<string, ParamValue>>;
}

/**
 * Puts back a best/ folder that a crash left renamed aside (`.best.old-<pid>`, between the two
 * renames of its atomic replacement), so that best/ survives any crash. Holds the journal lock,
 * as replacements do: never in the middle of another worker's.
 */
export async function recoverBestModel(
  storage: JournalStorage,
  studyDir: string,
  log: (line: string) => void,
): Promise<void> {
  const bestDir = bestModelDir(studyDir);
  await storage.locked(async () => {
    if (await exists(bestDir)) return;
    const aside = (await Array.fromAsync(Deno.readDir(studyDir)).catch(() => []))
      .find((e) => e.isDirectory && /^\.best\.old-\d+$/.test(e.name));
    if (!aside) return;
    await Deno.rename(join(studyDir, aside.name), bestDir);
    log(`Restored the best model in "${bestDir}" (a worker stopped while replacing it)`);
  });
}

/** Replaces best/ with the final model of the trial run in `trialDir` (see module docs). */
export async function saveBestModel(
  storage: JournalStorage,
  studyDir: string,
  trialDir: string,
  info: BestTrialInfo,
): Promise<void> {
  await storage.locked(async () => {
    await writeDirAtomic(bestModelDir(studyDir), async (tmp) => {
      await copyFinalModel(trialDir, tmp);
      await writeJsonAtomic(join(tmp, "trial.json"), info);
    });
  });
}

/** The best/ folder of the study in `studyDir` when it holds a model, else null. */
export async function bestModelPath(studyDir: string): Promise<string | null> {
  const dir = bestModelDir(studyDir);
  return await hasFinalModel(dir) ? dir : null;
}
