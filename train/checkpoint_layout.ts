/**
 * The one owner of a checkpoint dir's layout on disk, as the Hugging Face Trainer writes it:
 *
 * ```text
 * <checkpoint_dir>/
 *   checkpoint-<step>/        one per save: the model as an HF folder, optimizer.safetensors,
 *                             trainer_state.json, eval_results.json, and checkpoint_complete.json
 *                             (written last: a folder without it is never used)
 *   config.json, model.safetensors, tokenizer files, eval_results.json, trainer_state.json
 *                             the final (best) model, copied from its checkpoint at the end
 *   runs/<run id>/            the run records (tracking/)
 *   .lock                     the run holding the folder (run_dir.ts)
 * ```
 *
 * Everything that reads or writes these names — training, rotation, `--resume`, `tune`'s trial
 * folders and its `best/` model — asks this module.
 *
 * @module
 */
import { join } from "node:path";
import { exists } from "../io/mod.ts";

/** The trainer state inside a checkpoint folder (and beside the final model). */
export const TRAINER_STATE_FILE = "trainer_state.json";
/** Adam's moments inside a checkpoint folder. */
export const OPTIMIZER_FILE = "optimizer.safetensors";
/** The evaluation a checkpoint was saved with (HF's `eval_*` keys). */
export const EVAL_RESULTS_FILE = "eval_results.json";
/** Written last into every checkpoint folder: a folder without it is never used. */
export const COMPLETE_MARKER = "checkpoint_complete.json";

/**
 * The files of a final model in a checkpoint dir: a Hugging Face folder (config, weights,
 * tokenizer) and the run's results. `tune` copies these into `best/`.
 */
export const MODEL_FILES: readonly string[] = Object.freeze([
  "config.json",
  "model.safetensors",
  "tokenizer.json",
  "tokenizer_config.json",
  "vocab.txt",
  "special_tokens_map.json",
  EVAL_RESULTS_FILE,
  TRAINER_STATE_FILE,
]);

/** The files whose presence means that a folder holds a finished model. */
const FINAL_MODEL_MARKERS = ["config.json", "model.safetensors"];

const CHECKPOINT_RE = /^checkpoint-(\d+)$/;

/** The folder name of the checkpoint saved at optimizer step `step`: `checkpoint-<step>`. */
export function checkpointName(step: number): string {
  return `checkpoint-${step}`;
}

/** The step a checkpoint folder name stands for (`checkpoint-12` → 12), or null for any other. */
export function checkpointStep(name: string): number | null {
  const m = CHECKPOINT_RE.exec(name);
  return m ? Number(m[1]) : null;
}

/**
 * Whether `name` is a temporary that a killed writer left in a checkpoint dir: a checkpoint
 * being written or replaced (`.checkpoint-<step>.tmp-<pid>`, `.checkpoint-<step>.old-<pid>`) or
 * a file copy (`*.tmp-<pid>`). Returns the writer's pid, or null for any other name.
 */
export function temporaryWriter(name: string, isFile: boolean): number | null {
  const m = /^\.checkpoint-\d+\.(?:tmp|old)-(\d+)$/.exec(name) ??
    (isFile ? /\.tmp-(\d+)$/.exec(name) : null);
  return m ? Number(m[1]) : null;
}

/** True when `dir` is a complete checkpoint folder (it holds {@linkcode COMPLETE_MARKER}). */
export function isCompleteCheckpoint(dir: string): Promise<boolean> {
  return exists(join(dir, COMPLETE_MARKER));
}

/** A complete checkpoint folder. */
export interface CheckpointRef {
  readonly step: number;
  readonly path: string;
}

/** Complete `checkpoint-<step>` folders of `dir`, oldest step first. */
export async function listCheckpoints(dir: string): Promise<CheckpointRef[]> {
  if (!(await exists(dir))) return [];
  const found: CheckpointRef[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const step = checkpointStep(entry.name);
    if (!entry.isDirectory || step === null) continue;
    const path = join(dir, entry.name);
    if (await isCompleteCheckpoint(path)) found.push({ step, path });
  }
  return found.sort((a, b) => a.step - b.step);
}

/** The newest complete checkpoint of `dir`, or null. */
export async function latestCheckpoint(dir: string): Promise<CheckpointRef | null> {
  const all = await listCheckpoints(dir);
  return all.length ? all[all.length - 1] : null;
}

/** The run records in `dir` (`runs/<id>`, as tracking/ writes them), sorted. */
export async function runRecords(dir: string): Promise<string[]> {
  const entries = await Array.fromAsync(Deno.readDir(join(dir, "runs"))).catch(() => []);
  return entries.filter((e) => e.isDirectory).map((e) => `runs/${e.name}`).sort();
}

/** Whether `dir` holds a finished model (config.json and model.safetensors). */
export async function hasFinalModel(dir: string): Promise<boolean> {
  for (const f of FINAL_MODEL_MARKERS) if (!(await exists(join(dir, f)))) return false;
  return true;
}

/**
 * Removes a run's checkpoints and final model from `dir` (its run records stay); returns the
 * names removed, sorted.
 */
export async function removeModelAndCheckpoints(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (checkpointStep(e.name) !== null || (e.isFile && MODEL_FILES.includes(e.name))) {
      await Deno.remove(join(dir, e.name), { recursive: true });
      removed.push(e.name);
    }
  }
  return removed.sort();
}

/**
 * Removes the weights of a finished run in `dir` (its checkpoints and `model.safetensors`); its
 * config, results, state and run records stay, so that the run can still be read and reported.
 */
export async function removeWeights(dir: string): Promise<void> {
  const entries = await Array.fromAsync(Deno.readDir(dir)).catch(() => []);
  for (const e of entries) {
    if (checkpointStep(e.name) !== null || e.name === "model.safetensors") {
      await Deno.remove(join(dir, e.name), { recursive: true }).catch(() => {});
    }
  }
}

/** Copies the final model's files ({@linkcode MODEL_FILES}) present in `from` into `to`. */
export async function copyFinalModel(from: string, to: string): Promise<void> {
  for (const f of MODEL_FILES) {
    const bytes = await Deno.readFile(join(from, f)).catch(() => null);
    if (bytes) await Deno.writeFile(join(to, f), bytes);
  }
}
