// Individuals and the two orderings of the GA (reference §2): parent ranking by fitness only, and
// survivor selection by fitness, then more zero bits first. Both are used with the stable
// Array.prototype.sort, so equal keys keep list order. Metric values are compared exactly (no epsilon).
import type { Metrics } from "../evaluate.ts";
import { type Mask, maskHash, zeros } from "../mask.ts";

/** "accuracy": training accuracy, maximised. "loss": mean cross-entropy on training, minimised. */
export type FitnessMode = "accuracy" | "loss";

/**
 * How an individual came to be: drawn for the initial population, a crossover child, a one-bit
 * mutant, a generator newcomer, or (for the island layer) a migrant received from a neighbour.
 */
export type Origin = "initial" | "child" | "mutant" | "newcomer" | "immigrant";

export interface Individual {
  readonly mask: Mask;
  /** maskHash(mask) */
  readonly hash: string;
  /** training accuracy */
  readonly accuracy: number;
  /** training mean cross-entropy */
  readonly loss: number;
  /** number of zero (pruned) bits */
  readonly zeros: number;
  readonly origin: Origin;
  /** generation in which it was made (0 = initial population) */
  readonly born: number;
}

export function makeIndividual(mask: Mask, metrics: Metrics, origin: Origin, born: number): Individual {
  return {
    mask,
    hash: maskHash(mask),
    accuracy: metrics.accuracy,
    loss: metrics.loss,
    zeros: zeros(mask),
    origin,
    born,
  };
}

/** The fitness value in its natural unit (accuracy or loss). */
export function fitnessOf(
  ind: { readonly accuracy: number; readonly loss: number },
  mode: FitnessMode,
): number {
  return mode === "accuracy" ? ind.accuracy : ind.loss;
}

/**
 * A number where larger is better: accuracy, or the negated loss (negation is exact). NaN ranks
 * below everything so that a broken evaluation can never win and the order stays consistent.
 */
export function fitnessKey(
  ind: { readonly accuracy: number; readonly loss: number },
  mode: FitnessMode,
): number {
  const k = mode === "accuracy" ? ind.accuracy : -ind.loss;
  return Number.isNaN(k) ? Number.NEGATIVE_INFINITY : k;
}

/** True if fitness value a is strictly better than b under mode (exact comparison). */
export function isBetterFitness(a: number, b: number, mode: FitnessMode): boolean {
  const ka = Number.isNaN(a) ? Number.NEGATIVE_INFINITY : mode === "accuracy" ? a : -a;
  const kb = Number.isNaN(b) ? Number.NEGATIVE_INFINITY : mode === "accuracy" ? b : -b;
  return ka > kb;
}

type Ranked = { readonly accuracy: number; readonly loss: number; readonly zeros: number };

/** Parent ranking order: better fitness first; equal fitness compares 0 (stable sort keeps list order). */
export function compareFitness(mode: FitnessMode): (a: Ranked, b: Ranked) => number {
  return (a, b) => {
    const ka = fitnessKey(a, mode);
    const kb = fitnessKey(b, mode);
    return ka > kb ? -1 : ka < kb ? 1 : 0;
  };
}

/** Survivor order: better fitness first, then more zero bits (sparser) first, then list order. */
export function compareSurvivors(mode: FitnessMode): (a: Ranked, b: Ranked) => number {
  const byFitness = compareFitness(mode);
  return (a, b) => byFitness(a, b) || b.zeros - a.zeros;
}

/** §2.1: a new array sorted by fitness only, stable. */
export function rankParents<T extends Ranked>(population: readonly T[], mode: FitnessMode): T[] {
  return [...population].sort(compareFitness(mode));
}

/** §2.5: sort everything by fitness then zeros (stable, list order breaks remaining ties); keep the first n. */
export function selectSurvivors<T extends Ranked>(
  candidates: readonly T[],
  n: number,
  mode: FitnessMode,
): T[] {
  return [...candidates].sort(compareSurvivors(mode)).slice(0, n);
}

/** The best individual in survivor order (first of equals); undefined for an empty population. */
export function bestIndividual<T extends Ranked>(population: readonly T[], mode: FitnessMode): T | undefined {
  const cmp = compareSurvivors(mode);
  let best: T | undefined;
  for (const ind of population) if (best === undefined || cmp(ind, best) < 0) best = ind;
  return best;
}
