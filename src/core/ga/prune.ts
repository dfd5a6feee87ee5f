// Post-evolutionary pruning (reference §5): record q0 = accuracy of the mask, then walk the genome once
// in ascending order; for every kept bit, drop it and re-evaluate; keep the drop unless the accuracy is
// below q0 (always the initial value, never a running one). A NaN accuracy counts as below q0.
// "Ascending" is in the reference's genome, whose weight matrices are [in][out] per layer (bit =
// offset + i·out + j); ours are [out][in]. The walk order is therefore a parameter: "reference" visits
// our bits in the reference's order (the default; pruned tickets then match its walk), "genome" in our
// genome's ascending order.
//
// Cost: one evaluation per kept bit. An optional batch hook evaluates several candidates per call by
// speculation, with exactly the sequential semantics: the batch assumes every decision equals the last
// one seen (all drops kept → each candidate drops one more bit; all rejected → each drops one bit from
// the current mask); at the first decision that differs, the rest of the batch is discarded. Every
// decision is made on exactly the mask the sequential walk would evaluate, so results are identical;
// discarded speculative evaluations are still counted in `evaluations`. The accuracy functions must
// be deterministic.

import { cloneMask, getBit, keptIndices, type Mask, withFlipped, zeros } from "../mask.ts";
import type { NetworkShape } from "./connectivity.ts";
import type { FitnessMode, Individual } from "./individual.ts";
import { bestIndividual } from "./individual.ts";

export type AccuracyFn = (mask: Mask) => number;
export type AccuracyBatchFn = (masks: readonly Mask[]) => number[];

export type PruneOrder = "reference" | "genome";
export const PRUNE_ORDERS: readonly PruneOrder[] = ["reference", "genome"];

/**
 * Every genome bit in walk order. "reference": layer by layer, for each input i, for each output j (the
 * reference's ascending [in][out] order); "genome": 0, 1, 2, … (our [out][in] layout).
 */
export function pruneWalk(net: NetworkShape, order: PruneOrder): number[] {
  if (order === "genome") return Array.from({ length: net.genomeLength }, (_, k) => k);
  if (order !== "reference") throw new RangeError(`unknown prune order ${JSON.stringify(order)}`);
  const walk: number[] = [];
  for (const L of net.layers)
    for (let i = 0; i < L.inputs; i++)
      for (let j = 0; j < L.outputs; j++) walk.push(L.offset + j * L.inputs + i);
  return walk;
}

export interface PruneOptions {
  /** the bits to visit, in order (pruneWalk); default ascending genome order */
  readonly walk?: readonly number[];
  /** evaluates many masks at once; when given, every evaluation goes through it */
  readonly batch?: AccuracyBatchFn;
  /** candidates per batch call (default 64) */
  readonly batchSize?: number;
}

export interface PruneResult {
  readonly mask: Mask;
  /** accuracy of the input mask, the threshold of every decision */
  readonly q0: number;
  /** accuracy of the returned mask (no extra evaluation: it is the last kept drop's, or q0) */
  readonly accuracy: number;
  /** evaluations made, including q0 and discarded speculative ones */
  readonly evaluations: number;
  /** kept bits of the input mask, i.e. decisions made */
  readonly decisions: number;
  /** bits dropped */
  readonly dropped: number;
}

function checkBatch(r: unknown, n: number): number[] {
  if (!Array.isArray(r) || r.length !== n) {
    throw new RangeError(
      `accuracy batch returned ${Array.isArray(r) ? r.length : typeof r} results for ${n} masks`,
    );
  }
  return r;
}

export function pruneMask(mask: Mask, accuracy: AccuracyFn, options: PruneOptions = {}): PruneResult {
  const indices = options.walk ? options.walk.filter((i) => getBit(mask, i)) : keptIndices(mask);
  const { batch } = options;
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const q0 = batch ? checkBatch(batch([mask]), 1)[0] : accuracy(mask);
  let evaluations = 1;
  let current = cloneMask(mask);
  let currentAccuracy = q0;
  let dropped = 0;
  const keep = (a: number) => a >= q0;

  if (!batch) {
    for (const i of indices) {
      const candidate = withFlipped(current, i);
      const a = accuracy(candidate);
      evaluations++;
      if (keep(a)) {
        current = candidate;
        currentAccuracy = a;
        dropped++;
      }
    }
  } else {
    let pos = 0;
    let assumeKeep = true;
    while (pos < indices.length) {
      const n = Math.min(batchSize, indices.length - pos);
      const candidates: Mask[] = [];
      let chain = current;
      for (let j = 0; j < n; j++) {
        const c = withFlipped(assumeKeep ? chain : current, indices[pos + j]);
        candidates.push(c);
        chain = c;
      }
      const accs = checkBatch(batch(candidates), n);
      evaluations += n;
      for (let j = 0; j < n; j++) {
        const decision = keep(accs[j]);
        if (decision) {
          current = candidates[j];
          currentAccuracy = accs[j];
          dropped++;
        }
        pos++;
        if (decision !== assumeKeep) {
          assumeKeep = decision;
          break;
        }
      }
    }
  }
  return { mask: current, q0, accuracy: currentAccuracy, evaluations, decisions: indices.length, dropped };
}

