// Full evaluations per second: accuracy and loss of a batch of fresh random 50%-density masks (a GA
// population) on a dataset's whole training split.
//   node_modules/.bin/node bench/full-eval.ts [--json] [--quick] [--datasets moons,digits-10,mnist]
// Datasets: moons [2,75,2] on the papers' exact 50,000 training points, digits-10 [64,75,10] (1347
// training rows), mnist [784,300,100,10] (60,000 training images, batches of 4, one batch per window;
// skipped with a reason when the dataset cannot be loaded). Evaluators, as runs use them:
//   threads 0 — in-process: the batch evaluator of src/evaluator/index.ts (makeEvaluator), what `slt run
//               --islands 1` evaluates with;
//   threads 1, 2 — the SharedArrayBuffer worker pool (createSharedEvaluator), what islands evaluate with.
// Each batch is a fresh set of masks (made untimed); the contenders take turns within each round of
// windows; the headline figure is the best window, the median is printed too. The first (untimed)
// batch is evaluated by every contender and the results must agree exactly.
import type { Metrics } from "../src/core/evaluate.ts";
import type { Mask } from "../src/core/mask.ts";
import { Rng } from "../src/core/rng.ts";
import { createSharedEvaluator, makeEvaluator, type SharedEvaluator } from "../src/evaluator/index.ts";
import {
  type BenchArgs,
  type BenchDatasetName,
  benchArch,
  type Contender,
  createReporter,
  errorText,
  loadBenchDataset,
  measureRates,
  randomMasks,
  round,
  runMain,
  sameMetrics,
  type WindowOptions,
  wantDataset,
  windowFields,
} from "./common.ts";

const DATASETS: readonly { name: BenchDatasetName; samples: number; population: number }[] = [
  { name: "moons", samples: 50_000, population: 100 },
  { name: "digits-10", samples: 1347, population: 100 },
  // one evaluation takes a second or more: a small batch keeps the benchmark short
  { name: "mnist", samples: 60_000, population: 4 },
];
const THREADS = [0, 1, 2];

async function main(args: BenchArgs): Promise<void> {
  const out = createReporter("full-eval", args);
  for (const d of DATASETS) {
    if (!wantDataset(args, d.name)) continue;
    const big = d.name === "mnist";
    const population = args.quick ? (big ? 2 : d.population) : d.population;
    // mnist: one batch per window (the cross-check batch warms it up)
    const windows: WindowOptions = big
      ? { windows: args.quick ? 1 : 2, windowMs: 0, warmup: 0 }
      : args.quick
        ? { windows: 2, windowMs: 300, warmup: 0 }
        : { windows: 5, windowMs: 2000, warmup: 1 };
    let data: Awaited<ReturnType<typeof loadBenchDataset>>;
    try {
      out.log(`loading ${d.name}`);
      data = await loadBenchDataset(d.name);
    } catch (e) {
      for (const threads of THREADS)
        out.figure({
          dataset: d.name,
          arch: benchArch(d.name),
          samples: d.samples,
          population,
          threads,
          skipped: `cannot load dataset ${d.name}: ${errorText(e)}`,
        });
      continue;
    }
    const { net, split } = data;
    const rng = Rng.derive(1, "bench-full-eval", d.name);
    const pools: SharedEvaluator[] = [];
    try {
      const evaluators: {
        threads: number;
        mode: string;
        batch: (m: readonly Mask[]) => Promise<Metrics[]>;
      }[] = [];
      for (const threads of THREADS) {
        if (threads === 0) {
          const batch = makeEvaluator(net, split);
          evaluators.push({ threads, mode: "in-process (makeEvaluator)", batch: async (m) => batch(m) });
        } else {
          const pool = await createSharedEvaluator(net, split, { threads });
          pools.push(pool);
          evaluators.push({ threads, mode: "worker pool (createSharedEvaluator)", batch: pool.batch });
        }
      }
      // cross-check: every evaluator gives the same metrics for the same masks
      const first = randomMasks(population, net.genomeLength, rng);
      out.log(`${d.name}: cross-checking ${evaluators.length} evaluators on ${population} masks`);
      const results = [];
      for (const e of evaluators) results.push(await e.batch(first));
      for (const [i, r] of results.entries()) {
        if (!sameMetrics(r, results[0]))
          throw new Error(`${d.name}: threads ${evaluators[i].threads} disagrees with threads 0`);
      }
      out.log(`${d.name}: timing ${evaluators.length} evaluators (${windows.windows} windows each)`);
      const contenders: Contender[] = evaluators.map((e) => {
        let masks: Mask[] = [];
        return {
          name: `threads ${e.threads}`,
          prepare() {
            masks = randomMasks(population, net.genomeLength, rng);
          },
          async run() {
            return (await e.batch(masks)).length;
          },
        };
      });
      const rates = await measureRates(contenders, windows);
      for (const [i, e] of evaluators.entries()) {
        out.figure({
          dataset: d.name,
          arch: data.arch,
          samples: split.n,
          population,
          threads: e.threads,
          mode: e.mode,
          evals_per_s: round(rates[i].best),
          evals_per_s_median: round(rates[i].median),
          ms_per_eval: round(1000 / rates[i].best, 3),
          loss: true,
          density: 0.5,
          data: data.source,
          ...windowFields(windows),
        });
      }
    } finally {
      await Promise.all(pools.map((p) => p.close()));
    }
  }
}

runMain("full-eval", main);
