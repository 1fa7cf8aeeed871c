/**
 * `mrpc-tune report`: a self-contained HTML page of a study (`--study_name`, from its journal and
 * its trials' run records) or of one run (`--run`, a run record or a checkpoint dir), with every
 * chart inline as SVG: nothing is fetched when it is opened.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { InputError } from "../core/mod.ts";
import { checkWritableDir } from "../io/mod.ts";
import { writeRunReport, writeStudyReport } from "../reports/mod.ts";
import { findRecords, readRecordJson, RECORD_FILES, type RunMeta } from "../tracking/mod.ts";
import { checkStorageSpec, defaultJournal, reportPath } from "../tune/mod.ts";
import { defineCommand } from "./command.ts";
import { type OptionSpec, UsageError } from "./options.ts";

/** The `report` command's option table. */
export const REPORT_OPTIONS = [
  {
    name: "study_name",
    type: "string",
    metavar: "NAME",
    description: "Report this study (as tune names it)",
  },
  {
    name: "storage",
    type: "string",
    metavar: "FILE|redis://HOST:PORT[/DB]",
    description: "The study's journal (default: <checkpoint_dir>/<study_name>/journal.log)",
  },
  {
    name: "checkpoint_dir",
    type: "string",
    default: "models",
    metavar: "DIR",
    description: "Where the study's trials are (tune's --checkpoint_dir)",
  },
  {
    name: "run",
    type: "string",
    metavar: "DIR",
    description: "Report one run instead: a run record (runs/<id>) or a checkpoint dir",
  },
  {
    name: "output",
    type: "string",
    metavar: "FILE",
    description: "Where to write the page (default: report.html in the study folder or the record)",
  },
] as const satisfies readonly OptionSpec[];

/** The newest record under `path` (by its start time), or an `InputError`. */
async function runRecord(path: string): Promise<string> {
  const found = await findRecords(path);
  if (found.length === 0) {
    throw new InputError(`Invalid --run "${path}": no run record there (expected runs/<id>/)`);
  }
  const started = await Promise.all(
    found.map(async (d) => (await readRecordJson<RunMeta>(d, RECORD_FILES.meta))?.started ?? ""),
  );
  return found[started.indexOf([...started].sort().at(-1)!)];
}

/** `mrpc-tune report`. */
export const REPORT_COMMAND = defineCommand({
  name: "report",
  summary: "Write a self-contained HTML report of a study or a run (charts as inline SVG)",
  options: REPORT_OPTIONS,
  async run(values) {
    if ((values.study_name === undefined) === (values.run === undefined)) {
      throw new UsageError("Give either --study_name NAME (a study) or --run DIR (a run)");
    }
    let written: string;
    // The page's folder must take it: checked before anything is read or rendered.
    const writable = (output: string) =>
      checkWritableDir(dirname(output), {
        what: values.output === undefined ? "the report folder" : "--output",
      });
    if (values.run !== undefined) {
      if (values.storage !== undefined) throw new UsageError("--storage applies to --study_name");
      const dir = await runRecord(values.run);
      const output = values.output ?? join(dir, "report.html");
      await writable(output);
      written = await writeRunReport(dir, output);
    } else {
      const studyName = values.study_name!;
      const studyDir = join(values.checkpoint_dir, studyName);
      const storage = values.storage ?? defaultJournal(studyDir);
      checkStorageSpec(storage);
      if (!storage.includes("://")) {
        const found = await Deno.stat(storage).then(() => true, () => false);
        if (!found) throw new InputError(`Invalid --storage "${storage}": no such study journal`);
      }
      const output = values.output ?? reportPath(studyDir);
      await writable(output);
      written = await writeStudyReport({ storage, studyName, studyDir, output });
    }
    console.log(written);
    return 0;
  },
});
