// `slt reproduce`: an experiment grid over several seeds, each run a child `slt run --json`, summarised
// as a Markdown table. Grids: `papers` (the papers' settings) and `topology` (one population against
// island topologies at an equal evaluation budget). Runs go at once as far as the cores allow: a run
// of k islands takes k cores' worth of slots. The topology grid is a sweep spec shipped in the
// repository (sweeps/topology.json; sweeps/topology-quick.json at --level quick), run by the sweep
// machinery (src/sweep/): its folder gets spec.json and sweep.jsonl, and running it again skips the
// runs already done.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { PRESETS } from "../core/config.ts";
import { stderrLogger } from "../io/log.ts";
import { runJson } from "../sweep/child.ts";
import { readRecords, type SweepRecord } from "../sweep/journal.ts";
import { planSweep } from "../sweep/plan.ts";
import { type Fields, type FieldValue, parseSpec, type SweepSpec } from "../sweep/spec.ts";
import { mapLimit, sweepSpec } from "../sweep/sweep.ts";
import type { DryRun } from "./dry-run.ts";
import type { RunSummary } from "./single-population.ts";

export interface Setting {
  /** row label, e.g. "moons [2,75,2] GA" */
  readonly label: string;
  /** the runs' folder name without the seed, unique within its grid, e.g. "moons-2x75x2-ga" */
  readonly name: string;
  readonly args: readonly string[];
  /** processes the run keeps busy (islands); default 1 */
  readonly processes?: number;
}

export type GridName = "papers" | "topology";

const BINARY_ARCHS = ["2,20,2", "2,75,2", "2,100,2", "2,50,50,2"];
const GA_VARIANTS = [
  { name: "GA", slug: "ga", preset: "2024-ga" },
  { name: "GA (adaptive AB)", slug: "ab", preset: "2024-adaptive" },
];

/** A folder name from dataset, architecture ("2,75,2" or [2, 75, 2]) and what sets the rows apart. */
function settingName(dataset: string, arch: string | readonly number[], ...parts: string[]): string {
  const layers = typeof arch === "string" ? arch.split(",") : arch;
  return [dataset, layers.join("x"), ...parts].join("-");
}

/** The grid of reference §8 and the 2025 multi-class sweep. */
export function experimentGrid(level: "quick" | "full"): Setting[] {
  const settings: Setting[] = [];
  const archs = level === "quick" ? ["2,20,2"] : BINARY_ARCHS;
  for (const dataset of ["moons", "circles"]) {
    for (const arch of archs) {
      for (const v of GA_VARIANTS) {
        settings.push({
          label: `${dataset} [${arch}] ${v.name}`,
          name: settingName(dataset, arch, v.slug),
          args: ["--islands", "1", "--dataset", dataset, "--arch", arch, "--preset", v.preset],
        });
      }
    }
  }
  const classes = level === "quick" ? [3] : [2, 4, 6, 8, 10];
  for (const c of classes) {
    settings.push({
      label: `blobs-${c} [2,100,${c}] GA, loss`,
      name: settingName(`blobs-${c}`, [2, 100, c], "loss"),
      args: ["--islands", "1", "--dataset", `blobs-${c}`, "--preset", "2025-multiclass"],
    });
  }
  for (const c of level === "quick" ? [3] : [2, 5, 10]) {
    settings.push({
      label: `digits-${c} [64,75,${c}] GA, loss`,
      name: settingName(`digits-${c}`, [64, 75, c], "loss"),
      args: ["--islands", "1", "--dataset", `digits-${c}`, "--preset", "2025-multiclass"],
    });
  }
  return settings;
}

/** The topology grid's spec at a level: the file shipped in sweeps/. */
export function topologySpecFile(level: "quick" | "full"): string {
  return resolve(
    import.meta.dirname,
    "..",
    "..",
    "sweeps",
    `topology${level === "quick" ? "-quick" : ""}.json`,
  );
}

function topologySpec(level: "quick" | "full"): SweepSpec {
  const file = topologySpecFile(level);
  return parseSpec(JSON.parse(readFileSync(file, "utf8")), file);
}

/**
 * Where a grid goes without --out: runs/reproduce, and the topology grid in a folder of its spec's name
 * under it (a sweep's folder belongs to one spec, so the quick and the full grid each have their own).
 */
export function defaultReproduceOut(grid: GridName, level: "quick" | "full"): string {
  return grid === "topology"
    ? join("runs", "reproduce", topologySpec(level).name)
    : join("runs", "reproduce");
}

