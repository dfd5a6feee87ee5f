// One GA run as explicit state and pure steps (evosax style): `initRun` makes generation 0, `step`
// makes the next generation from a state and returns a new state; nothing is mutated, so states can be
// kept, compared, checkpointed (see serialize.ts) and replayed.
//
// Randomness: the run-level Rng given to `initRun` is split with `child` into one stream per purpose —
// "initial" (initial population), "crossover" (who recombines, with whom, and the crossover bits),
// "mutation" (who mutates and where) and "newcomers" (the generator) — so changing one operator does not
// shift the others. The three per-generation streams are saved in the state after every step.
//
// Fitness cache (a pure speed-up): before a batch is evaluated, each new mask is looked up by maskHash
// among the current population and the new individuals of this generation; a hit is used only if the
// stored mask is bit-for-bit equal (so a hash collision can never give wrong metrics). This assumes
// the evaluator is a deterministic function of the mask, which the reference and every fast evaluator
// must be. The cache is derived from the state, so a resumed run counts evaluations exactly as an
// uninterrupted one.
//
// Re-scoring (mini-batch fitness in "rotating" mode, a non-paper mode; see subset.ts): when the
// evaluator changes between generations, `step(state, deps, { rescore: true })` first re-evaluates the
// whole population with this generation's evaluator (one batch), then ranks, varies and selects on
// those metrics; the fitness cache is built from the re-scored population, so it never mixes metrics of
// two evaluators.
//
// Evaluation: `initRun` and `step` are written once, as evaluation coroutines (`initRunCoroutine`,
// `stepCoroutine`; see coroutine.ts) that yield each batch; `initRun`/`step` drive them with a
// synchronous evaluator, `initRunAsync`/`stepAsync` with an asynchronous one, with identical results.
import type { AsyncBatchEvaluator, BatchEvaluator, Metrics } from "../evaluate.ts";
import { type Mask, maskHash, masksEqual } from "../mask.ts";
import { Rng, type RngState } from "../rng.ts";
import type { NetworkShape } from "./connectivity.ts";
import { checkEvaluator, type EvaluationCoroutine, runCoroutine, runCoroutineAsync } from "./coroutine.ts";
import {
  type Generated,
  type GeneratorState,
  generateCoroutine,
  initialGeneratorState,
} from "./generators.ts";
import {
  bestIndividual,
  fitnessOf,
  type Individual,
  makeIndividual,
  type Origin,
  rankParents,
  selectSurvivors,
} from "./individual.ts";
import { makeOperators } from "./operators.ts";
import { eliteCount, type GaParams, type GaParamsInput, newcomerCount, resolveGaParams } from "./params.ts";
import { type TerminationParams, type TerminationReason, terminationReason } from "./termination.ts";

export interface GaDeps {
  /** training-split evaluator; must be deterministic in the mask */
  readonly evaluate: BatchEvaluator;
  /** the network (or just its layer shapes): genome length, and the graph for path-aware operators */
  readonly network: NetworkShape;
}

/** GaDeps with an asynchronous evaluator, for `initRunAsync` / `stepAsync`. */
export interface AsyncGaDeps {
  /** training-split evaluator; must be deterministic in the mask */
  readonly evaluate: AsyncBatchEvaluator;
  readonly network: NetworkShape;
}

export interface GaRngStates {
  readonly crossover: RngState;
  readonly mutation: RngState;
  readonly newcomers: RngState;
}

export interface GenerationStats {
  /** 0 = the initial population */
  readonly generation: number;
  /** fitness (accuracy or loss, in its own unit) of the best individual in survivor order */
  readonly bestFitness: number;
  readonly bestAccuracy: number;
  readonly bestLoss: number;
  readonly bestZeros: number;
  /** zeros / genome length of the best individual */
  readonly bestSparsity: number;
  /** mean fitness over the population */
  readonly meanFitness: number;
  /** cumulative evaluations of the run after this generation */
  readonly evaluations: number;
  /** evaluations made in this generation (batch + generator) */
  readonly newEvaluations: number;
  /** new individuals whose metrics came from the fitness cache */
  readonly cacheHits: number;
  readonly children: number;
  readonly mutants: number;
  readonly newcomers: number;
  /** path-aware operator results that hit the retry cap in this generation */
  readonly operatorFallbacks: number;
  /** generator safety-cap fallbacks in this generation */
  readonly generatorFallbacks: number;
  /** adaptive-bound: b after this generation; null otherwise */
  readonly bound: number | null;
  /** population members re-evaluated before ranking (only present for `rescore` steps) */
  readonly rescored?: number;
}

