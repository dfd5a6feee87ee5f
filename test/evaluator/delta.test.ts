// Delta evaluation from cached parents must give exactly the reference's results for the child.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluate } from "../../src/core/evaluate.ts";
import {
  cloneMask,
  emptyMask,
  flipBit,
  fullMask,
  randomMask,
  uniformCrossover,
  withFlipped,
} from "../../src/core/mask.ts";
import { Rng } from "../../src/core/rng.ts";
import { createFastEvaluator } from "../../src/evaluator/index.ts";
import { ARCHS, expectSame, INITS, maskWithDensity, setup } from "./helpers.ts";

describe("delta evaluation", () => {
  it("one-bit mutants in every layer equal the reference (property)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ARCHS),
        fc.integer({ min: 0, max: INITS.length - 1 }),
        fc.integer({ min: 1, max: 400 }),
        fc.integer(),
        fc.constantFrom(0, 0.1, 0.5, 0.9, 1),
        (arch, init, n, seed, density) => {
          const { net, split } = setup(arch, n, seed, INITS[init]);
          // an unbounded threshold: small networks, where scoring dominates, take every delta too
          const fast = createFastEvaluator(net, split, {
            blockRows: 64,
            deltaMaxWork: Number.POSITIVE_INFINITY,
          });
          const rng = Rng.derive(seed, "mutants");
          const parent = maskWithDensity(net.genomeLength, density, rng);
          const cache = fast.parentCache(parent);
          expect(cache.cached).toBe(true);
          expectSame(cache.metrics, evaluate(net, parent, split), "parent");
          // a few bits in every weight layer
          for (const L of net.layers) {
            for (let k = 0; k < 3; k++) {
              const bit = L.offset + rng.int(L.inputs * L.outputs);
              const expected = evaluate(net, withFlipped(parent, bit), split);
              expectSame(fast.evaluateMutant(parent, cache, bit), expected, `bit ${bit}`);
            }
          }
          expect(fast.cacheStats().deltaEvaluations).toBeGreaterThan(0);
        },
      ),
      { numRuns: 30 },
    );
  });

  it("children that differ in several bits, and identical children", () => {
    for (const arch of [
      [2, 50, 50, 2],
      [64, 75, 10],
      [5, 12, 9, 7, 3],
    ]) {
      const { net, split } = setup(arch, 300, 14);
      const fast = createFastEvaluator(net, split);
      const rng = Rng.derive(14, "children");
      const parent = randomMask(net.genomeLength, rng);
      const cache = fast.parentCache(parent);
      expect(fast.evaluateChild(parent, cache, cloneMask(parent))).toEqual(cache.metrics);
      for (let k = 0; k < 6; k++) {
        // a few flips in one layer, in two layers, and a full uniform crossover
        const child = cloneMask(parent);
        const flips = 1 + rng.int(4);
        const l = rng.int(net.layers.length);
        for (let f = 0; f < flips; f++) {
          const L = net.layers[(l + f) % net.layers.length];
          flipBit(child, L.offset + rng.int(L.inputs * L.outputs));
        }
        expectSame(fast.evaluateChild(parent, cache, child), evaluate(net, child, split), `${arch} flips`);
        const crossed = uniformCrossover(parent, randomMask(net.genomeLength, rng), rng);
        expectSame(
          fast.evaluateChild(parent, cache, crossed),
          evaluate(net, crossed, split),
          `${arch} crossover`,
        );
      }
    }
  });

  it("mutants of empty and full parents, including units that become live or dead", () => {
    const { net, split } = setup([4, 6, 5, 3], 200, 31);
    const fast = createFastEvaluator(net, split);
    for (const parent of [emptyMask(net.genomeLength), fullMask(net.genomeLength)]) {
      const cache = fast.parentCache(parent);
      for (let bit = 0; bit < net.genomeLength; bit++) {
        expectSame(
          fast.evaluateMutant(parent, cache, bit),
          evaluate(net, withFlipped(parent, bit), split),
          `bit ${bit}`,
        );
      }
    }
  });

  it("an evicted parent falls back to a full evaluation; the LRU keeps the most recent", () => {
    const { net, split } = setup([2, 20, 2], 100, 3);
    // no memo: every entry owns all of its 22 columns; the budget holds two entries' columns, and the
    // pool one more mask's (the one being evaluated)
    const slotBytes = (20 + 2) * 100 * 4;
    const fast = createFastEvaluator(net, split, { cacheBytes: 2 * slotBytes, columnCacheBytes: 0 });
    // full masks with one bit off: every unit is live, so every entry owns 22 columns
    const full = fullMask(net.genomeLength);
    const [a, b, c, d] = [3, 17, 45, 79].map((bit) => withFlipped(full, bit));
    const ca = fast.parentCache(a);
    const cb = fast.parentCache(b);
    const cc = fast.parentCache(c);
    expect(fast.parentCache(a)).toBe(ca); // a hit refreshes a
    expect([ca, cb, cc].every((e) => e.cached)).toBe(true);
    fast.parentCache(d); // needs 22 columns: evicts b, the least recently used
    expect(cb.cached).toBe(false);
    expect(ca.cached && cc.cached).toBe(true);
    expect(fast.cachedParent(b)).toBeUndefined();
    expect(fast.cachedParent(a)).toBe(ca);
    const stats = fast.cacheStats();
    expect(stats.parents).toMatchObject({ slots: 2, used: 3, hits: 1, misses: 4, evictions: 1 });
    expect(stats.pool).toMatchObject({ columns: 3 * 22, used: 3 * 22 });
    for (const bit of [0, 7, 45, 79]) {
      expectSame(fast.evaluateMutant(b, cb, bit), evaluate(net, withFlipped(b, bit), split));
      expectSame(fast.evaluateMutant(a, ca, bit), evaluate(net, withFlipped(a, bit), split));
    }
    fast.clearCache();
    expect(ca.cached).toBe(false);
    expect(fast.cacheStats().pool.used).toBe(0);
    expectSame(fast.evaluateMutant(a, ca, 3), evaluate(net, withFlipped(a, 3), split));
  });

  it("with the parent cache disabled, delta calls evaluate in full", () => {
    const { net, split } = setup([2, 20, 2], 100, 4);
    const fast = createFastEvaluator(net, split, { cacheBytes: 0 });
    const parent = randomMask(net.genomeLength, Rng.derive(4, "off"));
    const cache = fast.parentCache(parent);
    expect(cache.cached).toBe(false);
    expectSame(fast.evaluateMutant(parent, cache, 11), evaluate(net, withFlipped(parent, 11), split));
    expect(fast.cacheStats().deltaEvaluations).toBe(0);
  });

  it("rejects a parent mask that does not match its cache entry, or an entry of another evaluator", () => {
    const { net, split } = setup([2, 20, 2], 50, 5);
    const fast = createFastEvaluator(net, split);
    const other = createFastEvaluator(net, split);
    const parent = randomMask(net.genomeLength, Rng.derive(5, "reject"));
    const cache = fast.parentCache(parent);
    expect(() => fast.evaluateMutant(withFlipped(parent, 0), cache, 1)).toThrow(/parentMask/);
    expect(() => fast.evaluateMutant(parent, cache, net.genomeLength)).toThrow(RangeError);
    expect(() => other.evaluateMutant(parent, { ...cache }, 1)).toThrow(TypeError);
  });
});
