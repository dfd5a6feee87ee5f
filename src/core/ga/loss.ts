// Loss on demand. A search whose fitness is accuracy never reads the loss: not in ranking, selection,
// migration policies or (unless the rule is 2025-multiclass) termination. Computing it costs an exp and
// a log per row and class — a large part of a small network's evaluation (docs/performance.md) — so
// such runs evaluate without it (the evaluator reports loss NaN) and fill in the loss only of the
// individuals that are reported: the best of each generation, emigrants and the ticket. Filled-in
// losses are those of a full evaluation, so every reported figure is what the reference evaluator gives.
import { type Mask, masksEqual } from "../mask.ts";
import { bestIndividual, type FitnessMode, type Individual } from "./individual.ts";
import type { GaState } from "./run.ts";
import type { TerminationRule } from "./termination.ts";

/** Whether the search itself reads the loss of every evaluated mask. */
export function searchNeedsLoss(fitness: FitnessMode, rule: TerminationRule): boolean {
  return fitness === "loss" || rule === "2025-multiclass";
}

/** Losses of masks, by a full evaluation (with loss) of each. */
export type LossOf = (masks: readonly Mask[]) => number[];

/**
 * `individuals` with every NaN loss filled in by `lossOf` (one call for all of them; equal masks are
 * computed once). Individuals whose loss is a number are returned unchanged.
 */
export function withLosses<T extends Individual>(individuals: readonly T[], lossOf: LossOf): T[] {
  // distinct masks with an unknown loss (hash first, then the bits: a hash can collide)
  const masks: Mask[] = [];
  const byHash = new Map<string, number[]>();
  for (const ind of individuals) {
    if (!Number.isNaN(ind.loss)) continue;
    const same = byHash.get(ind.hash) ?? [];
    if (same.some((k) => masksEqual(masks[k], ind.mask))) continue;
    same.push(masks.length);
    byHash.set(ind.hash, same);
    masks.push(ind.mask);
  }
  if (masks.length === 0) return [...individuals];
  const losses = lossOf(masks);
  if (!Array.isArray(losses) || losses.length !== masks.length)
    throw new RangeError(`lossOf returned ${losses?.length} losses for ${masks.length} masks`);
  return individuals.map((ind) => {
    if (!Number.isNaN(ind.loss)) return ind;
    const k = (byHash.get(ind.hash) as number[]).find((j) => masksEqual(masks[j], ind.mask)) as number;
    return { ...ind, loss: losses[k] };
  });
}

/**
 * The state with its best individual's loss filled in (every population member with the same mask
 * too) and the last history entry's `bestLoss` set to it. Unchanged when the loss is already known.
 */
export function withBestLoss(state: GaState, fitness: FitnessMode, lossOf: LossOf): GaState {
  const best = bestIndividual(state.population, fitness);
  if (best === undefined || !Number.isNaN(best.loss)) return state;
  const [loss] = withLosses([best], lossOf).map((ind) => ind.loss);
  const population = state.population.map((ind) =>
    Number.isNaN(ind.loss) && ind.hash === best.hash && masksEqual(ind.mask, best.mask)
      ? { ...ind, loss }
      : ind,
  );
  const history = [...state.history];
  const last = history.length - 1;
  if (last >= 0 && Number.isNaN(history[last].bestLoss)) history[last] = { ...history[last], bestLoss: loss };
  return { ...state, population, history };
}