/** Options of one generation step. */
export interface StepOptions {
  /**
   * re-evaluate the current population with this step's evaluator before parent ranking (its stored
   * metrics came from another evaluator: rotating mini-batch fitness); the re-evaluations count in
   * `evaluations` and `newEvaluations`
   */
  readonly rescore?: boolean;
}

export interface GaState {
  readonly format: "slt-ga/1";
  readonly params: GaParams;
  /** generations completed (0 after initRun) */
  readonly generation: number;
  /** after initRun: in generation order; after every step: survivor order (best first) */
  readonly population: readonly Individual[];
  /** every evaluation of the run so far (generator, batch; cache hits excluded) */
  readonly evaluations: number;
  readonly generator: GeneratorState;
  readonly rng: GaRngStates;
  /** one entry per generation, index = generation */
  readonly history: readonly GenerationStats[];
}

interface Fresh {
  readonly mask: Mask;
  readonly origin: Origin;
  readonly metrics: Metrics | null;
}

function checkMetrics(r: unknown, n: number): asserts r is Metrics[] {
  if (!Array.isArray(r) || r.length !== n) {
    throw new RangeError(
      `evaluator returned ${Array.isArray(r) ? r.length : typeof r} results for ${n} masks`,
    );
  }
}

/**
 * Gives every fresh individual metrics: its own (from the generator), a cache hit (equal mask in
 * `known` or earlier in this batch), or one batch evaluation of all remaining masks (one yield, skipped
 * when empty).
 */
function* evaluateFresh(
  fresh: readonly Fresh[],
  known: readonly Individual[],
  born: number,
): EvaluationCoroutine<{ individuals: Individual[]; evaluations: number; cacheHits: number }> {
  const cache = new Map<string, { mask: Mask; metrics: Metrics }>();
  for (const ind of known) if (!cache.has(ind.hash)) cache.set(ind.hash, { mask: ind.mask, metrics: ind });
  const hashes = fresh.map((f) => maskHash(f.mask));
  fresh.forEach((f, k) => {
    if (f.metrics && !cache.has(hashes[k])) cache.set(hashes[k], { mask: f.mask, metrics: f.metrics });
  });
  const metrics: (Metrics | null)[] = fresh.map((f) => f.metrics);
  /** index into `batch` for entries that wait for the batch */
  const slot: number[] = fresh.map(() => -1);
  const batch: Mask[] = [];
  const pending = new Map<string, number>();
  let cacheHits = 0;
  fresh.forEach((f, k) => {
    if (metrics[k]) return;
    const hit = cache.get(hashes[k]);
    if (hit && masksEqual(hit.mask, f.mask)) {
      metrics[k] = hit.metrics;
      cacheHits++;
      return;
    }
    const j = pending.get(hashes[k]);
    if (j !== undefined && masksEqual(batch[j], f.mask)) {
      slot[k] = j;
      cacheHits++;
      return;
    }
    slot[k] = batch.length;
    if (j === undefined) pending.set(hashes[k], batch.length);
    batch.push(f.mask);
  });
  let results: Metrics[] = [];
  if (batch.length > 0) {
    const r: unknown = yield batch;
    checkMetrics(r, batch.length);
    results = r;
  }
  const individuals = fresh.map((f, k) => {
    const m = slot[k] >= 0 ? results[slot[k]] : (metrics[k] as Metrics);
    return makeIndividual(f.mask, { accuracy: m.accuracy, loss: m.loss }, f.origin, born);
  });
  return { individuals, evaluations: batch.length, cacheHits };
}

