// `slt reproduce`: the papers' experiment grid over several seeds, each run a child `slt run --json`
// (as many at once as there are cores), summarised as a Markdown table.
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import type { RunSummary } from "./single-population.ts";

export interface Setting {
  /** row label, e.g. "moons [2,75,2] GA" */
  readonly label: string;
  readonly args: readonly string[];
}

const CLI = resolve(import.meta.dirname, "..", "cli.ts");

const BINARY_ARCHS = ["2,20,2", "2,75,2", "2,100,2", "2,50,50,2"];
const GA_VARIANTS = [
  { name: "GA", preset: "2024-ga" },
  { name: "GA (adaptive AB)", preset: "2024-adaptive" },
];

/** The grid of reference §8 and the 2025 multi-class sweep. */
export function experimentGrid(level: "quick" | "full"): Setting[] {
  const settings: Setting[] = [];
  const archs = level === "quick" ? ["2,20,2"] : BINARY_ARCHS;
  for (const dataset of ["moons", "circles"]) {
    for (const arch of archs) {
      for (const v of GA_VARIANTS) {
        settings.push({
          label: `${dataset} [${arch}] ${v.name}`,
          args: ["--dataset", dataset, "--arch", arch, "--preset", v.preset],
        });
      }
    }
  }
  const classes = level === "quick" ? [3] : [2, 4, 6, 8, 10];
  for (const c of classes) {
    settings.push({
      label: `blobs-${c} [2,100,${c}] GA, loss`,
      args: ["--dataset", `blobs-${c}`, "--preset", "2025-multiclass"],
    });
  }
  for (const c of level === "quick" ? [3] : [2, 5, 10]) {
    settings.push({
      label: `digits-${c} [64,75,${c}] GA, loss`,
      args: ["--dataset", `digits-${c}`, "--preset", "2025-multiclass"],
    });
  }
  return settings;
}

export interface ReproduceOptions {
  readonly level: "quick" | "full";
  readonly seeds?: number;
  readonly generations?: number;
  readonly only?: string;
  readonly prune?: "none" | "clean" | "published";
  readonly out: string;
  readonly progress?: NodeJS.WritableStream;
  readonly concurrency?: number;
}

function runOne(args: string[]): Promise<RunSummary> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, "run", ...args, "--json", "--quiet"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`slt run ${args.join(" ")} exited with ${code}: ${err.trim()}`));
      else resolvePromise(JSON.parse(out.trim().split("\n").pop() as string) as RunSummary);
    });
  });
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

export function markdownTable(rows: { setting: Setting; runs: RunSummary[] }[], header: string): string {
  const lines = [
    header,
    "",
    "Each cell: mean / median / sample std over seeds. *Test acc.* is the test accuracy of the best-on-training",
    "individual; *best in pop.* is the 2024 code's figure (best test accuracy anywhere in the final population).",
    "",
    "| setting | runs | generations (median) | test acc. | best in pop. test acc. | sparsity | pruned test acc. | pruned sparsity |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const { setting, runs } of rows) {
    const gens = stats(runs.map((r) => r.generations)).median;
    lines.push(
      `| ${setting.label} | ${runs.length} | ${gens} | ${cell(runs.map((r) => r.testAccuracy))} | ${cell(runs.map((r) => r.bestTestAccuracyInPopulation))} | ${cell(runs.map((r) => r.sparsity))} | ${cell(runs.map((r) => r.prunedTestAccuracy))} | ${cell(runs.map((r) => r.prunedSparsity))} |`,
    );
  }
  return `${lines.join("\n")}\n`;
}

export async function reproduce(o: ReproduceOptions): Promise<string> {
  const seeds = o.seeds ?? (o.level === "quick" ? 1 : 5);
  const generations = o.generations ?? (o.level === "quick" ? 5 : undefined);
  const prune = o.prune ?? "published";
  const grid = experimentGrid(o.level).filter((s) => !o.only || s.label.includes(o.only));
  mkdirSync(o.out, { recursive: true });
  const jobs = grid.flatMap((setting) =>
    Array.from({ length: seeds }, (_, k) => ({
      setting,
      seed: k + 1,
      args: [
        ...setting.args,
        "--seed",
        String(k + 1),
        "--prune",
        prune,
        "--out",
        o.out,
        ...(generations !== undefined ? ["--generations", String(generations)] : []),
      ],
    })),
  );
  const results = new Map<Setting, RunSummary[]>(grid.map((s) => [s, []]));
  let next = 0;
  let done = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      const summary = await runOne(job.args);
      results.get(job.setting)?.push(summary);
      done++;
      o.progress?.write(
        `[${done}/${jobs.length}] ${job.setting.label} seed ${job.seed}: test acc ${summary.testAccuracy.toFixed(4)}, sparsity ${summary.sparsity.toFixed(3)}, ${summary.generations} generations, ${summary.wallSeconds.toFixed(1)} s\n`,
      );
    }
  };
  const concurrency = Math.max(1, Math.min(o.concurrency ?? availableParallelism(), jobs.length));
  await Promise.all(Array.from({ length: concurrency }, worker));
  const minutes = ((performance.now() - started) / 60_000).toFixed(1);
  const command = `slt reproduce --level ${o.level} --seeds ${seeds}${o.generations !== undefined ? ` --generations ${o.generations}` : ""}${o.only ? ` --only "${o.only}"` : ""}`;
  const header = [
    `### Reproduction grid (${o.level})`,
    "",
    `Command: \`${command}\` — seeds 1…${seeds}, generation cap ${generations ?? "each preset's own"}, pruning \`${prune}\`${prune === "published" ? " (selected and pruned on the test split, as published: optimistic)" : ""}, ${minutes} min on ${availableParallelism()} cores.`,
  ].join("\n");
  const table = markdownTable(
    grid.map((setting) => ({ setting, runs: results.get(setting) ?? [] })),
    header,
  );
  writeFileSync(join(o.out, "results.md"), table);
  return table;
}