/**
 * "published": as in the 2025 paper — the individual with the best TEST accuracy in the final population
 *   is chosen and pruned against the test split (the reported test accuracy is optimistic).
 * "clean": the best-on-training individual (survivor order) is pruned against the training split (or a
 *   held-out validation split passed as `train`); the test split is only used to report.
 */
export type PruneMode = "published" | "clean";

export interface PostPruneDeps {
  /** fitness mode of the run; "clean" picks the best individual by it */
  readonly fitness: FitnessMode;
  /** accuracy on the test split */
  readonly test: AccuracyFn;
  readonly testBatch?: AccuracyBatchFn;
  /** accuracy on the split "clean" prunes against: training, or a validation split */
  readonly train: AccuracyFn;
  readonly trainBatch?: AccuracyBatchFn;
  /** name recorded for the clean mode's pruning split (default "train") */
  readonly trainSplitName?: string;
  readonly batchSize?: number;
  /** the bits to visit, in order: pruneWalk(network, order) */
  readonly walk: readonly number[];
}

export interface PostPruneResult {
  readonly mode: PruneMode;
  readonly selectedBy: "best-test-accuracy" | "best-training-fitness";
  /** the split every pruning decision used */
  readonly prunedOn: string;
  /** position of the chosen individual in the population given */
  readonly index: number;
  readonly individual: Individual;
  readonly prune: PruneResult;
  readonly mask: Mask;
  readonly sparsityBefore: number;
  readonly sparsityAfter: number;
  readonly testAccuracyBefore: number;
  readonly testAccuracyAfter: number;
  /** every evaluation made here: selection, pruning, reporting */
  readonly evaluations: number;
}

function sparsityOf(m: Mask): number {
  return m.length === 0 ? 0 : zeros(m) / m.length;
}

export function postPrune(
  mode: PruneMode,
  population: readonly Individual[],
  deps: PostPruneDeps,
): PostPruneResult {
  if (population.length === 0) throw new RangeError("cannot prune from an empty population");
  const options = (b: AccuracyBatchFn | undefined): PruneOptions =>
    b
      ? { walk: deps.walk, batch: b, ...(deps.batchSize !== undefined ? { batchSize: deps.batchSize } : {}) }
      : { walk: deps.walk };
  if (mode === "published") {
    const masks = population.map((ind) => ind.mask);
    const accs = deps.testBatch
      ? checkBatch(deps.testBatch(masks), masks.length)
      : masks.map((m) => deps.test(m));
    let index = 0;
    for (let k = 1; k < accs.length; k++)
      if (accs[k] > accs[index] || (Number.isNaN(accs[index]) && !Number.isNaN(accs[k]))) index = k;
    const individual = population[index];
    const prune = pruneMask(individual.mask, deps.test, options(deps.testBatch));
    return {
      mode,
      selectedBy: "best-test-accuracy",
      prunedOn: "test",
      index,
      individual,
      prune,
      mask: prune.mask,
      sparsityBefore: sparsityOf(individual.mask),
      sparsityAfter: sparsityOf(prune.mask),
      testAccuracyBefore: accs[index],
      testAccuracyAfter: prune.accuracy,
      evaluations: population.length + prune.evaluations,
    };
  }
  if (mode === "clean") {
    const individual = bestIndividual(population, deps.fitness) as Individual;
    const index = population.indexOf(individual);
    const prune = pruneMask(individual.mask, deps.train, options(deps.trainBatch));
    const testAccuracyBefore = deps.test(individual.mask);
    const testAccuracyAfter = deps.test(prune.mask);
    return {
      mode,
      selectedBy: "best-training-fitness",
      prunedOn: deps.trainSplitName ?? "train",
      index,
      individual,
      prune,
      mask: prune.mask,
      sparsityBefore: sparsityOf(individual.mask),
      sparsityAfter: sparsityOf(prune.mask),
      testAccuracyBefore,
      testAccuracyAfter,
      evaluations: prune.evaluations + 2,
    };
  }
  throw new RangeError(`unknown prune mode ${JSON.stringify(mode)}`);
}
