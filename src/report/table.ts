// The final table of a comparison as text: Markdown (a settings table and a runs table), CSV (one row per
// setting, every interval as its two bounds) or JSON (the Comparison record itself, compare.ts: format
// "slt-report/1", the baseline's label, and per setting its fields, figures, curve, configuration and
// runs). Pure. The settings table: runs, failed or interrupted runs, medians of evaluations, generations and wall
// seconds, the means of best training fitness, test accuracy and sparsity with their 95% confidence
// intervals, and the test accuracy's difference to the baseline setting (Welch's 95% interval) with a
// verdict: better or worse when the interval excludes 0, tie when it contains 0.
import type { Comparison, SettingSummary } from "./compare.ts";
import type { MeanCi } from "./stats.ts";

export type TableFormat = "md" | "csv" | "json";
export const TABLE_FORMATS: readonly TableFormat[] = ["md", "csv", "json"];

const fixed = (v: number | null, digits = 4) => (v === null ? "–" : v.toFixed(digits));
const signed = (v: number) => `${v >= 0 ? "+" : "−"}${Math.abs(v).toFixed(4)}`;

/** "0.9312 ± 0.0040" (the interval's half width); the mean alone below 2 runs. */
export function meanCiText(c: MeanCi): string {
  if (c.mean === null) return "–";
  if (c.lower === null || c.upper === null) return c.mean.toFixed(4);
  return `${c.mean.toFixed(4)} ± ${((c.upper - c.lower) / 2).toFixed(4)}`;
}

/** A vs-baseline cell (test accuracy, or `d`): "+0.0123 [−0.0010, +0.0256]", "baseline", or "–". */
export function differenceText(s: SettingSummary, d = s.testAccuracyVsBaseline): string {
  if (s.baseline) return "baseline";
  if (d === null || d.difference === null) return "–";
  if (d.lower === null || d.upper === null) return signed(d.difference);
  return `${signed(d.difference)} [${signed(d.lower)}, ${signed(d.upper)}]`;
}

const FITNESS_NAME = { accuracy: "accuracy", loss: "loss (lower is better)" } as const;

/** The fitness column's header, and each setting's cell (which names its fitness when settings mix them). */
export function fitnessColumn(c: Comparison): { header: string; cell: (s: SettingSummary) => string } {
  const modes = new Set(c.settings.map((s) => s.fitness));
  if (modes.size <= 1) {
    const mode = c.settings[0]?.fitness ?? "accuracy";
    return { header: `best training ${FITNESS_NAME[mode]}`, cell: (s) => meanCiText(s.bestTrainingFitness) };
  }
  return {
    header: "best training fitness",
    cell: (s) => `${meanCiText(s.bestTrainingFitness)} (${s.fitness})`,
  };
}

/** The settings table's header and rows as cell text. */
export function settingsRows(c: Comparison): { header: string[]; rows: string[][] } {
  const fitness = fitnessColumn(c);
  const pruned = c.settings.some((s) => s.prunedTestAccuracy !== null);
  const header = [
    "setting",
    "runs",
    "failed/interrupted",
    "evaluations (median)",
    "generations (median)",
    "wall s (median)",
    fitness.header,
    "test accuracy",
    "sparsity",
    ...(pruned ? ["pruned test accuracy"] : []),
    ...(c.baseline !== null ? ["test accuracy − baseline", "verdict"] : []),
    ...(c.baseline !== null ? ["training fitness − baseline", "verdict (training)"] : []),
  ];
  const rows = c.settings.map((s) => [
    s.label,
    String(s.runs),
    String(s.interrupted),
    fixed(s.evaluationsMedian, 0),
    fixed(s.generationsMedian, 0),
    fixed(s.wallSecondsMedian, 1),
    fitness.cell(s),
    meanCiText(s.testAccuracy),
    meanCiText(s.sparsity),
    ...(pruned ? [s.prunedTestAccuracy ? meanCiText(s.prunedTestAccuracy) : "–"] : []),
    ...(c.baseline !== null ? [differenceText(s), s.baseline ? "" : verdictText(s)] : []),
    ...(c.baseline !== null
      ? [
          differenceText(s, s.trainingFitnessVsBaseline),
          s.baseline ? "" : verdictText(s, s.trainingFitnessVsBaseline),
        ]
      : []),
  ]);
  return { header, rows };
}

function verdictText(s: SettingSummary, d = s.testAccuracyVsBaseline): string {
  if (d === null && s.testAccuracyVsBaseline !== null) return "– (another fitness)";
  const v = d?.verdict ?? "unknown";
  return v === "unknown" ? "– (fewer than 2 runs)" : v;
}

