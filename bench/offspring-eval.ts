// Offspring evaluations per second: one-bit mutants and uniform-crossover children, made by the GA's own
// operators (negligentMutation, negligentCrossover of src/core/ga) from a population of evaluated parents.
//   node_modules/.bin/node bench/offspring-eval.ts [--json] [--quick] [--datasets moons,digits-10]
// The population: 100 parents in 50 pairs; each pair is a random 50%-density mask and a copy of it with
// exactly 5% of its bits flipped (Hamming distance 5%). A mutant flips one uniformly random bit of a
// random parent; a child is a uniform crossover of the two parents of a pair (about 2.5% from each).
//
// Paths (`path` in each line):
//   batch      — the batch evaluator of src/evaluator/index.ts (makeEvaluator), which the GA of `slt run
//                --islands 1` calls with each generation's new individuals;
//   pool       — the island's SharedArrayBuffer worker pool (createSharedEvaluator, threads 1 and 2);
//   delta-api  — the explicit delta calls of the fast evaluator (fast-forward.ts evaluateMutant and
//                evaluateChild) from parents whose activations are cached (as many parents as the
//                default parent cache holds, `cached_parents`).
// For batch and pool, each timed batch of OFFSPRING offspring is preceded (untimed) by one batch
// evaluation of exactly the parents it comes from, as in a GA, where an offspring's parents were
// evaluated in an earlier generation; so whatever an evaluator keeps from recent batches (caches, delta
// evaluation) shows in these figures. Best of the windows, median too; before timing, each path's
// results on the same offspring are checked against the batch evaluator's.
import { negligentCrossover, negligentMutation } from "../src/core/ga/index.ts";
import { type Mask, withFlipped } from "../src/core/mask.ts";
import { Rng } from "../src/core/rng.ts";
import {
  createFastEvaluator,
  createSharedEvaluator,
  makeEvaluator,
  type SharedEvaluator,
} from "../src/evaluator/index.ts";
import {
  type BenchArgs,
  type BenchDatasetName,
  type Contender,
  createReporter,
  errorText,
  flipExactly,
  loadBenchDataset,
  measureRates,
  measureSyncRate,
  randomMasks,
  round,
  runMain,
  sameMetrics,
  type WindowOptions,
  wantDataset,
  windowFields,
} from "./common.ts";

const DATASETS: readonly BenchDatasetName[] = ["moons", "digits-10"];
const POPULATION = 100;
const PAIRS = POPULATION / 2;
const PARENT_HAMMING = 0.05;
/** offspring per timed batch: about a generation's worth (30 children and 10 mutants, rounded up) */
const OFFSPRING = 50;
const POOL_THREADS = [1, 2];

type Kind = "mutant" | "child";

interface Offspring {
  /** the parents they come from (evaluated untimed before the offspring) */
  readonly parents: Mask[];
  readonly offspring: Mask[];
}