const num = (v: FieldValue | undefined) => Number(v);

/** What the topology grid runs at a level: everything its header states, as its spec says. */
export function topologyStudy(level: "quick" | "full") {
  const spec = topologySpec(level);
  const fields = spec.settings.map((s) => ({ ...spec.base, ...s }));
  const single = fields.find((f) => num(f.islands) === 1) as Fields;
  const islands = fields.filter((f) => f !== single);
  const first = islands[0];
  return {
    dataset: String(spec.base.dataset),
    architecture: spec.base.arch as readonly number[],
    preset: String(spec.base.preset),
    /** the single population's size, split evenly over the islands */
    total: num(single.population),
    islands: num(first.islands),
    topologies: islands.map((f) => String(f.topology)),
    interval: num(first.interval),
    migrants: num(first.migrants),
    policy: String(first.policy),
    selection: String(first.selection),
    mode: String(first.mode),
    seeds: spec.seeds,
    budget: spec.budget?.evaluations as number,
  } as const;
}

const TOPOLOGY_LABELS: Record<string, string> = {
  isolated: "isolated islands",
  ring: "ring",
  full: "fully connected",
};

/** A topology setting's row label: "digits-10 [64,75,10] ring (4×25)". */
function topologyLabel(f: Fields): string {
  const what =
    num(f.islands) === 1
      ? `single population (1×${f.population})`
      : `${TOPOLOGY_LABELS[String(f.topology)] ?? f.topology} (${f.islands}×${f.population})`;
  return `${f.dataset} [${(f.arch as readonly number[]).join(",")}] ${what}`;
}

/** The topology grid's spec with the command's overrides. */
function topologyRuns(
  level: "quick" | "full",
  o: { budget?: number; seeds?: number; prune?: string; generations?: number; only?: string },
): SweepSpec {
  const spec = topologySpec(level);
  return {
    ...spec,
    base: {
      ...spec.base,
      ...(o.prune !== undefined ? { prune: o.prune } : {}),
      ...(o.generations !== undefined ? { generations: o.generations } : {}),
    },
    settings: spec.settings.filter((s) => !o.only || topologyLabel({ ...spec.base, ...s }).includes(o.only)),
    seeds: o.seeds !== undefined ? Array.from({ length: o.seeds }, (_, k) => k + 1) : spec.seeds,
    budget: { evaluations: o.budget ?? (spec.budget?.evaluations as number) },
  };
}

/**
 * Single population against islands at an equal evaluation budget: the same total population (N, or
 * k islands of N/k), and every run stops at the same budget of evaluations (`--max-evaluations`; each
 * island at its share), with no early termination rule. Equal generations would not do: small
 * populations converge and re-create masks they have already evaluated, which the fitness cache does
 * not count, so they spend fewer evaluations per generation. Islands run async (the default mode), as
 * budgets need. The settings are those of the grid's spec (sweeps/topology.json).
 */
export function topologyGrid(level: "quick" | "full", budget?: number): Setting[] {
  const spec = topologyRuns(level, { budget });
  return planSweep(spec, topologySpecFile(level)).settings.map((s) => ({
    label: topologyLabel(s.fields),
    name: s.slug,
    args: s.args,
    ...(num(s.fields.islands) > 1 ? { processes: num(s.fields.islands) } : {}),
  }));
}

/** Each preset's own generation cap, for a header: "2024-ga none, 2024-adaptive 200, …". */
function presetCaps(): string {
  return Object.entries(PRESETS)
    .map(([name, p]) => `${name} ${p.patch.termination?.maxGenerations ?? "none"}`)
    .join(", ");
}

/** The topology grid's header line: what was run, beside the command. */
export function topologyHeader(
  level: "quick" | "full",
  seeds: number,
  budget: number,
  prune: string,
): string {
  const t = topologyStudy(level);
  const each = t.total / t.islands;
  return [
    `grid topology, level ${level}, seeds 1…${seeds}`,
    `${t.dataset} [${t.architecture.join(",")}] with preset ${t.preset} and no termination rule`,
    `budget ${budget} search evaluations per run (pruning's not counted)`,
    `single population 1×${t.total}; ${t.islands} islands of population ${each} each`,
    `topologies ${t.topologies.join(", ")}: migration every ${t.interval} generations, ${t.migrants} migrants per out-edge, replacement ${t.policy}, selection ${t.selection}, ${t.mode}`,
    `pruning \`${prune}\`${prune === "published" ? " (selected and pruned on the test split: optimistic)" : ""}`,
  ].join("; ");
}

