// One search with one population, in-process: the run's start (src/run/prepare.ts: data, run directory,
// config.json) → GA until a termination rule fires → the run's end (src/run/finish.ts: best ticket,
// post-pruning, ticket.json, summary). The evaluator is injected (the CLI passes the island's fast
// evaluator), so this file never depends on island code and tests can run it with the reference evaluator.
//
// Mini-batch fitness (ga.fitnessSubset, a NON-PAPER mode; core/ga/subset.ts): the GA's evaluator scores
// a seeded subset of the training rows — one for the run ("fixed") or one per generation ("rotating",
// where every step first re-scores the population on the new subset). Generation events and checkpoints
// hold subset metrics; at the end the final population is re-scored on the full training split, and the
// best individual, the ticket's training metrics and the summary come from those full-split metrics.
// Every result says `fitnessMode: "mini-batch (non-paper)"`; the subset evaluator derives from the
// generation, so such a run resumes like any other.
//
// A wall-clock limit (`--time-limit S`, cluster.timeLimitSeconds) stops the run at the first generation
// boundary after S seconds, stop reason "wall-clock" as for islands, so one population and islands can be
// compared at equal time.
//
// Checkpoints (docs/architecture.md, "Checkpoints"): every `checkpointEvery` generations (default 50)
// and at every stop (cap, rule, Ctrl-C/SIGTERM), a run checkpoint of mode "single" whose one island is the
// GA state as island 0's snapshot, written by io/checkpoint-store.ts (atomic, checksummed, the previous
// one kept) while the GA goes on; a `checkpoint` event follows each write. `runSingle` with `resume`
// continues a run from its checkpoint in the run's own directory: a `resume` event, then the generations
// after the checkpoint's, exactly as the uninterrupted run would have made them.
import { basename } from "node:path";
import {
  configHash,
  type JsonObject,
  RUN_CHECKPOINT_FORMAT,
  type RunCheckpoint,
} from "../core/checkpoint.ts";
import type { ResolvedConfig } from "../core/config.ts";
import type { Split } from "../core/dataset.ts";
import { selectRows } from "../core/datasets/index.ts";
import { E_CHECKPOINT, SltError } from "../core/errors.ts";
import type { AsyncBatchEvaluator, BatchEvaluator } from "../core/evaluate.ts";
import {
  type FitnessModeLabel,
  type FitnessSubset,
  fitnessModeLabel,
  fitnessSubsetRows,
  type GaState,
  type GenerationStats,
  type Individual,
  initRun,
  initRunAsync,
  searchNeedsLoss,
  step,
  stepAsync,
  type TerminationParams,
  type TerminationReason,
  terminationReason,
  withBestLoss,
} from "../core/ga/index.ts";
import { singlePopulationSnapshot, snapshotFromJSON, snapshotToJSON } from "../core/island-snapshot.ts";
import type { Network } from "../core/network.ts";
import { Rng } from "../core/rng.ts";
import { writeCheckpoint } from "../io/checkpoint-store.ts";
import { yieldToEventLoop } from "../io/event-loop.ts";
import { type Logger, stderrLogger } from "../io/log.ts";
import { countProgress, createProgress } from "../io/progress.ts";
import type { RunDashboard } from "../run/dashboard.ts";
import { type Candidate, type RunSummary as FinishSummary, finishRun, pickBest } from "../run/finish.ts";
import { type PreparedRun, prepareRun } from "../run/prepare.ts";
import { type ResumeFrom, resumeEvent } from "../run/resume-from.ts";

/**
 * Makes a batch evaluator for a split. `loss: false` allows one that skips the loss (reporting NaN)
 * where only accuracies are read; an evaluator that computes it anyway is fine.
 */
export type EvaluatorFactory = (net: Network, split: Split, options?: { loss?: boolean }) => BatchEvaluator;

