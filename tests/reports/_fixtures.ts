/**
 * A test-made study (COMPLETE, PRUNED and FAIL trials, one with a run record) and a test-made
 * run record, for the report tests; and a headless Chromium that opens a page and says what it
 * saw.
 *
 * @module
 */
import { join } from "node:path";
import { Direction, JournalFile, OBJECTIVE_ATTR, RandomSampler } from "../../tune/mod.ts";
import { type RunMeta, RunRecord } from "../../tracking/mod.ts";
import { makeStudy } from "../tune/_study.ts";
import { REPO_ROOT } from "../_helpers.ts";

export const META: RunMeta = {
  program: "mrpc-tune",
  version: "0.1.0",
  commit: "abc1234",
  deno: "2.9.6",
  tfjs: "4.22.0",
  backend: "wasm",
  gpu: false,
  host: "testhost",
  command: "train",
  started: "2026-12-01T10:00:00.000Z",
  ended: "2026-12-01T10:05:00.000Z",
  exit_code: 0,
};

/** Writes a run record with 4 logged steps and 2 evaluations; returns its folder. */
export async function makeRunRecord(runsDir: string, runId = "run1"): Promise<string> {
  const record = await RunRecord.open(runsDir, runId, {
    config: { lr: 3e-5, batch_size: 16, epochs: 3, model: "/tmp/mrpc-tune-demo-gone/x" },
    meta: META,
  });
  const evals: Record<number, Record<string, number>> = {
    20: { "eval/loss": 0.55, "eval/accuracy": 0.75, "eval/f1": 0.8125 },
    40: { "eval/loss": 0.45, "eval/accuracy": 0.8125, "eval/f1": 0.875 },
  };
  const train = [[10, 0.69, 0, 2.5], [20, 0.6, 3e-5, 1.75], [30, 0.5, 2e-5, 1.25], [
    40,
    0.45,
    1e-5,
    1,
  ]];
  for (const [step, loss, lr, norm] of train) {
    await record.log(step, { "train/loss": loss, "train/lr": lr, "train/grad_norm": norm });
    if (evals[step]) await record.log(step, evals[step]);
  }
  await record.writeSummary({ "best/accuracy": 0.8125, "best/step": 40 });
  await Deno.writeTextFile(
    join(record.dir, "wandb.json"),
    JSON.stringify({ runId, name: "lr3e-5" }),
  );
  return record.dir;
}

/**
 * A study "s" in `<dir>/s/journal.log`: trial 0 COMPLETE 0.8125 (lr 3e-5; its record says
 * accuracy 0.75 at step 20 and 0.8125 at 40), trial 1 COMPLETE 0.75 (lr 1e-4; intermediate
 * values only: 0.7 at 10, 0.75 at 20), trial 2 PRUNED at step 10 with 0.5 (lr 1e-6), trial 3
 * FAIL (lr 2e-6, "exit code 1: out of memory").
 */
export async function makeStudyFixture(
  dir: string,
): Promise<{ storage: string; studyDir: string }> {
  const studyDir = join(dir, "s");
  const storage = join(studyDir, "journal.log");
  const study = await makeStudy(new RandomSampler({ seed: 0 }), {
    backend: await new JournalFile(storage).open(),
    direction: Direction.MAXIMIZE,
    nTrials: 10,
  });
  await study.options.storage.setStudyUserAttr(study.options.studyId, OBJECTIVE_ATTR, "accuracy");
  const plan: [number, string, [number, number][], number | null, string | null][] = [
    [3e-5, "complete", [[20, 0.6], [40, 0.8125]], 0.8125, null],
    [1e-4, "complete", [[10, 0.7], [20, 0.75]], 0.75, null],
    [1e-6, "pruned", [[10, 0.5]], null, null],
    [2e-6, "fail", [], null, "exit code 1: out of memory"],
  ];
  await study.enqueue(plan.map(([lr], i) => ({ lr, batch_size: [16, 32, 16, 32][i] })));
  for (const [, kind, reports, value, reason] of plan) {
    const t = (await study.ask())!;
    await t.suggestFloat("lr", { low: 1e-6, high: 1e-4, log: true });
    await t.suggestCategorical("batch_size", [16, 32]);
    for (const [step, v] of reports) await t.report(v, step);
    if (kind === "complete") await study.tell(t.trial, { state: "complete", value: value! });
    else if (kind === "pruned") await study.tell(t.trial, { state: "pruned" });
    else await study.tell(t.trial, { state: "fail", reason: reason! });
  }
  await makeRunRecord(join(studyDir, "trials", "trial-0", "runs"), "t0");
  return { storage, studyDir };
}

/** The aria-labels (each mark's own description) of an SVG or page. */
export function ariaLabels(html: string): string[] {
  return [...html.matchAll(/aria-label="([^"]*)"/g)].map((m) => m[1].replaceAll("&#39;", "'"));
}

/** Whether Chromium is there (the browser tests are skipped, saying so, when not). */
export function needsChromium(testName: string): boolean {
  try {
    new Deno.Command("/usr/bin/chromium", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync();
    return false;
  } catch {
    console.log(`SKIP "${testName}": /usr/bin/chromium is not installed (Debian package chromium)`);
    return true;
  }
}

/** What headless Chromium saw of a page. */
export interface Seen {
  readonly consoleErrors: string[];
  readonly requests: string[];
  /** Per inline SVG: how many drawn marks (paths, lines, rects, text) it holds. */
  readonly svgMarks: number[];
}

/** Opens `file` in headless Chromium, takes a screenshot to `screenshot`, reports what it saw. */
export async function openInChromium(file: string, screenshot: string): Promise<Seen> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(REPO_ROOT, "tests", "reports", "_browser.ts"), file, screenshot],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
  if (!out.success) {
    throw new Error(`Chromium failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return JSON.parse(text) as Seen;
}
