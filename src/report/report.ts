// `slt report`: reads the run directories (read-run.ts), compares them (compare.ts) and writes the
// comparison as one HTML file (compare-html.ts) or prints its tables (table.ts). The entry points of the
// command and of `slt sweep`, which ends by writing its report.
import { existsSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { E_REPORT, SltError } from "../core/errors.ts";
import { writeRunReport } from "../ui/run-report.ts";
import { type Comparison, compareRuns } from "./compare.ts";
import { compareHtml } from "./compare-html.ts";
import { expandRunDirs, readRun, readSweepSettings } from "./read-run.ts";
import { formatTable, type TableFormat } from "./table.ts";

/**
 * The comparison of the runs the paths name (run directories, or directories of runs). Setting names
 * come from a sweep.jsonl in a directory given or beside the runs, when there is one.
 */
export function loadComparison(paths: readonly string[], baseline?: string): Comparison {
  const dirs = expandRunDirs(paths);
  const sweepNames = new Map<string, string>();
  const places = new Set([...paths.map((p) => resolve(p)), ...dirs.map((d) => dirname(d))]);
  for (const place of places) for (const [dir, name] of readSweepSettings(place)) sweepNames.set(dir, name);
  return compareRuns(dirs.map(readRun), sweepNames, undefined, baseline);
}

/** Where the HTML goes unless -o says: inside the directory when one is given, else ./report.html. */
export function defaultOutput(paths: readonly string[]): string {
  return paths.length === 1 ? join(resolve(paths[0]), "report.html") : resolve("report.html");
}

function writeText(file: string, text: string): string {
  const path = resolve(file);
  if (!existsSync(dirname(path)))
    throw new SltError(E_REPORT, `cannot write ${file}: its directory ${dirname(path)} does not exist`);
  writeFileSync(path, text);
  return path;
}

export interface WriteReportOptions {
  /** run directories, or directories of runs (a sweep's) */
  readonly runDirs: readonly string[];
  /** the HTML file; default defaultOutput(runDirs) */
  readonly out?: string;
  /** the label of the setting the others are compared with (see compareRuns) */
  readonly baseline?: string;
}

/** Writes the comparison page of the runs and returns its path. */
export function writeReport(options: WriteReportOptions): string {
  const html = compareHtml(loadComparison(options.runDirs, options.baseline));
  return writeText(options.out ?? defaultOutput(options.runDirs), html);
}

/**
 * `slt report DIR… [-o FILE] [--format F]`: with a format, the tables as text (into FILE when given,
 * else returned for stdout); without, the HTML page written; returns what to print on stdout.
 */
export function reportCommand(
  paths: readonly string[],
  options: { readonly output?: string; readonly format?: TableFormat; readonly baseline?: string },
): string {
  // one run's own directory: its page, the dashboard's view of that run (ui/run-report.ts)
  const oneRun = paths.length === 1 && existsSync(join(paths[0], "config.json"));
  if (options.format === undefined && oneRun && options.baseline === undefined)
    return `report: ${writeRunReport(paths[0], options.output)}\n`;
  if (options.format === undefined)
    return `report: ${writeReport({ runDirs: paths, out: options.output, baseline: options.baseline })}\n`;
  const text = formatTable(loadComparison(paths, options.baseline), options.format);
  if (options.output === undefined) return text;
  return `report: ${writeText(options.output, text)}\n`;
}