export interface RunOptions {
  /** the command's logger; its records also go to the run directory's log.jsonl */
  readonly logger?: Logger;
  /** where progress lines go (stderr in the CLI); none when undefined */
  readonly progress?: NodeJS.WritableStream;
  /** at most one progress line per this many ms, besides the last (default 1000; 0: every generation) */
  readonly progressIntervalMs?: number;
  readonly makeEvaluator: EvaluatorFactory;
  /** when it returns true the run stops after the current generation and still writes its ticket */
  readonly shouldStop?: () => boolean;
  /**
   * evaluates the GA's fitness off the main thread (the CLI's `--threads`: the SharedArrayBuffer worker
   * pool), made for the fitness split (the full training split, or with rotating mini-batch fitness each
   * generation's subset) and closed when the GA ends. Its results must equal `makeEvaluator`'s, so the
   * run is the same either way.
   */
  readonly makeAsyncEvaluator?: AsyncEvaluatorFactory;
  /**
   * continue a run from its checkpoint (src/run/resume-from.ts; one island, the population's snapshot),
   * in the run's own directory
   */
  readonly resume?: ResumeFrom;
  /** the live dashboard (run/dashboard.ts): it gets every event the run writes */
  readonly dashboard?: RunDashboard;
}

/** One population checkpoints every this many generations when the configuration does not say (checkpointEvery). */
export const SINGLE_CHECKPOINT_EVERY = 50;

/** An evaluator on other threads: the GA's batches, and `close` when the GA is done. */
export type AsyncEvaluatorFactory = (
  net: Network,
  split: Split,
  options: { loss: boolean },
) => Promise<{ readonly batch: AsyncBatchEvaluator; close(): Promise<void> }>;

/**
 * Why one population stops: its termination rule or limits, a stop request, or the wall-clock limit
 * (`--time-limit`, cluster.timeLimitSeconds: at the first generation's end after it, as islands name it).
 */
export type SingleStopReason = TerminationReason | "interrupted" | "wall-clock";

export type RunSummary = FinishSummary<SingleStopReason>;

export function terminationParams(config: ResolvedConfig): TerminationParams {
  // The configured cap is the only cap: it replaces the rule's own (which the presets set to the papers').
  return {
    rule: config.termination.rule,
    ruleCap: null,
    maxGenerations: config.termination.maxGenerations,
    maxEvaluations: config.termination.maxEvaluations,
    plateauLogs: config.termination.plateauLogs,
  };
}

function generationEvent(s: GenerationStats): Record<string, unknown> {
  return {
    type: "generation",
    generation: s.generation,
    bestFitness: s.bestFitness,
    bestAccuracy: s.bestAccuracy,
    bestLoss: s.bestLoss,
    sparsity: s.bestSparsity,
    meanFitness: s.meanFitness,
    evaluations: s.evaluations,
    newEvaluations: s.newEvaluations,
    cacheHits: s.cacheHits,
    ...(s.bound !== null ? { bound: s.bound } : {}),
    // rotating mini-batch fitness: population members re-scored on this generation's subset
    ...(s.rescored !== undefined ? { rescored: s.rescored } : {}),
  };
}

/**
 * One population's run checkpoints: the GA state as island 0's snapshot in the run checkpoint envelope,
 * written through the checkpoint store. A write goes on while the GA does (its value is whole before it
 * starts, so later generations cannot change it); the next write first waits for it, so there are never
 * two at once. A write that fails is logged (the previous checkpoint is kept) and the run goes on.
 */
class SingleCheckpoints {
  readonly every: number;
  readonly #run: PreparedRun;
  readonly #logger: Logger;
  readonly #configHash: string;
  #pending: Promise<void> | null = null;
  /** the generation of the newest checkpoint written */
  #written: number | null = null;

  constructor(run: PreparedRun, logger: Logger) {
    this.#run = run;
    this.#logger = logger;
    this.every = run.config.checkpointEvery ?? SINGLE_CHECKPOINT_EVERY;
    this.#configHash = configHash(run.config);
  }

  /** whether generation `generation` is a periodic checkpoint's */
  due(generation: number): boolean {
    return generation > 0 && generation % this.every === 0;
  }

