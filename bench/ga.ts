// The whole GA on one island: wall-clock seconds for a paper preset's generations, run in-process
// through the same code as `slt run --islands 1` (src/coordinator/single-population.ts runSingle with
// the fast batch evaluator of src/evaluator/index.ts), its run directory in a temporary directory that is
// removed afterwards.
//   node_modules/.bin/node bench/ga.ts [--json] [--quick] [--datasets moons,digits-10]
// Runs:
//   moons [2,75,2]      — preset 2025-binary (accuracy fitness) on the papers' exact data
//                         (--train moons-train.csv.gz --test moons-test.csv.gz --scale paper);
//   digits-10 [64,75,10] — preset 2025-multiclass (cross-entropy fitness);
// both with population 100, seed 1 and termination rule `none`, so every run goes to the generation cap
// (300; 20 with --quick). The presets' post-pruning runs too, but outside `seconds`.
//
// `seconds` is the GA itself: from the first evaluation of the initial population to the end of the
// last generation (the first call of the test-split evaluator, which runSingle makes only afterwards);
// it includes everything a generation does (variation, evaluation, selection, events.jsonl, checkpoints).
// `eval_seconds` is the part spent inside the training-split evaluator, `evaluations` the masks it was
// given; `run_seconds` and `run_evaluations` are runSingle's whole run (data loading, pruning, ticket). One untimed warm-up run of 5 generations first; then
// `repeats` timed runs (3; 1 with --quick), the same seed each time: the best is the headline figure,
// the median is printed too.

import {
  type AsyncEvaluatorFactory,
  type RunSummary,
  runSingle,
} from "../src/coordinator/single-population.ts";
import { type ConfigPatch, mergeConfig, resolveConfig } from "../src/core/config.ts";
import type { Split } from "../src/core/dataset.ts";
import type { BatchEvaluator } from "../src/core/evaluate.ts";
import type { Network } from "../src/core/network.ts";
import { makeEvaluator, poolEvaluator } from "../src/evaluator/index.ts";
import {
  type BenchArgs,
  type BenchDatasetName,
  createReporter,
  datasetPatch,
  median,
  round,
  runMain,
  wantDataset,
  withTempDir,
} from "./common.ts";

/** 0: the in-process evaluator; 2: the worker pool on both cores of the reference machine */
const THREADS = [0, 2];

const RUNS: readonly { dataset: BenchDatasetName; preset: string }[] = [
  { dataset: "moons", preset: "2025-binary" },
  { dataset: "digits-10", preset: "2025-multiclass" },
];

interface Timed {
  summary: RunSummary;
  /** the GA phase */
  seconds: number;
  /** inside the training evaluator */
  evalSeconds: number;
  /** masks the training evaluator was given during the GA phase */
  evaluations: number;
}