export interface ReproduceOptions {
  readonly level: "quick" | "full";
  /** default "papers" */
  readonly grid?: GridName;
  readonly seeds?: number;
  readonly generations?: number;
  /** topology grid: evaluation budget per run (default 50 000; quick 400) */
  readonly evaluations?: number;
  readonly only?: string;
  /** default "published" for the papers' grid (as they published), "none" for the topology grid */
  readonly prune?: "none" | "clean" | "published";
  readonly out: string;
  readonly progress?: NodeJS.WritableStream;
  readonly concurrency?: number;
  /** check every setting with `slt run --dry-run` and describe the grid; run and write nothing */
  readonly dryRun?: boolean;
}

const runOne = (args: string[]) => runJson(args) as Promise<RunSummary>;

/**
 * The dry run of a grid: each setting's first run checked by `slt run --dry-run` (the real run's
 * arguments, so a setting that would fail fails here too), at most `capacity` at once; a Markdown
 * description of what would run, with FAILED rows for invalid settings.
 */
async function dryRunGrid(
  jobs: readonly { setting: Setting; seed: number; args: string[] }[],
  intro: string,
  capacity: number,
): Promise<{ table: string; failed: number }> {
  const firsts = jobs.filter((j) => j.seed === jobs[0]?.seed);
  let failed = 0;
  const rows = await mapLimit(firsts, capacity, async ({ setting, args }) => {
    const runs = jobs.filter((j) => j.setting === setting).length;
    try {
      const d = (await runJson([...args, "--dry-run"])) as DryRun;
      return `| ${setting.label} | ${runs} | ${d.dataset.name}: ${d.dataset.trainRows} / ${d.dataset.testRows} rows | ${d.mode === "islands" ? d.config.cluster.islands : 1} | \`${args.join(" ")}\` |`;
    } catch (e) {
      failed++;
      return `| ${setting.label} | ${runs} | FAILED: ${(e as Error).message.replaceAll("|", "\\|")} | | \`${args.join(" ")}\` |`;
    }
  });
  const table = [
    intro,
    "",
    "| setting | runs | dataset (training / test rows) | islands | arguments of `slt run` (seed 1) |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
    "",
  ].join("\n");
  return { table, failed };
}

function stats(values: number[]): { mean: number; median: number; std: number } {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sorted = [...values].sort((a, b) => a - b);
  const median = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  const std = n > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, median, std };
}

function cell(values: (number | null)[]): string {
  const v = values.filter((x): x is number => x !== null);
  if (v.length === 0) return "–";
  const s = stats(v);
  return `${s.mean.toFixed(4)} / ${s.median.toFixed(4)} / ${s.std.toFixed(4)}`;
}

export interface SettingResults {
  readonly setting: Setting;
  readonly runs: RunSummary[];
  /** runs that failed, with their error */
  readonly failures: string[];
}