  /** Starts writing a checkpoint of `state`, once the previous write has ended. */
  async write(state: GaState): Promise<void> {
    await this.settled();
    const { dir } = this.#run;
    const generation = state.generation;
    const value = this.#checkpointOf(state);
    const began = performance.now();
    this.#pending = writeCheckpoint(dir.path, value).then(
      (written) => {
        this.#written = generation;
        dir.appendEvent({
          type: "checkpoint",
          generation,
          file: basename(written.file),
          bytes: written.bytes,
          sha256: written.sha256,
          seconds: Math.round(performance.now() - began) / 1000,
        });
      },
      (e: unknown) => {
        const code = e instanceof SltError ? e.code : undefined;
        this.#logger.error({ generation, code, reason: (e as Error).message }, "checkpoint not written");
      },
    );
  }

  /**
   * The stop's checkpoint: `state` written unless the newest checkpoint already holds its generation;
   * resolves once no write is in progress.
   */
  async final(state: GaState): Promise<void> {
    await this.settled();
    if (this.#written === state.generation) return;
    await this.write(state);
    await this.settled();
  }

  /** Resolves once no write is in progress. */
  async settled(): Promise<void> {
    const pending = this.#pending;
    this.#pending = null;
    await pending;
  }

  #checkpointOf(state: GaState): RunCheckpoint {
    const { config, dir } = this.#run;
    // one population never migrates; the stream only makes the snapshot whole (a re-shard replaces it)
    const migration = Rng.derive(config.seed, "migration").save();
    const snapshot = snapshotToJSON(singlePopulationSnapshot(state, config.cluster.mode, migration));
    return {
      format: RUN_CHECKPOINT_FORMAT,
      createdAt: new Date().toISOString(),
      runId: basename(dir.path),
      configHash: this.#configHash,
      mode: "single",
      epoch: 0,
      generation: state.generation,
      coordinator: {},
      islands: [{ id: 0, snapshot: snapshot as unknown as JsonObject }],
    };
  }
}

/** The event that opens a resumed run's part of events.jsonl: where it continues from. */
/** The GA state a resumed run starts from: its checkpoint's one island's, checked. */
function resumedState(run: PreparedRun, resume: ResumeFrom): GaState {
  if (resume.islands.length !== 1)
    throw new SltError(
      E_CHECKPOINT,
      `cannot resume one population from ${resume.checkpoint.file}: it holds ${resume.islands.length} island snapshots, one population starts from exactly one (re-shard them onto 1 island first)`,
    );
  return snapshotFromJSON(resume.islands[0], run.network.genomeLength).ga;
}

/**
 * The evaluators of one population's run. An accuracy-fitness search never reads the loss
 * (core/ga/loss.ts): its full-split evaluator skips it, and the best of each generation gets its loss
 * from the full-split evaluator. (Mini-batch subsets are small: their evaluators keep the loss.)
 */
class SingleEvaluators {
  readonly subset: FitnessSubset | undefined;
  readonly searchLoss: boolean;
  /** the GA's own evaluator on the full training split; null with mini-batch fitness or a worker pool */
  readonly gaTrain: BatchEvaluator | null;
  readonly test: BatchEvaluator;
  /** the full training split with loss: the GA's own evaluator when that computes it, else made on first use */
  #fullTrain: BatchEvaluator | null;
  /** the evaluator that scores generation `generation` on a mini-batch subset */
  #subsetEvaluator: { generation: number | null; evaluate: BatchEvaluator } | null = null;
  readonly #run: PreparedRun;
  readonly #make: EvaluatorFactory;

  constructor(run: PreparedRun, options: RunOptions) {
    const { config, network, dataset } = run;
    this.#run = run;
    this.#make = options.makeEvaluator;
    this.subset = config.ga.fitnessSubset;
    this.searchLoss = searchNeedsLoss(config.ga.fitness, config.termination.rule);
    const pooled = !this.subset && options.makeAsyncEvaluator !== undefined;
    this.gaTrain =
      this.subset || pooled ? null : this.#make(network, dataset.train, { loss: this.fitnessLoss });
    this.#fullTrain = this.searchLoss ? this.gaTrain : null;
    this.test = this.#make(network, dataset.test);
  }

  /** whether the fitness evaluators compute the loss: mini-batch subsets always do (they are small) */
  get fitnessLoss(): boolean {
    return this.subset ? true : this.searchLoss;
  }

  /** the full training split, with losses */
  readonly train: BatchEvaluator = (masks) => {
    this.#fullTrain ??= this.#make(this.#run.network, this.#run.dataset.train);
    return this.#fullTrain(masks);
  };

