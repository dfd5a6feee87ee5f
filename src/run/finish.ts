// The end of every run, one population or islands: from the candidate individuals (the final population,
// or each island's best) pick the best by training fitness, sparsity breaking ties and ties between
// islands going to the lower id; check again, on the training split, the metrics of a best that another
// process measured (a false claim drops that candidate with a `candidate-refused` event and the next best
// is taken); evaluate the genuine candidates on the test split; post-prune unless the run was
// interrupted; write ticket.json, the `prune` and `end` events; and return the summary (the `--json` line).
import { E_CLUSTER, SltError } from "../core/errors.ts";
import type { BatchEvaluator } from "../core/evaluate.ts";
import {
  bestIndividual,
  type FitnessModeLabel,
  fitnessModeLabel,
  type Individual,
  postPrune,
  pruneWalk,
  type TerminationReason,
} from "../core/ga/index.ts";
import { type Mask, sparsity } from "../core/mask.ts";
import { type TicketMetrics, ticketToJson } from "../core/ticket.ts";
import type { PreparedRun } from "./prepare.ts";

/** The `--json` line of a run; the island cluster's summary extends it. */
export interface RunSummary<R extends string = TerminationReason | "interrupted"> {
  /** "full training split" (the papers), or "mini-batch (non-paper)" when ga.fitnessSubset is set */
  fitnessMode: FitnessModeLabel;
  /** the mini-batch subset, null for full-split fitness */
  fitnessSubset: { size: number; mode: "fixed" | "rotating" } | null;
  trainAccuracy: number;
  trainLoss: number;
  /** test accuracy of the best-on-training individual (training metrics: always on the full split) */
  testAccuracy: number;
  /** the 2024 code's "test accuracy": best test accuracy among the candidates (the final population, or the islands' bests) */
  bestTestAccuracyInPopulation: number;
  sparsity: number;
  prunedSparsity: number | null;
  prunedTestAccuracy: number | null;
  pruneMode: "none" | "clean" | "published";
  /** the most generations run (by any island) */
  generations: number;
  /** the search's evaluations (all islands'): what `--max-evaluations` counts */
  evaluations: number;
  /** post-evolutionary pruning's evaluations, counted apart from the search's; 0 without pruning */
  pruneEvaluations: number;
  wallSeconds: number;
  ticket: string;
  runDir: string;
  seed: number;
  stopReason: R;
}

export interface Candidate {
  readonly individual: Individual;
  /** the island that measured it (its training metrics are checked again here); null: this process */
  readonly island: number | null;
}

export interface FinishInput<R extends string, C extends Candidate = Candidate> {
  readonly run: PreparedRun;
  readonly candidates: readonly C[];
  readonly stopReason: R;
  readonly generations: number;
  readonly evaluations: number;
  readonly evaluators: {
    /** the full training split, with losses */
    readonly train: BatchEvaluator;
    readonly test: BatchEvaluator;
    /** pruning reads training accuracies only: an evaluator that may skip the loss (default `train`) */
    readonly pruneTrain?: BatchEvaluator;
  };
  /** where the `prune` and `end` events go (default: the run directory's events.jsonl) */
  readonly event?: (e: Record<string, unknown>) => void;
  /** fields only this mode has, for the ticket's metrics and the `end` event, given the winner */
  readonly extra?: (best: C) => {
    readonly ticket?: TicketMetrics;
    readonly end?: Record<string, unknown>;
  };
}

export interface Finished<R extends string, C extends Candidate = Candidate> {
  readonly summary: RunSummary<R>;
  /** the candidate whose individual became (or was pruned into) the ticket */
  readonly best: C;
}

type Pruned = ReturnType<typeof postPrune>;

const accuracyOf = (ev: BatchEvaluator) => ({
  one: (m: Mask) => ev([m])[0].accuracy,
  batch: (ms: readonly Mask[]) => ev(ms).map((r) => r.accuracy),
});

/** The best candidate; candidates of islands in id order first, so that ties go to the lower id. */
export function pickBest<C extends Candidate>(candidates: readonly C[], fitness: "accuracy" | "loss"): C {
  // a stable sort: a population (no island) keeps its order
  const ordered = [...candidates].sort((a, b) => (a.island ?? -1) - (b.island ?? -1));
  const best = bestIndividual(
    ordered.map((c) => c.individual),
    fitness,
  );
  if (best === undefined) throw new RangeError("a run ends with at least one candidate");
  return ordered[ordered.findIndex((c) => c.individual === best)];
}

/**
 * Another process's figures are checked here, where nothing can be forged: the metrics `best` has on
 * the training split when they differ from what its island claimed, or null when they agree.
 */
function recheck(best: Candidate, train: BatchEvaluator): { accuracy: number; loss: number } | null {
  if (best.island === null) return null;
  const ind = best.individual;
  const [again] = train([ind.mask]);
  return again.accuracy === ind.accuracy && again.loss === ind.loss
    ? null
    : { accuracy: again.accuracy, loss: again.loss };
}

/**
 * The best candidate whose claimed metrics are its own, and the genuine candidates: a candidate whose
 * island claimed other metrics than it has is dropped with a `candidate-refused` event and the next best
 * taken; only when none is genuine does the run fail.
 */
