/**
 * The reports folder's public face: self-contained HTML pages of a study (from its journal and
 * its trials' run records) and of one run (from its record), with charts rendered to SVG by
 * Vega without a browser.
 *
 * @module
 */
export * from "./charts.ts";
export * from "./html.ts";
export * from "./run_report.ts";
export * from "./study_report.ts";