/** Every run's row: its setting, seed, status and final figures, and its directory. */
export function runsRows(c: Comparison): { header: string[]; rows: string[][] } {
  const header = ["setting", "seed", "status", "evaluations", "generations", "wall s"];
  header.push("best training fitness", "test accuracy", "sparsity", "directory");
  const rows = c.settings.flatMap((s) =>
    s.runList.map((r) => [
      s.label,
      String(r.seed),
      r.status === "ok" ? (r.stopReason ?? "ok") : "interrupted",
      fixed(r.evaluations, 0),
      fixed(r.generations, 0),
      fixed(r.wallSeconds, 1),
      fixed(r.bestTrainingFitness),
      fixed(r.testAccuracy),
      fixed(r.sparsity),
      r.dir,
    ]),
  );
  return { header, rows };
}

/**
 * Each setting is compared with the baseline at 95%: with many settings, some verdicts are chance. Said
 * beside the verdicts rather than corrected, so the intervals stay the plain ones the table shows.
 */
export function multiplicityNote(c: Comparison): string {
  const k = c.settings.length - 1;
  if (k < 2) return "";
  return `${k} settings are each compared with the baseline at 95%: about ${(k / 20).toFixed(1)} "better" or "worse" verdicts are expected by chance alone even when no setting differs.`;
}

const mdRow = (cells: readonly string[]) => `| ${cells.map((c) => c.replaceAll("|", "\\|")).join(" | ")} |`;

function markdown(c: Comparison): string {
  const runs = c.settings.reduce((a, s) => a + s.runs, 0);
  const { header, rows } = settingsRows(c);
  const lines = [
    `# Comparison: ${runs} runs in ${c.settings.length} setting${c.settings.length === 1 ? "" : "s"}`,
    "",
    "Means over each setting's runs that ended, ± the half width of their 95% confidence interval (Student t,",
    "n − 1 degrees of freedom; none below 2 runs). Test accuracy: of the best-on-training individual, before",
    "any pruning.",
  ];
  if (c.baseline !== null)
    lines.push(
      `Baseline: ${c.baseline}. The differences in test accuracy and in best training fitness to it have Welch's`,
      "95% interval; verdict better or worse when the interval excludes 0 (for a loss, lower is better), tie when",
      "it contains 0.",
      multiplicityNote(c),
    );
  const runTable = runsRows(c);
  lines.push("", mdRow(header), `|${" --- |".repeat(header.length)}`, ...rows.map(mdRow), "", "## Runs", "");
  lines.push(mdRow(runTable.header), `|${" --- |".repeat(runTable.header.length)}`);
  lines.push(...runTable.rows.map(mdRow));
  return `${lines.join("\n")}\n`;
}

const csvCell = (v: string | number | null) => {
  const text = v === null ? "" : String(v);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
};
const bounds = (c: MeanCi | null) => [c?.mean ?? null, c?.lower ?? null, c?.upper ?? null];

function csv(c: Comparison): string {
  const header = ["setting", "baseline", "runs", "interrupted", "evaluations_median", "generations_median"];
  header.push("wall_seconds_median", "fitness");
  for (const f of ["best_training_fitness", "test_accuracy", "sparsity", "pruned_test_accuracy"])
    header.push(`${f}_mean`, `${f}_lower`, `${f}_upper`);
  header.push(
    "test_accuracy_vs_baseline",
    "test_accuracy_vs_baseline_lower",
    "test_accuracy_vs_baseline_upper",
  );
  header.push("verdict", "training_fitness_vs_baseline");
  header.push("training_fitness_vs_baseline_lower", "training_fitness_vs_baseline_upper", "training_verdict");
  const rows = c.settings.map((s) => {
    const d = s.testAccuracyVsBaseline;
    const f = s.trainingFitnessVsBaseline;
    return [
      s.label,
      s.baseline ? "yes" : "no",
      s.runs,
      s.interrupted,
      s.evaluationsMedian,
      s.generationsMedian,
      s.wallSecondsMedian,
      s.fitness,
      ...bounds(s.bestTrainingFitness),
      ...bounds(s.testAccuracy),
      ...bounds(s.sparsity),
      ...bounds(s.prunedTestAccuracy),
      d?.difference ?? null,
      d?.lower ?? null,
      d?.upper ?? null,
      d?.verdict ?? "",
      f?.difference ?? null,
      f?.lower ?? null,
      f?.upper ?? null,
      f?.verdict ?? "",
    ];
  });
  return `${[header, ...rows].map((r) => r.map(csvCell).join(",")).join("\n")}\n`;
}

/** The comparison in one of the table formats. */
export function formatTable(c: Comparison, format: TableFormat): string {
  if (format === "md") return markdown(c);
  if (format === "csv") return csv(c);
  return `${JSON.stringify(c, null, 2)}\n`;
}