/**
 * The population with every member's metrics from one batch evaluation (equal masks evaluated once);
 * order, origin and birth generation unchanged.
 */
function* rescorePopulation(
  population: readonly Individual[],
): EvaluationCoroutine<{ population: Individual[]; evaluations: number }> {
  const slot = new Map<string, number[]>();
  const batch: Mask[] = [];
  const index = population.map((ind) => {
    const same = slot.get(ind.hash) ?? [];
    for (const j of same) if (masksEqual(batch[j], ind.mask)) return j;
    same.push(batch.length);
    slot.set(ind.hash, same);
    batch.push(ind.mask);
    return batch.length - 1;
  });
  if (batch.length === 0) return { population: [], evaluations: 0 };
  const r: unknown = yield batch;
  checkMetrics(r, batch.length);
  const rescored = population.map((ind, k) => ({
    ...ind,
    accuracy: r[index[k]].accuracy,
    loss: r[index[k]].loss,
  }));
  return { population: rescored, evaluations: batch.length };
}

/** The checks of the deps besides the evaluator (which the drivers check first). */
function checkNetwork(params: GaParams, net: NetworkShape): void {
  if (!net || !Array.isArray(net.layers) || net.layers.length === 0)
    throw new RangeError("deps.network needs at least one layer");
  let n = 0;
  for (const l of net.layers) {
    if (l.offset !== n)
      throw new RangeError(`layer offsets are not contiguous: expected ${n}, got ${l.offset}`);
    n += l.inputs * l.outputs;
  }
  if (n !== net.genomeLength || n === 0)
    throw new RangeError(`network genome length ${net.genomeLength} does not match its layers (${n})`);
  if (params.population < 1) throw new RangeError("population must be at least 1");
}

interface StatsExtra {
  newEvaluations: number;
  cacheHits: number;
  children: number;
  mutants: number;
  newcomers: number;
  operatorFallbacks: number;
  generatorFallbacks: number;
  rescored?: number;
}

export function generationStats(
  generation: number,
  population: readonly Individual[],
  params: GaParams,
  genomeLength: number,
  evaluations: number,
  generator: GeneratorState,
  extra: StatsExtra,
): GenerationStats {
  const best = bestIndividual(population, params.fitness);
  if (!best) throw new RangeError("empty population");
  let sum = 0;
  for (const ind of population) sum += fitnessOf(ind, params.fitness);
  return {
    generation,
    bestFitness: fitnessOf(best, params.fitness),
    bestAccuracy: best.accuracy,
    bestLoss: best.loss,
    bestZeros: best.zeros,
    bestSparsity: genomeLength === 0 ? 0 : best.zeros / genomeLength,
    meanFitness: sum / population.length,
    evaluations,
    ...extra,
    bound: generator.bound,
  };
}

/**
 * Generation 0: N individuals from the generator (stream "initial"), evaluated (generator-evaluated
 * ones keep their metrics; the rest in one batch). `rng` is the run-level stream, e.g.
 * `Rng.derive(seed, "island", id, "ga")`; it is not advanced.
 */
export function initRun(params: GaParamsInput | GaParams, deps: GaDeps, rng: Rng): GaState {
  const p = resolveGaParams(params);
  checkEvaluator(deps.evaluate, "BatchEvaluator");
  return runCoroutine(initRunCoroutine(p, deps.network, rng), deps.evaluate);
}

/** `initRun` with an asynchronous evaluator: the same state, one awaited batch at a time. */
export async function initRunAsync(
  params: GaParamsInput | GaParams,
  deps: AsyncGaDeps,
  rng: Rng,
): Promise<GaState> {
  const p = resolveGaParams(params);
  checkEvaluator(deps.evaluate, "AsyncBatchEvaluator");
  return runCoroutineAsync(initRunCoroutine(p, deps.network, rng), deps.evaluate);
}

