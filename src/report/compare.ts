// The comparison of several runs, as one plain record every output is made from (the Markdown, CSV and
// JSON tables, table.ts; the HTML page, compare-html.ts): the runs grouped into settings (group.ts), each
// setting's mean best-training-fitness curve against evaluations with its 95% band (curves.ts), its final
// figures with 95% confidence intervals (stats.ts), and its test accuracy against the baseline setting's.
// Pure. Only the runs that ended (status ok) count in the figures and curves: a killed or interrupted run
// stopped short of the budget and would pull the means down; such runs are counted per setting.
import type { Config } from "../core/config.ts";
import type { FitnessMode } from "../core/ga/index.ts";
import { type Curve, runCurve, type SettingCurve, settingCurve } from "./curves.ts";
import { baselineIndex, groupSettings } from "./group.ts";
import { type RunFigures, type RunRecord, runFigures } from "./read-run.ts";
import {
  type Difference,
  type MeanCi,
  meanCi,
  median,
  type Verdict,
  verdictOf,
  welchDifference,
} from "./stats.ts";

export const REPORT_FORMAT = "slt-report/1";

/** One run in the comparison. */
export interface RunRow extends RunFigures {
  readonly dir: string;
  readonly seed: number;
  /** its best-so-far training fitness at its last point (the curve's end) */
  readonly bestTrainingFitness: number | null;
}

/** One setting's figures; every mean is over its runs that ended. */
export interface SettingSummary {
  readonly label: string;
  /** the fields that set it apart from the other settings */
  readonly fields: Readonly<Record<string, string>>;
  readonly baseline: boolean;
  /** what its training fitness is: accuracy (higher is better) or cross-entropy loss (lower is better) */
  readonly fitness: FitnessMode;
  readonly runs: number;
  /** runs killed, failed or interrupted (not in the figures) */
  readonly interrupted: number;
  readonly evaluationsMedian: number | null;
  readonly generationsMedian: number | null;
  readonly wallSecondsMedian: number | null;
  readonly bestTrainingFitness: MeanCi;
  readonly testAccuracy: MeanCi;
  readonly sparsity: MeanCi;
  /** null when the runs did not prune */
  readonly prunedTestAccuracy: MeanCi | null;
  /** test accuracy minus the baseline's (Welch 95% interval); null for the baseline itself */
  readonly testAccuracyVsBaseline: (Difference & { readonly verdict: Verdict }) | null;
  /**
   * best training fitness minus the baseline's (Welch 95% interval), what the search optimises; the
   * verdict says better for a lower loss; null for the baseline and when the fitness kinds differ
   */
  readonly trainingFitnessVsBaseline: (Difference & { readonly verdict: Verdict }) | null;
  readonly curve: SettingCurve;
  readonly config: Config;
  readonly runList: readonly RunRow[];
}

export interface Comparison {
  readonly format: typeof REPORT_FORMAT;
  /** the baseline setting's label; null with one setting */
  readonly baseline: string | null;
  readonly settings: readonly SettingSummary[];
}

interface Prepared {
  readonly dir: string;
  readonly config: Config;
  readonly row: RunRow;
  readonly curve: Curve;
}

function prepare(run: RunRecord): Prepared {
  const curve = runCurve(run.events, run.config.ga.fitness);
  const last = curve.ys.length > 0 ? curve.ys[curve.ys.length - 1] : null;
  const row: RunRow = { dir: run.dir, seed: run.config.seed, ...runFigures(run), bestTrainingFitness: last };
  return { dir: run.dir, config: run.config, row, curve };
}

const values = (rows: readonly RunRow[], f: (r: RunRow) => number | null) =>
  rows.map(f).filter((v): v is number => v !== null);
const medianOrNull = (v: number[]) => (v.length > 0 ? median(v) : null);

/** The comparison of the runs (see the file comment); `sweepNames` as for groupSettings. */
export function compareRuns(
  runs: readonly RunRecord[],
  sweepNames: ReadonlyMap<string, string> = new Map(),
  curvePoints = 50,
  /** the baseline setting's label (default: the first one-population setting, else the first) */
  baseline?: string,
): Comparison {
  const settings = groupSettings(runs.map(prepare), sweepNames);
  const base = settings.length > 1 || baseline !== undefined ? baselineIndex(settings, baseline) : -1;
  const okRows = settings.map((s) => s.runs.filter((r) => r.row.status === "ok").map((r) => r.row));
  const baseTest = base >= 0 ? values(okRows[base], (r) => r.testAccuracy) : [];
  const baseFitness = base >= 0 ? values(okRows[base], (r) => r.bestTrainingFitness) : [];
  const summaries = settings.map((s, k): SettingSummary => {
    const ok = okRows[k];
    const okCurves = s.runs.filter((r) => r.row.status === "ok").map((r) => r.curve);
    const test = values(ok, (r) => r.testAccuracy);
    const diff = base >= 0 && k !== base ? welchDifference(test, baseTest) : null;
    const fitness = values(ok, (r) => r.bestTrainingFitness);
    const sameKind = base >= 0 && s.config.ga.fitness === settings[base].config.ga.fitness;
    const fitDiff = sameKind && k !== base ? welchDifference(fitness, baseFitness) : null;
    const pruned = values(ok, (r) => r.prunedTestAccuracy);
    return {
      label: s.label,
      fields: s.fields,
      baseline: k === base,
      fitness: s.config.ga.fitness,
      runs: s.runs.length,
      interrupted: s.runs.length - ok.length,
      evaluationsMedian: medianOrNull(values(ok, (r) => r.evaluations)),
      generationsMedian: medianOrNull(values(ok, (r) => r.generations)),
      wallSecondsMedian: medianOrNull(values(ok, (r) => r.wallSeconds)),
      bestTrainingFitness: meanCi(fitness),
      testAccuracy: meanCi(test),
      sparsity: meanCi(values(ok, (r) => r.sparsity)),
      prunedTestAccuracy: pruned.length > 0 ? meanCi(pruned) : null,
      testAccuracyVsBaseline: diff ? { ...diff, verdict: verdictOf(diff) } : null,
      trainingFitnessVsBaseline: fitDiff
        ? { ...fitDiff, verdict: verdictOf(fitDiff, s.config.ga.fitness === "loss" ? "lower" : "higher") }
        : null,
      curve: settingCurve(okCurves, undefined, curvePoints),
      config: s.config,
      runList: s.runs.map((r) => r.row),
    };
  });
  return { format: REPORT_FORMAT, baseline: base >= 0 ? settings[base].label : null, settings: summaries };
}
