// Shared fixtures for the fast-evaluator tests: seeded networks, splits and masks.
import { expect } from "vitest";
import type { Split } from "../../src/core/dataset.ts";
import type { Metrics } from "../../src/core/evaluate.ts";
import {
  cloneMask,
  emptyMask,
  flipBit,
  type Mask,
  uniformCrossover,
  withFlipped,
} from "../../src/core/mask.ts";
import { type InitScheme, initNetwork, type Layer, type Network } from "../../src/core/network.ts";
import { Rng } from "../../src/core/rng.ts";

export const INITS: readonly InitScheme[] = [
  { kind: "uniform", range: 1 },
  { kind: "uniform", range: 2.5 },
  { kind: "kaiming-normal", prunedFraction: 0.5 },
  { kind: "signed-constant", prunedFraction: 0.5 },
];

/** n rows of normal or paper-like uniform inputs and uniform labels, from one seeded stream. */
export function randomSplit(n: number, features: number, classes: number, seed: number | string): Split {
  const rng = Rng.derive(seed, "evaluator-test-split");
  const wide = rng.chance(0.5);
  const x = new Float32Array(n * features);
  for (let i = 0; i < x.length; i++) x[i] = wide ? rng.normal(0, 1) : rng.uniform(-0.7, 0.7);
  const y = new Int32Array(n);
  for (let r = 0; r < n; r++) y[r] = rng.int(classes);
  return { n, features, x, y };
}

export function setup(
  arch: readonly number[],
  n: number,
  seed: number,
  init: InitScheme = INITS[0],
): { net: Network; split: Split } {
  const net = initNetwork(arch, init, seed);
  return { net, split: randomSplit(n, arch[0], arch[arch.length - 1], seed) };
}

/** A copy of net with some layers' arrays replaced. */
export function withLayers(net: Network, edit: (layer: Layer, l: number) => Partial<Layer>): Network {
  return { ...net, layers: net.layers.map((L, l) => ({ ...L, ...edit(L, l) })) };
}

/** Clears (or sets) every bit of the given rows of weight layer l. */
export function setRows(net: Network, mask: Mask, l: number, rows: Iterable<number>, value: boolean): Mask {
  const L = net.layers[l];
  for (const o of rows) {
    for (let i = 0; i < L.inputs; i++) {
      const g = L.offset + o * L.inputs + i;
      if (value) mask.words[g >>> 5] |= 1 << (g & 31);
      else mask.words[g >>> 5] &= ~(1 << (g & 31));
    }
  }
  return mask;
}

/** Clears every bit of weight layer l. */
export function clearLayer(net: Network, mask: Mask, l: number): Mask {
  const L = net.layers[l];
  return setRows(
    net,
    mask,
    l,
    Array.from({ length: L.outputs }, (_, o) => o),
    false,
  );
}

/** A mask with bits set independently with probability p (exact 0 and 1 give empty and full masks). */
export function maskWithDensity(length: number, p: number, rng: Rng): Mask {
  const m = emptyMask(length);
  for (let i = 0; i < length; i++) if (p >= 1 || rng.next() < p) m.words[i >>> 5] |= 1 << (i & 31);
  return m;
}

/** Bit-identical metrics: accuracy exactly, loss exactly (Object.is, so NaN equals NaN). */
export function expectSame(actual: Metrics, expected: Metrics, what = ""): void {
  expect(actual.accuracy, `${what} accuracy`).toBe(expected.accuracy);
  expect(Object.is(actual.loss, expected.loss), `${what} loss ${actual.loss} vs ${expected.loss}`).toBe(true);
}

/**
 * Batches as the GA makes them, without needing fitness: a random initial population, then per
 * generation uniform-crossover children of population members (mates drawn from the first third, as
 * the GA's elite pool), one-bit mutants of members and of this generation's children (after them, as
 * in the GA's batch), a few multi-bit mutants, and fresh random newcomers; survivors are drawn at
 * random from the old population and the batch. Parents drift together over the generations because
 * the population is refilled from offspring. Deterministic in `seed`.
 */
export function gaBatches(
  length: number,
  seed: number | string,
  { population = 12, generations = 5, newcomers = 2 } = {},
): Mask[][] {
  const rng = Rng.derive(seed, "ga-batches");
  let pop: Mask[] = Array.from({ length: population }, () => maskWithDensity(length, rng.next(), rng));
  const batches: Mask[][] = [pop.map(cloneMask)];
  for (let g = 0; g < generations; g++) {
    const elite = Math.max(1, Math.floor(pop.length / 3));
    const children: Mask[] = [];
    for (const p of pop) if (rng.chance(0.4)) children.push(uniformCrossover(p, pop[rng.int(elite)], rng));
    const mutants: Mask[] = [];
    for (const m of [...pop, ...children]) {
      if (length > 0 && rng.chance(0.3)) mutants.push(withFlipped(m, rng.int(length)));
    }
    for (let k = 0; k < 2 && length > 0; k++) {
      const m = cloneMask(pop[rng.int(pop.length)]);
      const flips = 2 + rng.int(Math.max(1, Math.ceil(length / 50)));
      for (let f = 0; f < flips; f++) flipBit(m, rng.int(length));
      mutants.push(m);
    }
    const fresh = Array.from({ length: newcomers }, () => maskWithDensity(length, rng.next(), rng));
    const batch = [...children, ...mutants, ...fresh];
    batches.push(batch);
    const all = [...pop, ...batch];
    pop = Array.from({ length: population }, () => all[rng.int(all.length)]);
  }
  return batches;
}

/** Architectures every kernel test covers: the papers' shapes, a deeper and a wider one, edge cases. */
export const ARCHS = [
  [2, 20, 2],
  [2, 75, 2],
  [2, 50, 50, 2],
  [64, 75, 10],
  [5, 12, 9, 7, 3],
  [3, 4],
  [2, 1, 2],
] as const;