/** `initRun` as an evaluation coroutine. */
export function* initRunCoroutine(
  params: GaParamsInput | GaParams,
  network: NetworkShape,
  rng: Rng,
): EvaluationCoroutine<GaState> {
  const p = resolveGaParams(params);
  checkNetwork(p, network);
  const genState0 = initialGeneratorState(p.generator, network);
  const gen = yield* generateCoroutine(p.generator, genState0, p.population, {
    network,
    rng: rng.child("initial"),
  });
  const fresh: Fresh[] = gen.items.map((g: Generated) => ({
    mask: g.mask,
    metrics: g.metrics,
    origin: "initial",
  }));
  const ev = yield* evaluateFresh(fresh, [], 0);
  const evaluations = gen.evaluations + ev.evaluations;
  const stats = generationStats(0, ev.individuals, p, network.genomeLength, evaluations, gen.state, {
    newEvaluations: evaluations,
    cacheHits: ev.cacheHits,
    children: 0,
    mutants: 0,
    newcomers: 0,
    operatorFallbacks: 0,
    generatorFallbacks: gen.state.fallbacks,
  });
  return {
    format: "slt-ga/1",
    params: p,
    generation: 0,
    population: ev.individuals,
    evaluations,
    generator: gen.state,
    rng: {
      crossover: rng.child("crossover").save(),
      mutation: rng.child("mutation").save(),
      newcomers: rng.child("newcomers").save(),
    },
    history: [stats],
  };
}

export interface Child {
  readonly mask: Mask;
  /** indices into `ranked`: the individual and its mate */
  readonly parents: readonly [number, number];
}

export interface Mutant {
  readonly mask: Mask;
  /** index into [...ranked, ...children] */
  readonly source: number;
}

/** Steps 1–4 of a generation, before any evaluation of the new individuals. */
export interface Offspring {
  readonly ranked: readonly Individual[];
  readonly children: readonly Child[];
  readonly mutants: readonly Mutant[];
  readonly newcomers: readonly Generated[];
  readonly generator: GeneratorState;
  /** evaluations the generator made */
  readonly generatorEvaluations: number;
  readonly operatorFallbacks: number;
  /** stream states after these steps */
  readonly rng: GaRngStates;
}

/**
 * Steps 1–4 of reference §2, in order: parent ranking (stable, fitness only) → recombination (each
 * ranked individual, with probability crossoverRate, gets one child with a mate drawn uniformly from
 * ranks 0 … eliteCount−1, possibly itself) → mutation (each individual of the list as it then stands —
 * parents and children — with probability mutationRate gets a one-bit mutant; mutants are not mutated
 * again) → newcomers (⌊newcomerFraction·N⌋ from the generator).
 */
export function vary(state: GaState, deps: GaDeps): Offspring {
  checkEvaluator(deps.evaluate, "BatchEvaluator");
  return runCoroutine(varyCoroutine(state, deps.network), deps.evaluate);
}

/** `vary` as an evaluation coroutine (only the generator evaluates). */
export function* varyCoroutine(state: GaState, network: NetworkShape): EvaluationCoroutine<Offspring> {
  const p = state.params;
  checkNetwork(p, network);
  if (state.population.length === 0) throw new RangeError("cannot step an empty population");
  const ops = makeOperators(p.operators, network, p.maxOperatorTries);
  const rx = Rng.restore(state.rng.crossover);
  const rm = Rng.restore(state.rng.mutation);
  const rn = Rng.restore(state.rng.newcomers);
  let operatorFallbacks = 0;

  // 1. Parent ranking.
  const ranked = rankParents(state.population, p.fitness);
  const pool = Math.min(eliteCount(p), ranked.length);

  // 2. Recombination.
  const children: Child[] = [];
  ranked.forEach((parent, i) => {
    if (!rx.chance(p.crossoverRate)) return;
    const j = rx.int(pool);
    const r = ops.crossover(parent.mask, ranked[j].mask, rx);
    if (r.fallback) operatorFallbacks++;
    children.push({ mask: r.mask, parents: [i, j] });
  });

  // 3. Mutation over the list as it now stands.
  const sources: Mask[] = [...ranked.map((i) => i.mask), ...children.map((c) => c.mask)];
  const mutants: Mutant[] = [];
  sources.forEach((m, source) => {
    if (!rm.chance(p.mutationRate)) return;
    const r = ops.mutate(m, rm);
    if (r.fallback) operatorFallbacks++;
    mutants.push({ mask: r.mask, source });
  });

  // 4. Newcomers.
  const gen = yield* generateCoroutine(p.generator, state.generator, newcomerCount(p), { network, rng: rn });

  return {
    ranked,
    children,
    mutants,
    newcomers: gen.items,
    generator: gen.state,
    generatorEvaluations: gen.evaluations,
    operatorFallbacks,
    rng: { crossover: rx.save(), mutation: rm.save(), newcomers: rn.save() },
  };
}

