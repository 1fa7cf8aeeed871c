/**
 * The reports folder's public face: self-contained HTML pages of a study (from its journal and
 * its trials' run records) and of one run (from its record), with charts rendered to SVG by
 * Vega without a browser.
 *
 * @module
 */
export { takeChartWarnings } from "./charts.ts";
export {
  loadRunReport,
  renderRunReport,
  type RunReportData,
  writeRunReport,
} from "./run_report.ts";
export {
  loadStudyReport,
  renderStudyReport,
  type StudyReportData,
  writeStudyReport,
} from "./study_report.ts";
