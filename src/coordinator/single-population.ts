// One search with one population, in-process: config → dataset → run directory → GA until a
// termination rule fires → best ticket → post-pruning → ticket.json and a summary.
// The evaluator is injected (the CLI passes the island's fast evaluator), so this file never
// depends on island code and tests can run it with the reference evaluator.
//
// Mini-batch fitness (ga.fitnessSubset, a NON-PAPER mode; core/ga/subset.ts): the GA's evaluator scores
// a seeded subset of the training rows — one for the run ("fixed") or one per generation ("rotating",
// where every step first re-scores the population on the new subset). Generation events and checkpoints
// hold subset metrics; at the end the final population is re-scored on the full training split, and the
// best individual, the ticket's training metrics and the summary come from those full-split metrics.
// Every result says `fitnessMode: "mini-batch (non-paper)"`.
import type { ResolvedConfig } from "../core/config.ts";
import type { Split } from "../core/dataset.ts";
import { selectRows } from "../core/datasets/index.ts";
import type { AsyncBatchEvaluator, BatchEvaluator } from "../core/evaluate.ts";
import {
  bestIndividual,
  type FitnessModeLabel,
  fitnessModeLabel,
  fitnessSubsetRows,
  type GaState,
  type GenerationStats,
  gaStateToJSON,
  type Individual,
  initRun,
  initRunAsync,
  postPrune,
  pruneWalk,
  searchNeedsLoss,
  step,
  stepAsync,
  type TerminationParams,
  type TerminationReason,
  terminationReason,
  withBestLoss,
} from "../core/ga/index.ts";
import { type Mask, sparsity } from "../core/mask.ts";
import type { Network } from "../core/network.ts";
import { Rng } from "../core/rng.ts";
import { ticketToJson } from "../core/ticket.ts";
import { yieldToEventLoop } from "../io/event-loop.ts";
import { createProgress } from "../io/progress.ts";
import { createRunDir, type RunDir } from "../io/run-dir.ts";
import { softwareVersions } from "../io/versions.ts";
import { loadRunData } from "./run-data.ts";

/**
 * Makes a batch evaluator for a split. `loss: false` allows one that skips the loss (reporting NaN)
 * where only accuracies are read; an evaluator that computes it anyway is fine.
 */
export type EvaluatorFactory = (net: Network, split: Split, options?: { loss?: boolean }) => BatchEvaluator;

export interface RunOptions {
  /** where progress lines go (stderr in the CLI); none when undefined */
  readonly progress?: NodeJS.WritableStream;
  /** at most one progress line per this many ms, besides the last (default 1000; 0: every generation) */
  readonly progressIntervalMs?: number;
  readonly makeEvaluator: EvaluatorFactory;
  /** a checkpoint of the GA state is written every this many generations (default 50) */
  readonly checkpointEvery?: number;
  /** when it returns true the run stops after the current generation and still writes its ticket */
  readonly shouldStop?: () => boolean;
  /**
   * evaluates the GA's fitness off the main thread (the CLI's `--threads`: the SharedArrayBuffer worker
   * pool), made once for the full training split and closed when the GA ends; mini-batch runs do not use
   * it. Its results must equal `makeEvaluator`'s, so the run is the same either way.
   */
  readonly makeAsyncEvaluator?: AsyncEvaluatorFactory;
}

/** An evaluator on other threads: the GA's batches, and `close` when the GA is done. */
export type AsyncEvaluatorFactory = (
  net: Network,
  split: Split,
  options: { loss: boolean },
) => Promise<{ readonly batch: AsyncBatchEvaluator; close(): Promise<void> }>;

/** The `--json` line. */
export interface RunSummary {
  /** "full training split" (the papers), or "mini-batch (non-paper)" when ga.fitnessSubset is set */
  fitnessMode: FitnessModeLabel;
  /** the mini-batch subset, null for full-split fitness */
  fitnessSubset: { size: number; mode: "fixed" | "rotating" } | null;
  trainAccuracy: number;
  trainLoss: number;
  /** test accuracy of the best-on-training individual (training metrics: always on the full split) */
  testAccuracy: number;
  /** the 2024 code's "test accuracy": best test accuracy anywhere in the final population */
  bestTestAccuracyInPopulation: number;
  sparsity: number;
  prunedSparsity: number | null;
  prunedTestAccuracy: number | null;
  pruneMode: "none" | "clean" | "published";
  generations: number;
  /** the search's evaluations: what `--max-evaluations` counts */
  evaluations: number;
  /** post-evolutionary pruning's evaluations, counted apart from the search's; 0 without pruning */
  pruneEvaluations: number;
  wallSeconds: number;
  ticket: string;
  runDir: string;
  seed: number;
  stopReason: TerminationReason | "interrupted";
}

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

function writeCheckpoint(dir: RunDir, state: GaState): void {
  dir.writeJson("checkpoint.json", gaStateToJSON(state));
}

