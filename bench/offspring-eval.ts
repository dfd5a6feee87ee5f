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
//
// figure "distance" — cost by Hamming distance (moons [2,75,2], digits-10 [64,75,10], mnist
// [784,300,100,10]; mnist skipped with the reason when it cannot be loaded): each set is P fresh random
// 50% parents, evaluated first (timed apart: `full_ms`, the full-evaluation cost of the same network
// through the same path), then for each distance d in 1, 4, 16, 64, 256 a batch of offspring, each a
// parent with exactly d uniformly random bits flipped (flipExactly), one batch per distance
// (`ms_per_offspring`; `ratio` = ms_per_offspring / full_ms). Paths: batch (makeEvaluator) and pool
// (createSharedEvaluator, 2 threads), both through the public API of src/evaluator/index.ts, so the
// figures follow whatever the evaluator does with a parent it has just seen. Both paths get the same
// sets; every set's pool results must equal the batch's, and the first set's batch results the
// reference evaluator's (src/core/evaluate.ts) on a few masks (two on mnist, where it takes seconds).
// A window runs sets until the batch path's offspring time reaches the window length (mnist: one set).
//
// figure "generation" — one GA generation through the pool (2 threads): a converged population of 100
// (one random 50% mask and 99 copies of it with GEN_SPREAD random bits flipped, so members are about
// 2·GEN_SPREAD bits apart), evaluated through the pool untimed, then the GA's own stepAsync (ranking,
// crossover, mutation, newcomers from the dataset's preset, evaluation of the new individuals,
// selection) timed per generation, generation after generation.
//
// figure "target" — issue 12's targets on mnist: a one-bit mutant ≤ 20 ms (distance 1, the faster
// path) and a generation of population 100 ≤ 3 s on 2 cores (figure "generation"); `met` says whether.
import { type Metrics, referenceEvaluator } from "../src/core/evaluate.ts";
import {
  type GaState,
  initialGeneratorState,
  makeIndividual,
  negligentCrossover,
  negligentMutation,
  resolveGaParams,
  stepAsync,
} from "../src/core/ga/index.ts";
import { searchNeedsLoss } from "../src/core/ga/loss.ts";
import { hamming, type Mask, withFlipped } from "../src/core/mask.ts";
import { Rng } from "../src/core/rng.ts";
import {
  createFastEvaluator,
  createSharedEvaluator,
  makeEvaluator,
  type SharedEvaluator,
} from "../src/evaluator/index.ts";
import {
  type BenchArgs,
  type BenchDataset,
  type BenchDatasetName,
  benchArch,
  type Contender,
  createReporter,
  errorText,
  flipExactly,
  loadBenchDataset,
  measureRates,
  measureSyncRate,
  median,
  type Reporter,
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

/** Loads each benchmark dataset once per process (the figures below share them). */
const loaded = new Map<BenchDatasetName, Promise<BenchDataset>>();
function load(name: BenchDatasetName, out: Reporter): Promise<BenchDataset> {
  let p = loaded.get(name);
  if (p === undefined) {
    out.log(`loading ${name}`);
    p = loadBenchDataset(name);
    loaded.set(name, p);
  }
  return p;
}

async function main(args: BenchArgs): Promise<void> {
  const out = createReporter("offspring-eval", args);
  await mutantChildFigures(out, args);
  await distanceFigures(out, args);
}

async function mutantChildFigures(out: Reporter, args: BenchArgs): Promise<void> {
  const windows: WindowOptions = args.quick
    ? { windows: 2, windowMs: 300, warmup: 1 }
    : { windows: 5, windowMs: 2000, warmup: 2 };
  for (const name of DATASETS) {
    if (!wantDataset(args, name)) continue;
    const data = await load(name, out);
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

// ---- figure "distance": offspring cost by Hamming distance ----

const DISTANCE_DATASETS: readonly BenchDatasetName[] = ["moons", "digits-10", "mnist"];
const DISTANCES = [1, 4, 16, 64, 256];
const DISTANCE_POOL_THREADS = 2;
/** bits each member of the converged population differs from its common base mask */
const GEN_SPREAD = 2;
const GEN_POPULATION = 100;
/** issue 12's targets */
const TARGET_MUTANT_MS = 20;
const TARGET_GENERATION_S = 3;

interface DistanceSetup {
  /** fresh parents per set */
  readonly parents: number;
  /** offspring per parent and distance */
  readonly perParent: number;
  readonly windows: WindowOptions;
  /** untimed sets before the first window (the first set checked against the reference is one of them) */
  readonly warmupSets: number;
  /** masks checked against the reference evaluator: the first parent's offspring at these distances (0: the parent) */
  readonly referenceDistances: readonly number[];
  /** timed generations of figure "generation" */
  readonly generations: number;
}

function distanceSetup(name: BenchDatasetName, quick: boolean): DistanceSetup {
  if (name === "mnist")
    // a full evaluation takes 1-2 s: one set per window, and the first timed set is the checked one
    return {
      parents: 2,
      perParent: 1,
      windows: { windows: quick ? 1 : 2, windowMs: 0, warmup: 0 },
      warmupSets: 0,
      referenceDistances: [1, 16],
      generations: 1,
    };
  return {
    parents: 4,
    perParent: 2,
    windows: quick ? { windows: 2, windowMs: 150, warmup: 1 } : { windows: 5, windowMs: 1000, warmup: 1 },
    warmupSets: 1,
    referenceDistances: [0, ...DISTANCES],
    generations: quick ? 2 : 10,
  };
}

interface DistancePath {
  readonly path: "batch" | "pool";
  readonly threads: number;
  readonly run: (masks: readonly Mask[]) => Promise<Metrics[]>;
}

/** Timed milliseconds and evaluations of one path in one window: parents (full) and each distance. */
interface WindowTally {
  fullMs: number;
  full: number;
  readonly offMs: number[];
  readonly off: number[];
}

const newTally = (): WindowTally => ({
  fullMs: 0,
  full: 0,
  offMs: DISTANCES.map(() => 0),
  off: DISTANCES.map(() => 0),
});

interface DistanceSet {
  readonly parents: Mask[];
  /** per distance, the offspring (parent k's are at k·perParent …) */
  readonly offspring: Mask[][];
  /** the batch path's metrics: parents, then per distance */
  readonly metrics: { parents: Metrics[]; offspring: Metrics[][] };
}

async function timed<T>(f: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await f();
  return { value, ms: performance.now() - t0 };
}

/**
 * One set through every path: the parents, then one batch of offspring per distance; tallied into
 * `tallies` (one per path). Throws if a path's results differ from the first (batch) path's.
 */
async function runDistanceSet(
  name: string,
  paths: readonly DistancePath[],
  setup: DistanceSetup,
  L: number,
  rng: Rng,
  tallies: readonly WindowTally[],
): Promise<DistanceSet> {
  const parents = randomMasks(setup.parents, L, rng);
  const offspring = DISTANCES.map((d) =>
    parents.flatMap((p) => Array.from({ length: setup.perParent }, () => flipExactly(p, d, rng))),
  );
  let first: DistanceSet["metrics"] | null = null;
  for (const [i, p] of paths.entries()) {
    const t = tallies[i];
    const full = await timed(() => p.run(parents));
    t.fullMs += full.ms;
    t.full += parents.length;
    const got: Metrics[][] = [];
    for (const [k, batch] of offspring.entries()) {
      const r = await timed(() => p.run(batch));
      t.offMs[k] += r.ms;
      t.off[k] += batch.length;
      got.push(r.value);
    }
    if (first === null) first = { parents: full.value, offspring: got };
    else if (
      !sameMetrics(full.value, first.parents) ||
      got.some((g, k) => !sameMetrics(g, first!.offspring[k]))
    )
      throw new Error(`${name}: path ${p.path} threads ${p.threads} disagrees with the batch evaluator`);
  }
  return { parents, offspring, metrics: first! };
}

/** The batch path's results on a few masks of `set` against the reference evaluator (src/core/evaluate.ts). */
function checkReference(data: BenchDataset, set: DistanceSet, setup: DistanceSetup): number {
  const masks: Mask[] = [];
  const expected: Metrics[] = [];
  for (const d of setup.referenceDistances) {
    const k = DISTANCES.indexOf(d);
    masks.push(d === 0 ? set.parents[0] : set.offspring[k][0]);
    expected.push(d === 0 ? set.metrics.parents[0] : set.metrics.offspring[k][0]);
  }
  // without the loss (an accuracy search) the evaluators report loss NaN: the reference's is dropped too
  const reference = referenceEvaluator(
    data.net,
    data.split,
  )(masks).map((m) => (searchLoss(data) ? m : { accuracy: m.accuracy, loss: Number.NaN }));
  if (!sameMetrics(expected, reference))
    throw new Error(`${data.name}: the batch evaluator disagrees with the reference evaluator`);
  return masks.length;
}

/**
 * Whether the dataset's GA reads the loss (its preset's fitness and termination rule): evaluators here
 * compute it only then, as a run's do, so an accuracy search (moons) shows its incremental logits.
 */
function searchLoss(data: BenchDataset): boolean {
  return searchNeedsLoss(data.config.ga.fitness, data.config.termination.rule);
}

async function poolPath(data: BenchDataset, pools: SharedEvaluator[]): Promise<DistancePath> {
  const pool = await createSharedEvaluator(data.net, data.split, {
    threads: DISTANCE_POOL_THREADS,
    evaluator: { loss: searchLoss(data) },
  });
  pools.push(pool);
  return { path: "pool", threads: DISTANCE_POOL_THREADS, run: pool.batch };
}

async function distancePaths(data: BenchDataset, pools: SharedEvaluator[]): Promise<DistancePath[]> {
  const batch = makeEvaluator(data.net, data.split, { loss: searchLoss(data) });
  return [{ path: "batch", threads: 0, run: async (m) => batch(m) }, await poolPath(data, pools)];
}

/** Per path: every window's tally. */
async function measureDistances(
  data: BenchDataset,
  paths: readonly DistancePath[],
  setup: DistanceSetup,
  out: Reporter,
): Promise<{ tallies: WindowTally[][]; referenceMasks: number }> {
  const rng = Rng.derive(1, "bench-offspring-distance", data.name);
  const L = data.net.genomeLength;
  let referenceMasks = 0;
  const check = (set: DistanceSet) => {
    if (referenceMasks > 0) return;
    out.log(
      `${data.name}: checking ${setup.referenceDistances.length} masks against the reference evaluator`,
    );
    referenceMasks = checkReference(data, set, setup);
  };
  for (let k = 0; k < setup.warmupSets; k++)
    check(await runDistanceSet(data.name, paths, setup, L, rng, paths.map(newTally)));
  const tallies: WindowTally[][] = paths.map(() => []);
  for (let w = 0; w < setup.windows.windows; w++) {
    out.log(`${data.name}: distance window ${w + 1} of ${setup.windows.windows}`);
    const window = paths.map(newTally);
    do check(await runDistanceSet(data.name, paths, setup, L, rng, window));
    while (window[0].offMs.reduce((a, b) => a + b, 0) < setup.windows.windowMs);
    for (const [i, t] of window.entries()) tallies[i].push(t);
  }
  return { tallies, referenceMasks };
}

/** Best (lowest) and median of per-window milliseconds per evaluation. */
function msStats(perWindow: readonly number[]): { best: number; median: number } {
  return { best: Math.min(...perWindow), median: median(perWindow) };
}

interface DistanceResult {
  readonly path: string;
  readonly distance: number;
  readonly ms: number;
}

function reportDistances(
  out: Reporter,
  data: BenchDataset,
  paths: readonly DistancePath[],
  setup: DistanceSetup,
  measured: { tallies: WindowTally[][]; referenceMasks: number },
): DistanceResult[] {
  const results: DistanceResult[] = [];
  for (const [i, p] of paths.entries()) {
    const windows = measured.tallies[i];
    const full = msStats(windows.map((t) => t.fullMs / t.full));
    for (const [k, d] of DISTANCES.entries()) {
      const off = msStats(windows.map((t) => t.offMs[k] / t.off[k]));
      results.push({ path: p.path, distance: d, ms: off.best });
      out.figure({
        dataset: data.name,
        arch: data.arch,
        samples: data.split.n,
        figure: "distance",
        distance: d,
        path: p.path,
        threads: p.threads,
        ms_per_offspring: round(off.best, 3),
        ms_per_offspring_median: round(off.median, 3),
        full_ms: round(full.best, 3),
        full_ms_median: round(full.median, 3),
        ratio: round(off.best / full.best, 3),
        parents_per_set: setup.parents,
        offspring_per_set: setup.parents * setup.perParent,
        offspring_timed: windows.reduce((a, t) => a + t.off[k], 0),
        reference_checked_masks: measured.referenceMasks,
        loss: searchLoss(data),
        data: data.source,
        method: `best of ${setup.windows.windows} windows`,
        windows: setup.windows.windows,
        window_s: setup.windows.windowMs / 1000,
      });
    }
  }
  return results;
}

// ---- figure "generation": one GA generation from a converged population ----

/** A converged population of GEN_POPULATION, evaluated through `run`, as a GA state of the dataset's preset. */
async function convergedState(data: BenchDataset, run: DistancePath["run"]): Promise<GaState> {
  const params = resolveGaParams({ ...data.config.ga, population: GEN_POPULATION });
  const rng = Rng.derive(1, "bench-offspring-generation", data.name);
  const base = randomMasks(1, data.net.genomeLength, rng)[0];
  const masks = [base];
  while (masks.length < GEN_POPULATION) masks.push(flipExactly(base, GEN_SPREAD, rng));
  const metrics = await run(masks);
  return {
    format: "slt-ga/1",
    params,
    generation: 0,
    population: masks.map((m, i) => makeIndividual(m, metrics[i], "initial", 0)),
    evaluations: masks.length,
    generator: initialGeneratorState(params.generator, data.net),
    rng: {
      crossover: rng.child("crossover").save(),
      mutation: rng.child("mutation").save(),
      newcomers: rng.child("newcomers").save(),
    },
    history: [],
  };
}

/** Mean pairwise Hamming distance of the population (its first 20 members). */
function meanPairwise(state: GaState): number {
  const m = state.population.slice(0, 20).map((i) => i.mask);
  let sum = 0;
  let pairs = 0;
  for (let a = 0; a < m.length; a++)
    for (let b = a + 1; b < m.length; b++, pairs++) sum += hamming(m[a], m[b]);
  return pairs === 0 ? 0 : sum / pairs;
}

async function generationFigure(
  out: Reporter,
  data: BenchDataset,
  pool: DistancePath,
  setup: DistanceSetup,
): Promise<number> {
  out.log(`${data.name}: evaluating a converged population of ${GEN_POPULATION} (untimed)`);
  let state = await convergedState(data, pool.run);
  const pairwise = meanPairwise(state);
  const seconds: number[] = [];
  for (let g = 0; g < setup.generations; g++) {
    out.log(`${data.name}: generation ${g + 1} of ${setup.generations}`);
    const s = state;
    const r = await timed(() => stepAsync(s, { evaluate: pool.run, network: data.net }));
    state = r.value;
    seconds.push(r.ms / 1000);
  }
  const h = state.history;
  const sum = (f: (s: (typeof h)[number]) => number) => h.reduce((a, s) => a + f(s), 0) / h.length;
  // the population's metrics came from the pool; the small datasets' are checked against the batch evaluator
  let checked = 0;
  if (data.name !== "mnist") {
    const masks = state.population.map((i) => i.mask);
    if (
      !sameMetrics(state.population, makeEvaluator(data.net, data.split, { loss: searchLoss(data) })(masks))
    )
      throw new Error(`${data.name}: the generation's metrics disagree with the batch evaluator`);
    checked = masks.length;
  }
  const best = Math.min(...seconds);
  out.figure({
    dataset: data.name,
    arch: data.arch,
    samples: data.split.n,
    figure: "generation",
    path: pool.path,
    threads: pool.threads,
    seconds: round(best, 3),
    seconds_median: round(median(seconds), 3),
    generations: setup.generations,
    population: GEN_POPULATION,
    population_spread_bits: GEN_SPREAD,
    mean_pairwise_hamming: round(pairwise, 2),
    fitness: state.params.fitness,
    new_evaluations: round(
      sum((s) => s.newEvaluations),
      2,
    ),
    children: round(
      sum((s) => s.children),
      2,
    ),
    mutants: round(
      sum((s) => s.mutants),
      2,
    ),
    newcomers: round(
      sum((s) => s.newcomers),
      2,
    ),
    cache_hits: round(
      sum((s) => s.cacheHits),
      2,
    ),
    checked_masks: checked,
    loss: searchLoss(data),
    data: data.source,
    method: `best of ${setup.generations} generation${setup.generations > 1 ? "s" : ""}`,
  });
  return best;
}

// ---- figure "target": issue 12's targets on mnist ----

function targetFigures(
  out: Reporter,
  mnist: { distances: DistanceResult[]; generationS: number } | string,
): void {
  const base = { dataset: "mnist", arch: benchArch("mnist"), figure: "target" };
  const mutant = { target: `one-bit mutant on MNIST ≤ ${TARGET_MUTANT_MS} ms`, bound_ms: TARGET_MUTANT_MS };
  const generation = {
    target: `MNIST generation of population ${GEN_POPULATION} ≤ ${TARGET_GENERATION_S} s on 2 cores`,
    bound_s: TARGET_GENERATION_S,
  };
  if (typeof mnist === "string") {
    out.figure({ ...base, ...mutant, met: null, skipped: mnist });
    out.figure({ ...base, ...generation, met: null, skipped: mnist });
    return;
  }
  const ones = mnist.distances.filter((r) => r.distance === 1).sort((a, b) => a.ms - b.ms);
  out.figure({
    ...base,
    ...mutant,
    reached_ms: round(ones[0].ms, 3),
    path: ones[0].path,
    met: ones[0].ms <= TARGET_MUTANT_MS,
    from: 'figure "distance", distance 1, the faster path',
  });
  out.figure({
    ...base,
    ...generation,
    reached_s: round(mnist.generationS, 3),
    path: "pool",
    threads: DISTANCE_POOL_THREADS,
    met: mnist.generationS <= TARGET_GENERATION_S,
    from: 'figure "generation"',
  });
}

/** One dataset's distance and generation figures; why not, when it cannot be loaded (skipped lines say so too). */
async function distanceDataset(
  out: Reporter,
  args: BenchArgs,
  name: BenchDatasetName,
): Promise<{ distances: DistanceResult[]; generationS: number } | string> {
  let data: BenchDataset;
  try {
    data = await load(name, out);
  } catch (e) {
    const why = `cannot load dataset ${name}: ${errorText(e)}`;
    for (const figure of ["distance", "generation"])
      out.figure({ dataset: name, arch: benchArch(name), figure, skipped: why });
    return why;
  }
  const setup = distanceSetup(name, args.quick);
  const pools: SharedEvaluator[] = [];
  try {
    const paths = await distancePaths(data, pools);
    const measured = await measureDistances(data, paths, setup, out);
    const distances = reportDistances(out, data, paths, setup, measured);
    // a fresh pool: the generation starts from what a GA's evaluator would hold, not from the sets above
    await Promise.all(pools.splice(0).map((p) => p.close()));
    const generationS = await generationFigure(out, data, await poolPath(data, pools), setup);
    return { distances, generationS };
  } finally {
    await Promise.all(pools.map((p) => p.close()));
  }
}

async function distanceFigures(out: Reporter, args: BenchArgs): Promise<void> {
  let mnist: { distances: DistanceResult[]; generationS: number } | string = "mnist not in --datasets";
  for (const name of DISTANCE_DATASETS) {
    if (!wantDataset(args, name)) continue;
    const r = await distanceDataset(out, args, name);
    if (name === "mnist") mnist = r;
  }
  targetFigures(out, mnist);
}

runMain("offspring-eval", main);