/**
 * One generation (reference §2): `vary` (ranking, recombination, mutation, newcomers) → evaluation of
 * the new individuals only (one batch call, fitness cache first) → survivor selection (fitness, then
 * zeros, stable in the order old population, children, mutants, newcomers; keep N).
 */
export function step(state: GaState, deps: GaDeps, options: StepOptions = {}): GaState {
  checkEvaluator(deps.evaluate, "BatchEvaluator");
  return runCoroutine(stepCoroutine(state, deps.network, options), deps.evaluate);
}

/** `step` with an asynchronous evaluator: the same state, one awaited batch at a time. */
export async function stepAsync(
  state: GaState,
  deps: AsyncGaDeps,
  options: StepOptions = {},
): Promise<GaState> {
  checkEvaluator(deps.evaluate, "AsyncBatchEvaluator");
  return runCoroutineAsync(stepCoroutine(state, deps.network, options), deps.evaluate);
}

/** `step` as an evaluation coroutine. */
export function* stepCoroutine(
  previous: GaState,
  network: NetworkShape,
  options: StepOptions = {},
): EvaluationCoroutine<GaState> {
  const p = previous.params;
  const born = previous.generation + 1;
  let state = previous;
  let rescored = 0;
  if (options.rescore) {
    checkNetwork(p, network);
    const r = yield* rescorePopulation(previous.population);
    state = { ...previous, population: r.population };
    rescored = r.evaluations;
  }
  const off = yield* varyCoroutine(state, network);
  const fresh: Fresh[] = [
    ...off.children.map((c): Fresh => ({ mask: c.mask, origin: "child", metrics: null })),
    ...off.mutants.map((m): Fresh => ({ mask: m.mask, origin: "mutant", metrics: null })),
    ...off.newcomers.map((g): Fresh => ({ mask: g.mask, origin: "newcomer", metrics: g.metrics })),
  ];
  const ev = yield* evaluateFresh(fresh, state.population, born);

  // 5. Survivor selection.
  const population = selectSurvivors([...off.ranked, ...ev.individuals], p.population, p.fitness);

  const newEvaluations = rescored + off.generatorEvaluations + ev.evaluations;
  const evaluations = state.evaluations + newEvaluations;
  const stats = generationStats(born, population, p, network.genomeLength, evaluations, off.generator, {
    newEvaluations,
    cacheHits: ev.cacheHits,
    children: off.children.length,
    mutants: off.mutants.length,
    newcomers: off.newcomers.length,
    operatorFallbacks: off.operatorFallbacks,
    generatorFallbacks: off.generator.fallbacks - state.generator.fallbacks,
    ...(options.rescore ? { rescored } : {}),
  });
  return {
    format: state.format,
    params: p,
    generation: born,
    population,
    evaluations,
    generator: off.generator,
    rng: off.rng,
    history: [...state.history, stats],
  };
}

/**
 * Steps until `terminationReason` says stop (checked on the given state first, so a resumed final
 * state is not stepped again). `onGeneration` sees every new state, e.g. to log or checkpoint.
 */
export function evolve(
  state: GaState,
  deps: GaDeps,
  termination: TerminationParams,
  onGeneration?: (state: GaState) => void,
): { state: GaState; reason: TerminationReason } {
  let s = state;
  for (;;) {
    const reason = terminationReason(s.history, termination);
    if (reason !== null) return { state: s, reason };
    s = step(s, deps);
    onGeneration?.(s);
  }
}