export function bestGenuine<C extends Candidate>(
  candidates: readonly C[],
  fitness: "accuracy" | "loss",
  train: BatchEvaluator,
  event: (e: Record<string, unknown>) => void,
): { best: C; genuine: C[] } {
  let genuine = [...candidates];
  while (genuine.length > 0) {
    const best = pickBest(genuine, fitness);
    const actual = recheck(best, train);
    if (actual === null) return { best, genuine };
    const { accuracy, loss } = best.individual;
    event({ type: "candidate-refused", island: best.island, claimed: { accuracy, loss }, actual });
    genuine = genuine.filter((c) => c !== best);
  }
  throw new SltError(
    E_CLUSTER,
    `none of the ${candidates.length} candidates is genuine: each island's claimed training metrics differ from its mask's (see the candidate-refused events)`,
  );
}

function prune<R extends string, C extends Candidate>(
  input: FinishInput<R, C>,
  individuals: readonly Individual[],
): Pruned | null {
  const { config, network } = input.run;
  if (config.prune === "none" || input.stopReason === "interrupted") return null;
  const test = accuracyOf(input.evaluators.test);
  const train = accuracyOf(input.evaluators.pruneTrain ?? input.evaluators.train);
  const pruned = postPrune(config.prune, individuals, {
    fitness: config.ga.fitness,
    test: test.one,
    testBatch: test.batch,
    train: train.one,
    trainBatch: train.batch,
    walk: pruneWalk(network, config.pruneOrder),
  });
  (input.event ?? input.run.dir.appendEvent)({
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
  return pruned;
}

export function finishRun<R extends string, C extends Candidate>(input: FinishInput<R, C>): Finished<R, C> {
  const { run, evaluators } = input;
  const { config, network, datasetRecord, dir } = run;
  const event = input.event ?? dir.appendEvent;
  const fitness = config.ga.fitness;
  const subset = config.ga.fitnessSubset;
  const fitnessMode = fitnessModeLabel(subset);
  const { best, genuine } = bestGenuine(input.candidates, fitness, evaluators.train, event);
  const ind = best.individual;
  const individuals = genuine.map((c) => c.individual);
  const testMetrics = evaluators.test(individuals.map((c) => c.mask));
  const bestTest = testMetrics[individuals.indexOf(ind)];
  const bestTestAccuracyInPopulation = Math.max(...testMetrics.map((m) => m.accuracy));
  const pruned = prune(input, individuals);
  const ticketMask = pruned?.mask ?? ind.mask;
  const pruneEvaluations = pruned?.evaluations ?? 0;
  const [ticketTrain] =
    ticketMask === ind.mask ? [{ accuracy: ind.accuracy, loss: ind.loss }] : evaluators.train([ticketMask]);
  const [ticketTest] = ticketMask === ind.mask ? [bestTest] : evaluators.test([ticketMask]);
  const extra = input.extra?.(best) ?? {};
  const common = {
    generations: input.generations,
    evaluations: input.evaluations,
    pruneEvaluations,
    stopReason: input.stopReason,
  };
  const ticket = dir.writeJson(
    "ticket.json",
    ticketToJson({
      network,
      mask: ticketMask,
      ...(pruned ? { evolvedMask: pruned.individual.mask } : {}),
      dataset: datasetRecord,
      pruneMode: pruned === null ? "none" : pruned.mode,
      metrics: {
        // of the ticket's own mask: what `slt check` recomputes
        trainAccuracy: ticketTrain.accuracy,
        trainLoss: ticketTrain.loss,
        testAccuracy: ticketTest.accuracy,
        testLoss: ticketTest.loss,
        sparsity: sparsity(ticketMask),
        // of the evolved candidates
        bestOnTrainTrainAccuracy: ind.accuracy,
        bestOnTrainTestAccuracy: bestTest.accuracy,
        bestTestAccuracyInPopulation,
        evolvedSparsity: sparsity(ind.mask),
        selectedBy: pruned ? pruned.selectedBy : "best-training-fitness",
        prunedOn: pruned ? pruned.prunedOn : null,
        fitness,
        fitnessMode,
        ...(subset ? { fitnessSubsetSize: subset.size, fitnessSubsetMode: subset.mode } : {}),
        ...common,
        ...extra.ticket,
      },
    }),
  );
  const wallSeconds = (performance.now() - run.started) / 1000;
  event({ type: "end", ...common, fitnessMode, ...extra.end });
  const summary: RunSummary<R> = {
    fitnessMode,
    fitnessSubset: subset ? { size: subset.size, mode: subset.mode } : null,
    trainAccuracy: ind.accuracy,
    trainLoss: ind.loss,
    testAccuracy: bestTest.accuracy,
    bestTestAccuracyInPopulation,
    sparsity: sparsity(ind.mask),
    prunedSparsity: pruned ? pruned.sparsityAfter : null,
    prunedTestAccuracy: pruned ? pruned.testAccuracyAfter : null,
    pruneMode: pruned ? pruned.mode : "none",
    generations: input.generations,
    evaluations: input.evaluations,
    pruneEvaluations,
    wallSeconds,
    ticket,
    runDir: dir.path,
    seed: config.seed,
    stopReason: input.stopReason,
  };
  return { summary, best };
}