/** runSingle with a timing wrapper around the evaluators it makes (training split first, then test). */
async function timedRun(patch: ConfigPatch, threads: number): Promise<Timed> {
  const config = resolveConfig({ source: "bench", patch });
  // GA phase: [first evaluation of the run, first evaluation on another split)
  const t = { start: -1, end: -1, evalMs: 0, evals: 0, split: null as Split | null };
  /**
   * Marks the GA phase — from the first evaluation of the run (the initial population, on the training
   * split) to the first on another split — and adds the time of evaluations on the training split
   * inside it: the GA's evaluator and, in accuracy-fitness runs, the one that fills in the best's loss.
   */
  const before = (split: Split): number => {
    const t0 = performance.now();
    if (t.split === null) {
      t.split = split;
      t.start = t0;
    } else if (split !== t.split && t.end < 0) t.end = t0;
    return t0;
  };
  const after = (split: Split, t0: number, masks: number) => {
    if (split === t.split && t.end < 0) {
      t.evalMs += performance.now() - t0;
      t.evals += masks;
    }
  };
  // threads ≥ 2: the GA's batches go to the worker pool, as with `slt run --islands 1 --threads N`
  const pool = threads >= 2 ? poolEvaluator(threads) : null;
  const asyncWrap: AsyncEvaluatorFactory = async (net, split, options) => {
    const inner = await (pool as AsyncEvaluatorFactory)(net, split, options);
    return {
      close: () => inner.close(),
      batch: async (masks) => {
        const t0 = before(split);
        const r = await inner.batch(masks);
        after(split, t0, masks.length);
        return r;
      },
    };
  };
  const wrap = (net: Network, split: Split, options?: { loss?: boolean }): BatchEvaluator => {
    const inner = makeEvaluator(net, split, options);
    return (masks) => {
      const t0 = before(split);
      const r = inner(masks);
      after(split, t0, masks.length);
      return r;
    };
  };
  const summary = await runSingle(config, {
    makeEvaluator: wrap,
    ...(pool ? { makeAsyncEvaluator: asyncWrap } : {}),
  });
  if (t.start < 0 || t.end < 0) throw new Error("could not find the GA phase in the run");
  return { summary, seconds: (t.end - t.start) / 1000, evalSeconds: t.evalMs / 1000, evaluations: t.evals };
}

async function main(args: BenchArgs): Promise<void> {
  const out = createReporter("ga", args);
  const generations = args.quick ? 20 : 300;
  const repeats = args.quick ? 1 : 3;
  await withTempDir("slt-bench-ga-", async (dir) => {
    for (const r of RUNS)
      for (const threads of THREADS) {
        if (!wantDataset(args, r.dataset)) continue;
        const { patch: data, source } = datasetPatch(r.dataset);
        const patch = (name: string, maxGenerations: number): ConfigPatch =>
          mergeConfig(data, {
            preset: r.preset,
            seed: 1,
            name,
            out: dir,
            ga: { population: 100 },
            termination: { rule: "none", maxGenerations },
          } satisfies ConfigPatch);
        const label = `${r.dataset}, ${threads === 0 ? "in-process" : `${threads} worker threads`}`;
        out.log(`${label}: warm-up run (5 generations)`);
        await timedRun(patch(`${r.dataset}-warmup`, 5), threads);
        const runs: Timed[] = [];
        for (let k = 0; k < repeats; k++) {
          out.log(`${label}: run ${k + 1}/${repeats}, ${generations} generations`);
          runs.push(await timedRun(patch(`${r.dataset}-${threads}-${k}`, generations), threads));
        }
        const best = runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
        const config = resolveConfig({ source: "bench", patch: patch("x", generations) });
        const s = best.summary;
        if (s.generations !== generations)
          throw new Error(
            `${r.dataset}: the run stopped after ${s.generations} generations (${s.stopReason})`,
          );
        out.figure({
          dataset: r.dataset,
          arch: config.network.architecture,
          generations: s.generations,
          seconds: round(best.seconds, 3),
          seconds_median: round(median(runs.map((t) => t.seconds)), 3),
          ms_per_generation: round((1000 * best.seconds) / s.generations, 2),
          eval_seconds: round(best.evalSeconds, 3),
          run_seconds: round(s.wallSeconds, 3),
          // masks evaluated by the GA (the population's fitness cache already skips known masks)
          evaluations: best.evaluations,
          evals_per_s: round(best.evaluations / best.seconds),
          run_evaluations: s.evaluations,
          preset: r.preset,
          fitness: config.ga.fitness,
          population: config.ga.population,
          termination: config.termination.rule,
          prune: config.prune,
          seed: config.seed,
          islands: 1,
          threads,
          evaluator:
            threads === 0
              ? "makeEvaluator (in-process)"
              : `worker pool (slt run --islands 1 --threads ${threads})`,
          train_accuracy: round(s.trainAccuracy, 4),
          data: source,
          method: `best of ${repeats} runs after a 5-generation warm-up run`,
          repeats,
        });
      }
  });
}

runMain("ga", main);
