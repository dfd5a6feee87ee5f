// Shared fixtures for the fast-evaluator tests: seeded networks, splits and masks.
import { expect } from "vitest";
import type { Split } from "../../../src/core/dataset.ts";
import type { Metrics } from "../../../src/core/evaluate.ts";
import { emptyMask, type Mask } from "../../../src/core/mask.ts";
import { type InitScheme, initNetwork, type Layer, type Network } from "../../../src/core/network.ts";
import { Rng } from "../../../src/core/rng.ts";

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