export async function runSingle(resolvedConfig: ResolvedConfig, options: RunOptions): Promise<RunSummary> {
  const started = performance.now();
  const { config, dataset, network, datasetRecord } = loadRunData(resolvedConfig);
  const subset = config.ga.fitnessSubset;
  const fitnessMode = fitnessModeLabel(subset);
  // An accuracy-fitness search never reads the loss (core/ga/loss.ts): its full-split evaluator skips
  // it, and the best of each generation gets its loss from the full-split evaluator below. (Mini-batch
  // subsets are small: their evaluators keep the loss.)
  const searchLoss = searchNeedsLoss(config.ga.fitness, config.termination.rule);
  const makePool = subset ? undefined : options.makeAsyncEvaluator;
  const gaTrain: BatchEvaluator | null =
    subset || makePool ? null : options.makeEvaluator(network, dataset.train, { loss: searchLoss });
  // The full training split with loss: the GA's own evaluator when that computes it; in mini-batch
  // mode only needed at the end (re-scoring and pruning), so it is made then.
  let fullTrain: BatchEvaluator | null = searchLoss ? gaTrain : null;
  const evaluateTrain: BatchEvaluator = (masks) => {
    fullTrain ??= options.makeEvaluator(network, dataset.train);
    return fullTrain(masks);
  };
  const lossOf = (masks: readonly Mask[]) => evaluateTrain(masks).map((m) => m.loss);
  // a no-op while the search computes losses itself (its best always has one)
  const withReportedLoss = (s: GaState): GaState => withBestLoss(s, config.ga.fitness, lossOf);
  const evaluateTest = options.makeEvaluator(network, dataset.test);
  /** the evaluator that scores generation g */
  let subsetEvaluator: { generation: number | null; evaluate: BatchEvaluator } | null = null;
  const fitnessEvaluator = (generation: number): BatchEvaluator => {
    if (!subset) return gaTrain as BatchEvaluator;
    const key = subset.mode === "fixed" ? null : generation;
    if (subsetEvaluator === null || subsetEvaluator.generation !== key) {
      const rows = fitnessSubsetRows(subset, dataset.train.n, config.seed, generation);
      subsetEvaluator = {
        generation: key,
        evaluate: options.makeEvaluator(network, selectRows(dataset.train, rows)),
      };
    }
    return subsetEvaluator.evaluate;
  };

  const dir = createRunDir(config.out, config.name, {
    startedAt: performance.timeOrigin + started,
  });
  dir.writeJson("config.json", {
    ...config,
    runDir: dir.path,
    startTime: dir.startTime,
    dataset: { ...config.dataset, resolved: datasetRecord },
    versions: softwareVersions(),
  });

  const progress = createProgress(options.progress ?? process.stderr, {
    enabled: options.progress !== undefined,
    intervalMs: options.progressIntervalMs,
    limits: config.termination,
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

  const depsFor = (generation: number) => ({ evaluate: fitnessEvaluator(generation), network });
  const stepOptions = { rescore: subset?.mode === "rotating" };
  const termination = terminationParams(config);
  dir.appendEvent({
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
  });
  if (subset && options.progress !== undefined) {
    options.progress.write(
      `slt: ${fitnessMode}: fitness on ${subset.size} of ${dataset.train.n} training rows (${subset.mode}); the reported training metrics are re-scored on the full split\n`,
    );
  }
  const gaRng = Rng.derive(config.seed, "ga");
  const checkpointEvery = options.checkpointEvery ?? 50;
  const gaPool = makePool ? await makePool(network, dataset.train, { loss: searchLoss }) : null;
  const poolDeps = gaPool ? { evaluate: gaPool.batch, network } : null;
  let state: GaState;
  let stopReason: TerminationReason | "interrupted";
  try {
    state = withReportedLoss(
      poolDeps ? await initRunAsync(config.ga, poolDeps, gaRng) : initRun(config.ga, depsFor(0), gaRng),
    );
    for (;;) {
      const last = state.history[state.history.length - 1];
      dir.appendEvent(generationEvent(last));
      report(last);
      if (state.generation > 0 && state.generation % checkpointEvery === 0) writeCheckpoint(dir, state);
      const reason = terminationReason(state.history, termination);
      if (reason !== null) {
        stopReason = reason;
        break;
      }
      // Let signals and I/O through between generations, so Ctrl-C can end the run cleanly.
      await yieldToEventLoop();
      if (options.shouldStop?.()) {
        stopReason = "interrupted";
        break;
      }
      state = withReportedLoss(
        poolDeps
          ? await stepAsync(state, poolDeps, stepOptions)
          : step(state, depsFor(state.generation + 1), stepOptions),
      );
    }
  } finally {
    await gaPool?.close();
  }
  const final = state.history[state.history.length - 1];
  report(final, true);
  writeCheckpoint(dir, state);

  const evaluations = state.evaluations;
  let population = state.population;
  if (subset) {
    // Elites re-scored on the full split: the final population's metrics on every training row.
    subsetEvaluator = null;
    const subsetBest = bestIndividual(population, fitness) as Individual;
    const full = evaluateTrain(population.map((ind) => ind.mask));
    population = population.map((ind, k) => ({ ...ind, accuracy: full[k].accuracy, loss: full[k].loss }));
    const fullBest = bestIndividual(population, fitness) as Individual;
    dir.appendEvent({
      type: "full-split-rescore",
      fitnessMode,
      individuals: population.length,
      subsetBest: { accuracy: subsetBest.accuracy, loss: subsetBest.loss, zeros: subsetBest.zeros },
      subsetBestOnFullSplit: {
        accuracy: full[state.population.indexOf(subsetBest)].accuracy,
        loss: full[state.population.indexOf(subsetBest)].loss,
      },
      best: { accuracy: fullBest.accuracy, loss: fullBest.loss, zeros: fullBest.zeros },
    });
  }
  // Best by training fitness, sparsity breaking ties: the individual the papers report.
  const best = bestIndividual(population, fitness) as Individual;
  const testMetrics = evaluateTest(population.map((ind) => ind.mask));
  const bestIndex = population.indexOf(best);
  const bestTest = testMetrics[bestIndex];
  const bestTestAccuracyInPopulation = Math.max(...testMetrics.map((m) => m.accuracy));

  let ticketMask: Mask = best.mask;
  let pruned: ReturnType<typeof postPrune> | null = null;
  if (config.prune !== "none" && stopReason !== "interrupted") {
    const accuracyOf = (ev: BatchEvaluator) => ({
      one: (m: Mask) => ev([m])[0].accuracy,
      batch: (ms: readonly Mask[]) => ev(ms).map((r) => r.accuracy),
    });
    // pruning reads accuracies only: the search's loss-free evaluator where there is one (no further
    // evaluator instances, which on large splits would cost their memory again)
    const test = accuracyOf(evaluateTest);
    const train = accuracyOf(gaTrain !== null && !searchLoss ? gaTrain : evaluateTrain);
    pruned = postPrune(config.prune, population, {
      fitness,
      test: test.one,
      testBatch: test.batch,
      train: train.one,
      trainBatch: train.batch,
      walk: pruneWalk(network, config.pruneOrder),
    });
    ticketMask = pruned.mask;
    dir.appendEvent({
      type: "prune",
      mode: pruned.mode,
      order: config.pruneOrder,
      selectedBy: pruned.selectedBy,
      prunedOn: pruned.prunedOn,
      sparsityBefore: pruned.sparsityBefore,
      sparsityAfter: pruned.sparsityAfter,
      testAccuracyBefore: pruned.testAccuracyBefore,
      testAccuracyAfter: pruned.testAccuracyAfter,
      pruneEvaluations: pruned.evaluations,
    });
  }

  const pruneEvaluations = pruned?.evaluations ?? 0;
  const [ticketTrain] =
    ticketMask === best.mask ? [{ accuracy: best.accuracy, loss: best.loss }] : evaluateTrain([ticketMask]);
  const [ticketTest] = ticketMask === best.mask ? [bestTest] : evaluateTest([ticketMask]);
  const ticketPath = dir.writeJson(
    "ticket.json",
    ticketToJson({
      network,
      mask: ticketMask,
      ...(pruned ? { evolvedMask: pruned.individual.mask } : {}),
      dataset: datasetRecord,
      pruneMode: config.prune === "none" || pruned === null ? "none" : config.prune,
      metrics: {
        // of the ticket's own mask: what `slt check` recomputes
        trainAccuracy: ticketTrain.accuracy,
        trainLoss: ticketTrain.loss,
        testAccuracy: ticketTest.accuracy,
        testLoss: ticketTest.loss,
        sparsity: sparsity(ticketMask),
        // of the evolved population
        bestOnTrainTrainAccuracy: best.accuracy,
        bestOnTrainTestAccuracy: bestTest.accuracy,
        bestTestAccuracyInPopulation,
        evolvedSparsity: sparsity(best.mask),
        selectedBy: pruned ? pruned.selectedBy : "best-training-fitness",
        prunedOn: pruned ? pruned.prunedOn : null,
        fitness,
        fitnessMode,
        ...(subset ? { fitnessSubsetSize: subset.size, fitnessSubsetMode: subset.mode } : {}),
        generations: state.generation,
        evaluations,
        pruneEvaluations,
        stopReason,
      },
    }),
  );
  const wallSeconds = (performance.now() - started) / 1000;
  dir.appendEvent({
    type: "end",
    stopReason,
    generations: state.generation,
    evaluations,
    pruneEvaluations,
    fitnessMode,
  });
  return {
    fitnessMode,
    fitnessSubset: subset ? { size: subset.size, mode: subset.mode } : null,
    trainAccuracy: best.accuracy,
    trainLoss: best.loss,
    testAccuracy: bestTest.accuracy,
    bestTestAccuracyInPopulation,
    sparsity: sparsity(best.mask),
    prunedSparsity: pruned ? pruned.sparsityAfter : null,
    prunedTestAccuracy: pruned ? pruned.testAccuracyAfter : null,
    pruneMode: pruned ? pruned.mode : "none",
    generations: state.generation,
    evaluations,
    pruneEvaluations,
    wallSeconds,
    ticket: ticketPath,
    runDir: dir.path,
    seed: config.seed,
    stopReason,
  };
}