  /** pruning reads accuracies only: the search's loss-free evaluator where there is one */
  get pruneTrain(): BatchEvaluator {
    return this.gaTrain !== null && !this.searchLoss ? this.gaTrain : this.train;
  }

  /**
   * Which split generation `generation` is scored on, as a key: null for one split the whole run (the
   * full training split, or a fixed subset), the generation for a rotating subset.
   */
  fitnessKey(generation: number): number | null {
    return this.subset?.mode === "rotating" ? generation : null;
  }

  /** the split generation `generation` is scored on: the full training split or its mini-batch subset */
  fitnessSplit(generation: number): Split {
    const { config, dataset } = this.#run;
    if (!this.subset) return dataset.train;
    return selectRows(
      dataset.train,
      fitnessSubsetRows(this.subset, dataset.train.n, config.seed, generation),
    );
  }

  /** the evaluator that scores generation `generation` (without a pool) */
  fitness(generation: number): BatchEvaluator {
    if (!this.subset) {
      if (this.gaTrain === null) throw new RangeError("the search evaluates on its worker pool");
      return this.gaTrain;
    }
    const key = this.fitnessKey(generation);
    if (this.#subsetEvaluator === null || this.#subsetEvaluator.generation !== key) {
      this.#subsetEvaluator = {
        generation: key,
        evaluate: this.#make(this.#run.network, this.fitnessSplit(generation), { loss: this.fitnessLoss }),
      };
    }
    return this.#subsetEvaluator.evaluate;
  }

  /** a no-op while the search computes losses itself (its best always has one) */
  withReportedLoss(s: GaState): GaState {
    return withBestLoss(s, this.#run.config.ga.fitness, (masks) => this.train(masks).map((m) => m.loss));
  }

  /** the mini-batch subset's evaluator is not needed any more */
  dropSubset(): void {
    this.#subsetEvaluator = null;
  }
}

function startEvent(run: PreparedRun, fitnessMode: FitnessModeLabel): Record<string, unknown> {
  const { config, network, dataset } = run;
  const subset = config.ga.fitnessSubset;
  return {
    type: "start",
    name: config.name,
    seed: config.seed,
    genomeLength: network.genomeLength,
    population: config.ga.population,
    fitnessMode,
    ...(subset
      ? {
          fitnessSubset: { size: subset.size, mode: subset.mode, trainRows: dataset.train.n },
          note: "generation metrics are on the fitness subset; the ticket's training metrics on the full split",
        }
      : {}),
  };
}

/**
 * The GA's worker pool (`--threads`): one for the run, on its fitness split, or with rotating mini-batch
 * fitness one per generation's subset, the previous one closed first. Starting a pool costs a few
 * hundred milliseconds (the workers and the split copied into shared memory), small next to a
 * generation of a network large enough for threads to pay.
 */
class GaPools {
  readonly #make: AsyncEvaluatorFactory;
  readonly #ev: SingleEvaluators;
  readonly #network: Network;
  #current: { key: number | null; pool: { batch: AsyncBatchEvaluator; close(): Promise<void> } } | null =
    null;

  constructor(make: AsyncEvaluatorFactory, ev: SingleEvaluators, network: Network) {
    this.#make = make;
    this.#ev = ev;
    this.#network = network;
  }

