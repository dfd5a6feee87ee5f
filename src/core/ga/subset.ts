// Mini-batch fitness: a NON-PAPER mode. The papers score every individual on the whole training split;
// here the GA may score on a seeded subset of it instead, to scale to large datasets such as MNIST.
//
// - "fixed": one subset, drawn once from (run seed), for the whole run. The evaluator is then a
//   deterministic function of the mask, so the GA's fitness cache stays valid as it is.
// - "rotating": a new subset every generation, drawn from (run seed, generation), so a seed still gives
//   the same run. Stored fitness goes stale when the subset changes, so every generation re-scores the
//   whole population on that generation's subset before parent ranking (`step(…, { rescore: true })`);
//   children, mutants and newcomers are then scored on the same subset, and the fitness cache only ever
//   compares metrics of one generation's subset (it is built from the re-scored population).
// - Either way, the reported results are "elites re-scored on the full split": the final population is
//   re-evaluated on the whole training split, the best individual is chosen on those metrics, and the
//   ticket's and summary's training metrics are full-split ones (src/coordinator/single-population.ts).
import { sampleRows } from "../datasets/subset.ts";
import { Rng } from "../rng.ts";

export type FitnessSubsetMode = "fixed" | "rotating";
export const FITNESS_SUBSET_MODES: readonly FitnessSubsetMode[] = ["fixed", "rotating"];

export interface FitnessSubset {
  /** training rows per subset, 1 … the training split's rows */
  readonly size: number;
  readonly mode: FitnessSubsetMode;
}

/** How a run's fitness is computed, as results report it. */
export const FITNESS_MODE_FULL = "full training split";
export const FITNESS_MODE_MINI_BATCH = "mini-batch (non-paper)";
export type FitnessModeLabel = typeof FITNESS_MODE_FULL | typeof FITNESS_MODE_MINI_BATCH;

export function fitnessModeLabel(subset: FitnessSubset | undefined | null): FitnessModeLabel {
  return subset ? FITNESS_MODE_MINI_BATCH : FITNESS_MODE_FULL;
}

/**
 * The training rows that score generation `generation` (ascending): in "fixed" mode the same rows for
 * every generation, in "rotating" mode fresh rows per generation. Seeded by the run seed only.
 */
export function fitnessSubsetRows(
  subset: FitnessSubset,
  trainRows: number,
  seed: number,
  generation: number,
): Int32Array {
  if (!Number.isInteger(generation) || generation < 0) {
    throw new RangeError(`fitnessSubsetRows: generation must be a whole number, got ${generation}`);
  }
  if (subset.mode !== "fixed" && subset.mode !== "rotating") {
    throw new RangeError(
      `fitness subset mode must be one of ${FITNESS_SUBSET_MODES.join(", ")}, got ${JSON.stringify(subset.mode)}`,
    );
  }
  const rng =
    subset.mode === "fixed"
      ? Rng.derive(seed, "fitness-subset", "fixed")
      : Rng.derive(seed, "fitness-subset", "rotating", generation);
  return sampleRows(trainRows, subset.size, rng);
}