export function markdownTable(rows: readonly SettingResults[], header: string): string {
  const lines = [
    header,
    "",
    "Each cell: mean / median / sample std over seeds. *Test acc.* is the test accuracy of the best-on-training",
    "individual; *best in pop.* is the 2024 code's figure (best test accuracy anywhere in the final population).",
    "",
  ];
  // pruning's evaluations and results in columns of their own, apart from the search's, when any run pruned
  const pruned = rows.some((r) => r.runs.some((run) => run.pruneMode !== "none"));
  const columns = [
    "setting",
    "runs",
    "failed",
    "generations (median)",
    "search evaluations (median)",
    ...(pruned ? ["pruning evaluations (median)"] : []),
    "test acc.",
    "best in pop. test acc.",
    "sparsity",
    ...(pruned ? ["pruned test acc.", "pruned sparsity"] : []),
  ];
  lines.push(`| ${columns.join(" | ")} |`, `|${" --- |".repeat(columns.length)}`);
  for (const { setting, runs, failures } of rows) {
    const median = (f: (r: RunSummary) => number) => (runs.length ? stats(runs.map(f)).median : "–");
    const cells = [
      setting.label,
      runs.length,
      failures.length,
      median((r) => r.generations),
      median((r) => r.evaluations),
      ...(pruned ? [median((r) => r.pruneEvaluations)] : []),
      cell(runs.map((r) => r.testAccuracy)),
      cell(runs.map((r) => r.bestTestAccuracyInPopulation)),
      cell(runs.map((r) => r.sparsity)),
      ...(pruned
        ? [cell(runs.map((r) => r.prunedTestAccuracy)), cell(runs.map((r) => r.prunedSparsity))]
        : []),
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return `${lines.join("\n")}\n`;
}

/** What a grid runs: its settings, its runs' arguments and the facts its header states. */
interface GridRuns {
  readonly name: GridName;
  readonly grid: readonly Setting[];
  readonly jobs: readonly { setting: Setting; seed: number; args: string[] }[];
  readonly seeds: number;
  readonly generations: number | undefined;
  readonly prune: string;
  readonly budget: number;
  /** the topology grid's spec, which the sweep machinery runs */
  readonly spec?: SweepSpec;
}

function gridRuns(o: ReproduceOptions): GridRuns {
  const name = o.grid ?? "papers";
  // the topology grid's runs end at their evaluation budget, not at a generation cap
  const generations =
    o.generations ?? (name === "topology" ? undefined : o.level === "quick" ? 5 : undefined);
  // The topology grid compares searches: selecting and pruning on the test split has no place in it.
  const prune = o.prune ?? (name === "topology" ? "none" : "published");
  if (name === "topology") {
    const spec = topologyRuns(o.level, { ...o, budget: o.evaluations, prune });
    const plan = planSweep(spec, topologySpecFile(o.level));
    const grid = topologyGrid(o.level, o.evaluations).filter((s) => !o.only || s.label.includes(o.only));
    const bySlug = new Map(grid.map((g) => [g.name, g]));
    const jobs = plan.runs.map((r) => ({
      setting: bySlug.get(r.setting.slug) as Setting,
      seed: r.seed,
      args: [...r.args, "--out", o.out],
    }));
    const budget = spec.budget?.evaluations as number;
    return { name, grid, jobs, seeds: spec.seeds.length, generations, prune, budget, spec };
  }
  const seeds = o.seeds ?? (o.level === "quick" ? 1 : 5);
  const grid = experimentGrid(o.level).filter((s) => !o.only || s.label.includes(o.only));
  const jobs = grid.flatMap((setting) =>
    Array.from({ length: seeds }, (_, k) => ({
      setting,
      seed: k + 1,
      args: [
        ...setting.args,
        ...["--seed", String(k + 1), "--name", `${setting.name}-s${k + 1}`, "--prune", prune, "--out", o.out],
        ...(generations !== undefined ? ["--generations", String(generations)] : []),
      ],
    })),
  );
  return { name, grid, jobs, seeds, generations, prune, budget: 0 };
}

/** The grid's Markdown table of `results` under a header that states the command and what was run. */
function gridTable(o: ReproduceOptions, g: GridRuns, results: readonly SettingResults[], started: number) {
  return (finished: boolean) => {
    const minutes = ((performance.now() - started) / 60_000).toFixed(1);
    const what =
      g.name === "topology"
        ? `${topologyHeader(o.level, g.seeds, g.budget, g.prune)}${g.generations !== undefined ? `; generation cap ${g.generations}` : ""}`
        : `seeds 1…${g.seeds}, generation cap ${g.generations ?? `each preset's own (${presetCaps()})`}, pruning \`${g.prune}\`${g.prune === "published" ? " (selected and pruned on the test split, as published: optimistic)" : ""}`;
    const header = [
      `### ${g.name === "topology" ? "Topology study" : "Reproduction grid"} (${o.level})${finished ? "" : " — in progress"}`,
      "",
      `Command: \`${commandOf(o, g)}\` — ${what}; ${minutes} min on ${availableParallelism()} cores.`,
    ].join("\n");
    return markdownTable(results, header);
  };
}

function commandOf(o: ReproduceOptions, g: GridRuns): string {
  return `slt reproduce${g.name === "papers" ? "" : ` --grid ${g.name}`} --level ${o.level} --seeds ${g.seeds}${o.generations !== undefined ? ` --generations ${o.generations}` : ""}${g.name === "topology" && o.evaluations !== undefined ? ` --evaluations ${o.evaluations}` : ""}${o.only ? ` --only "${o.only}"` : ""} --prune ${g.prune}`;
}

/**
 * The topology grid through the sweep machinery: its spec run in `o.out` (runs already recorded ok in
 * its sweep.jsonl are not run again), the table rebuilt from the records after every run.
 */
async function topologySweep(
  o: ReproduceOptions,
  g: GridRuns,
  capacity: number,
  table: (results: SettingResults[], finished: boolean) => string,
): Promise<{ table: string; failed: number }> {
  const spec = g.spec as SweepSpec;
  const latest = new Map<string, SweepRecord>();
  const logger = stderrLogger();
  for (const r of readRecords(o.out, (line) => logger.warn(line))) latest.set(r.run, r);
  const results = () =>
    g.grid.map((setting) => {
      const records = g.jobs
        .filter((j) => j.setting === setting)
        .map((j) => latest.get(`${setting.name}-s${j.seed}`))
        .filter((r) => r !== undefined);
      return {
        setting,
        runs: records.filter((r) => r.status === "ok").map((r) => r.summary as unknown as RunSummary),
        failures: records.filter((r) => r.status === "failed").map((r) => r.error ?? "failed"),
      };
    });
  const onRecord = (r: SweepRecord) => {
    latest.set(r.run, r);
    // The table so far, after every run, so a long grid that is stopped still leaves its results.
    writeFileSync(join(o.out, "results.md"), table(results(), false));
  };
  const progress = o.progress ?? { write: () => true };
  await sweepSpec(spec, topologySpecFile(o.level), {
    out: o.out,
    parallel: capacity,
    progress: progress as NodeJS.WritableStream,
    logger,
    onRecord,
  });
  const final = table(results(), true);
  writeFileSync(join(o.out, "results.md"), final);
  return { table: final, failed: results().reduce((n, r) => n + r.failures.length, 0) };
}

export async function reproduce(o: ReproduceOptions): Promise<{ table: string; failed: number }> {
  const g = gridRuns(o);
  const { grid, jobs } = g;
  const started = performance.now();
  // Slots: one per core; a run of k islands waits for k free slots (at most all of them).
  const capacity = Math.max(1, o.concurrency ?? availableParallelism());
  if (o.dryRun)
    return dryRunGrid(
      jobs,
      `Dry run of \`${commandOf(o, g)}\`: ${grid.length} settings, ${jobs.length} runs; their run directories and results.md would go to ${resolve(o.out)}. Nothing was run or written.`,
      capacity,
    );
  mkdirSync(o.out, { recursive: true });
  if (g.spec)
    return topologySweep(o, g, capacity, (results, finished) => gridTable(o, g, results, started)(finished));
  const results: SettingResults[] = grid.map((setting) => ({ setting, runs: [], failures: [] }));
  const byLabel = new Map(results.map((r) => [r.setting, r]));
  const table = gridTable(o, g, results, started);
  let free = capacity;
  const waiting: (() => void)[] = [];
  const acquire = async (n: number) => {
    while (free < n) await new Promise<void>((r) => waiting.push(r));
    free -= n;
  };
  const release = (n: number) => {
    free += n;
    for (const wake of waiting.splice(0)) wake();
  };
  let done = 0;
  const runJob = async (job: (typeof jobs)[number], slots: number) => {
    try {
      const entry = byLabel.get(job.setting) as SettingResults;
      let line: string;
      try {
        const summary = await runOne(job.args);
        entry.runs.push(summary);
        line = `test acc ${summary.testAccuracy.toFixed(4)}, sparsity ${summary.sparsity.toFixed(3)}, ${summary.generations} generations, ${summary.wallSeconds.toFixed(1)} s`;
      } catch (e) {
        // One failed run must not lose the others: it is counted and the grid goes on.
        entry.failures.push((e as Error).message);
        line = `FAILED: ${(e as Error).message}`;
      }
      done++;
      o.progress?.write(`[${done}/${jobs.length}] ${job.setting.label} seed ${job.seed}: ${line}\n`);
      // The table so far, after every run, so a long grid that is stopped still leaves its results.
      writeFileSync(join(o.out, "results.md"), table(false));
    } finally {
      release(slots);
    }
  };
  const running: Promise<void>[] = [];
  for (const job of jobs) {
    const slots = Math.min(capacity, job.setting.processes ?? 1);
    await acquire(slots);
    running.push(runJob(job, slots));
  }
  await Promise.all(running);
  const final = table(true);
  writeFileSync(join(o.out, "results.md"), final);
  return { table: final, failed: results.reduce((n, r) => n + r.failures.length, 0) };
}