async function main(args: BenchArgs): Promise<void> {
  const out = createReporter("offspring-eval", args);
  const windows: WindowOptions = args.quick
    ? { windows: 2, windowMs: 300, warmup: 1 }
    : { windows: 5, windowMs: 2000, warmup: 2 };
  for (const name of DATASETS) {
    if (!wantDataset(args, name)) continue;
    out.log(`loading ${name}`);
    const data = await loadBenchDataset(name);
    const { net, split } = data;
    const L = net.genomeLength;
    const rng = Rng.derive(1, "bench-offspring-eval", name);
    const flips = Math.round(PARENT_HAMMING * L);
    const pairs: [Mask, Mask][] = randomMasks(PAIRS, L, rng).map((a) => [a, flipExactly(a, flips, rng)]);
    const population = pairs.flat();
    const ops = Rng.derive(1, "bench-offspring-ops", name);

    const make = (kind: Kind): Offspring => {
      if (kind === "mutant") {
        // OFFSPRING distinct random parents, one mutant each
        const order = ops.shuffle(population.map((_, i) => i)) as number[];
        const parents = order.slice(0, OFFSPRING).map((i) => population[i]);
        return { parents, offspring: parents.map((p) => negligentMutation(p, ops).mask) };
      }
      const order = ops.shuffle(pairs.map((_, i) => i)) as number[];
      const chosen = Array.from({ length: OFFSPRING }, (_, k) => pairs[order[k % PAIRS]]);
      const parents = [...new Set(chosen.flat())];
      return { parents, offspring: chosen.map(([a, b]) => negligentCrossover(a, b, ops).mask) };
    };

    const batch = makeEvaluator(net, split);
    const pools: SharedEvaluator[] = [];
    try {
      const paths: { path: string; threads: number; run: (m: readonly Mask[]) => Promise<unknown[]> }[] = [
        { path: "batch", threads: 0, run: async (m) => batch(m) },
      ];
      for (const threads of POOL_THREADS) {
        const pool = await createSharedEvaluator(net, split, { threads });
        pools.push(pool);
        paths.push({ path: "pool", threads, run: pool.batch });
      }
      // the population as it stands at the start: evaluated once by every path
      for (const p of paths) await p.run(population);

      for (const kind of ["mutant", "child"] as const) {
        // cross-check on one set of offspring
        const check = make(kind);
        const expected = batch(check.offspring);
        for (const p of paths) {
          await p.run(check.parents);
          const got = (await p.run(check.offspring)) as typeof expected;
          if (!sameMetrics(got, expected))
            throw new Error(`${name} ${kind}s: path ${p.path} threads ${p.threads} disagrees with batch`);
        }
        out.log(
          `${name}: timing ${kind === "child" ? "children" : "mutants"} through ${paths.length} paths (${windows.windows} windows each)`,
        );
        const contenders: Contender[] = paths.map((p) => {
          let next: Offspring = check;
          return {
            name: `${p.path} ${p.threads}`,
            async prepare() {
              next = make(kind);
              await p.run(next.parents);
            },
            async run() {
              return (await p.run(next.offspring)).length;
            },
          };
        });
        const rates = await measureRates(contenders, windows);
        for (const [i, p] of paths.entries()) {
          out.figure({
            dataset: name,
            arch: data.arch,
            samples: split.n,
            kind,
            path: p.path,
            threads: p.threads,
            evals_per_s: round(rates[i].best),
            evals_per_s_median: round(rates[i].median),
            ms_per_eval: round(1000 / rates[i].best, 3),
            offspring_per_batch: OFFSPRING,
            population: POPULATION,
            parent_hamming: PARENT_HAMMING,
            loss: true,
            data: data.source,
            ...windowFields(windows),
          });
        }
      }
    } finally {
      await Promise.all(pools.map((p) => p.close()));
    }

    // ---- the explicit delta API, from cached parents ----
    try {
      const fast = createFastEvaluator(net, split);
      const slots = fast.cacheStats().parents.slots;
      const usable = Math.min(PAIRS, slots);
      if (usable === 0) {
        for (const kind of ["mutant", "child"] as const)
          out.figure({
            dataset: name,
            arch: data.arch,
            samples: split.n,
            kind,
            path: "delta-api",
            skipped: "the default parent cache holds no parent of this network and split",
          });
        continue;
      }
      const parents = pairs.slice(0, usable).map(([a]) => a);
      const entries = parents.map((p) => fast.parentCache(p));
      if (!entries.every((e) => e.cached)) throw new Error("a parent fell out of the cache while filling it");
      const bytesPerSlot = fast.cacheStats().parents.bytesPerSlot;
      const bits = Array.from({ length: 4096 }, () => ops.int(L));
      const children = pairs.slice(0, usable).map(([a, b]) => negligentCrossover(a, b, ops).mask);
      // cross-check against the batch evaluator
      const bit0 = bits[0];
      const mutant0 = withFlipped(parents[0], bit0);
      const viaDelta = [
        fast.evaluateMutant(parents[0], entries[0], bit0),
        fast.evaluateChild(parents[0], entries[0], children[0]),
      ];
      if (!sameMetrics(viaDelta, batch([mutant0, children[0]])))
        throw new Error(`${name}: the delta API disagrees with the batch evaluator`);
      out.log(`${name}: timing the delta API from ${usable} cached parents`);
      const before = fast.cacheStats();
      const mutantRate = measureSyncRate((k) => {
        const j = k % usable;
        fast.evaluateMutant(parents[j], entries[j], bits[k & 4095]);
      }, windows);
      const between = fast.cacheStats();
      const childRate = measureSyncRate((k) => {
        const j = k % usable;
        fast.evaluateChild(parents[j], entries[j], children[j]);
      }, windows);
      const after = fast.cacheStats();
      for (const [kind, rate, call, s0, s1] of [
        ["mutant", mutantRate, "evaluateMutant", before, between],
        ["child", childRate, "evaluateChild", between, after],
      ] as const) {
        out.figure({
          dataset: name,
          arch: data.arch,
          samples: split.n,
          kind,
          path: "delta-api",
          call,
          threads: 0,
          evals_per_s: round(rate.best),
          evals_per_s_median: round(rate.median),
          ms_per_eval: round(1000 / rate.best, 3),
          cached_parents: usable,
          parent_cache_bytes: bytesPerSlot,
          parent_hamming: PARENT_HAMMING,
          // how the calls were served: recomputing only what changed, or a full pass (fallback)
          delta_evaluations: s1.deltaEvaluations - s0.deltaEvaluations,
          full_evaluations: s1.fullEvaluations - s0.fullEvaluations,
          loss: true,
          data: data.source,
          ...windowFields(windows),
        });
      }
    } catch (e) {
      // reported, and the run fails at the end, but the other datasets' figures are still measured
      out.figure({
        dataset: name,
        arch: data.arch,
        samples: split.n,
        path: "delta-api",
        error: `delta API failed: ${errorText(e)}`,
      });
      process.exitCode = 1;
    }
  }
}

runMain("offspring-eval", main);