  /** the GA's dependencies for generation `generation`, on the pool of its split */
  async deps(generation: number): Promise<{ evaluate: AsyncBatchEvaluator; network: Network }> {
    const key = this.#ev.fitnessKey(generation);
    if (this.#current === null || this.#current.key !== key) {
      await this.close();
      const split = this.#ev.fitnessSplit(generation);
      this.#current = { key, pool: await this.#make(this.#network, split, { loss: this.#ev.fitnessLoss }) };
    }
    return { evaluate: this.#current.pool.batch, network: this.#network };
  }

  async close(): Promise<void> {
    const current = this.#current;
    this.#current = null;
    await current?.pool.close();
  }
}

/**
 * The GA from generation 0 (or from the `resumed` state) until a termination rule
 * fires or a stop is requested; checkpoints as it goes.
 */
async function evolve(
  run: PreparedRun,
  ev: SingleEvaluators,
  options: RunOptions,
  report: (s: GenerationStats, force?: boolean) => void,
  checkpoints: SingleCheckpoints,
  resumed: GaState | null,
): Promise<{ state: GaState; stopReason: SingleStopReason }> {
  const { config, network, dir } = run;
  const depsFor = (generation: number) => ({ evaluate: ev.fitness(generation), network });
  const stepOptions = { rescore: ev.subset?.mode === "rotating" };
  const termination = terminationParams(config);
  const gaRng = Rng.derive(config.seed, "ga");
  // the limit counts from this process's start, so a resumed run gets it afresh (as islands do)
  const limit = config.cluster.timeLimitSeconds;
  const deadline = limit === undefined ? Number.POSITIVE_INFINITY : run.started + limit * 1000;
  const pools = options.makeAsyncEvaluator ? new GaPools(options.makeAsyncEvaluator, ev, network) : null;
  try {
    let state =
      resumed ??
      ev.withReportedLoss(
        pools
          ? await initRunAsync(config.ga, await pools.deps(0), gaRng)
          : initRun(config.ga, depsFor(0), gaRng),
      );
    // a resumed generation's event and checkpoint are in the run already
    let fresh = resumed === null;
    for (;;) {
      const last = state.history[state.history.length - 1];
      if (fresh) dir.appendEvent(generationEvent(last));
      report(last);
      if (fresh && checkpoints.due(state.generation)) await checkpoints.write(state);
      fresh = true;
      const reason = terminationReason(state.history, termination);
      if (reason !== null) return { state, stopReason: reason };
      if (performance.now() >= deadline) return { state, stopReason: "wall-clock" };
      // Let signals and I/O (a checkpoint being written) through between generations, so Ctrl-C can
      // end the run cleanly.
      await yieldToEventLoop();
      if (options.shouldStop?.()) return { state, stopReason: "interrupted" };
      const next = state.generation + 1;
      state = ev.withReportedLoss(
        pools
          ? await stepAsync(state, await pools.deps(next), stepOptions)
          : step(state, depsFor(next), stepOptions),
      );
    }
  } finally {
    await pools?.close();
  }
}

/** A population as the run's end sees it: individuals this process measured. */
const candidatesOf = (population: readonly Individual[]): Candidate[] =>
  population.map((individual) => ({ individual, island: null }));

/** individuals re-scored on the full training split between progress lines and stop checks */
export const RESCORE_CHUNK = 8;

/** The final population on the full training split: re-scored individuals, and whether a stop cut it short. */
interface Rescored {
  readonly population: readonly Individual[];
  readonly interrupted: boolean;
}

/** The full training split with losses: on a worker pool with `--threads`, else in-process. */
async function fullSplitEvaluator(
  run: PreparedRun,
  ev: SingleEvaluators,
  options: RunOptions,
): Promise<{ readonly batch: AsyncBatchEvaluator; close(): Promise<void> }> {
  if (options.makeAsyncEvaluator)
    return options.makeAsyncEvaluator(run.network, run.dataset.train, { loss: true });
  return { batch: async (masks) => ev.train(masks), close: async () => {} };
}

/**
 * Mini-batch fitness: the final population re-scored on the full training split (and the event saying
 * so). On a large split this takes a while (MNIST: 35–55 s for a population of 100 in-process), so it
 * goes a few individuals at a time with a progress line, and lets a stop request through between them: a
 * stop keeps the individuals re-scored so far, the subset's best always first, and the run ends as
 * interrupted. With `--threads` it runs on a pool of its own over the full split.
 */
async function rescoreOnFullSplit(
  run: PreparedRun,
  ev: SingleEvaluators,
  state: GaState,
  options: RunOptions,
): Promise<Rescored> {
  const fitness = run.config.ga.fitness;
  ev.dropSubset();
  const bestOf = (p: readonly Individual[]) => pickBest(candidatesOf(p), fitness).individual;
  const subsetBest = bestOf(state.population);
  const order = [subsetBest, ...state.population.filter((ind) => ind !== subsetBest)];
  const progress = countProgress(options.progress, order.length, { intervalMs: options.progressIntervalMs });
  const onFullSplit = new Map<Individual, Individual>();
  let interrupted = false;
  let done = 0;
  const evaluator = await fullSplitEvaluator(run, ev, options);
  try {
    while (done < order.length && !interrupted) {
      const chunk = order.slice(done, done + RESCORE_CHUNK);
      const full = await evaluator.batch(chunk.map((ind) => ind.mask));
      for (const [k, ind] of chunk.entries())
        onFullSplit.set(ind, { ...ind, accuracy: full[k].accuracy, loss: full[k].loss });
      done += chunk.length;
      progress(
        done,
        (s) => `final evaluation on the full training split: ${done}/${order.length}  ${s.toFixed(1)}s`,
      );
      await yieldToEventLoop();
      interrupted = done < order.length && options.shouldStop?.() === true;
    }
  } finally {
    await evaluator.close();
  }
  // in the population's order, which breaks ties between equals as without mini-batch fitness
  const population = state.population.flatMap((ind) => onFullSplit.get(ind) ?? []);
  const subsetBestFull = onFullSplit.get(subsetBest) ?? subsetBest;
  const fullBest = bestOf(population);
  run.dir.appendEvent({
    type: "full-split-rescore",
    fitnessMode: fitnessModeLabel(run.config.ga.fitnessSubset),
    individuals: population.length,
    ...(interrupted ? { interrupted: true, of: state.population.length } : {}),
    subsetBest: { accuracy: subsetBest.accuracy, loss: subsetBest.loss, zeros: subsetBest.zeros },
    subsetBestOnFullSplit: { accuracy: subsetBestFull.accuracy, loss: subsetBestFull.loss },
    best: { accuracy: fullBest.accuracy, loss: fullBest.loss, zeros: fullBest.zeros },
  });
  return { population, interrupted };
}

export async function runSingle(resolvedConfig: ResolvedConfig, options: RunOptions): Promise<RunSummary> {
  const run = prepareRun(
    resolvedConfig,
    performance.now(),
    options.logger,
    options.resume,
    options.dashboard,
  );
  const { config, dataset, dir } = run;
  const ev = new SingleEvaluators(run, options);
  const subset = config.ga.fitnessSubset;
  const fitnessMode = fitnessModeLabel(subset);
  const progress = createProgress(options.progress ?? process.stderr, {
    enabled: options.progress !== undefined,
    intervalMs: options.progressIntervalMs,
    // the time limit counts from the run's start, data loading included, and so do the lines' seconds
    limits: { ...config.termination, timeLimitSeconds: config.cluster.timeLimitSeconds },
    startedAt: run.started,
  });
  const fitness = config.ga.fitness;
  const report = (s: GenerationStats, force = false) =>
    progress(
      {
        generation: s.generation,
        bestFitness: s.bestFitness,
        fitness,
        bestAccuracy: s.bestAccuracy,
        sparsity: s.bestSparsity,
        evaluations: s.evaluations,
      },
      force,
    );
  const resumed = options.resume ? resumedState(run, options.resume) : null;
  if (options.resume && resumed)
    dir.appendEvent(resumeEvent(options.resume, { generation: resumed.generation }));
  else dir.appendEvent(startEvent(run, fitnessMode));
  if (subset && options.progress !== undefined) {
    options.progress.write(
      `slt: ${fitnessMode}: fitness on ${subset.size} of ${dataset.train.n} training rows (${subset.mode}); the reported training metrics are re-scored on the full split\n`,
    );
  }
  const checkpoints = new SingleCheckpoints(run, options.logger ?? stderrLogger());
  const { state, stopReason } = await evolve(run, ev, options, report, checkpoints, resumed);
  report(state.history[state.history.length - 1], true);
  // every stop leaves a checkpoint of where the run ended, complete before the run's end is written
  await checkpoints.final(state);
  const rescored = subset ? await rescoreOnFullSplit(run, ev, state, options) : null;
  // Best by training fitness, sparsity breaking ties: the individual the papers report.
  const { summary } = finishRun({
    run,
    candidates: candidatesOf(rescored?.population ?? state.population),
    stopReason: rescored?.interrupted ? "interrupted" : stopReason,
    generations: state.generation,
    evaluations: state.evaluations,
    evaluators: { train: ev.train, test: ev.test, pruneTrain: ev.pruneTrain },
  });
  return summary;
}
