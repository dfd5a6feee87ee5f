// Nearest-parent delta evaluation in the batch path (evaluateBatch / batch / evaluateNearest): every
// mask of GA-like batch sequences must get exactly the reference evaluator's metrics, with delta on and
// off, with tiny cache budgets that force evictions, on deep and multi-class networks; and the delta
// path must actually be taken (so these tests fail if it goes dead).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluate } from "../../src/core/evaluate.ts";
import { cloneMask, flipBit, type Mask, randomMask, withFlipped } from "../../src/core/mask.ts";
import { initNetwork } from "../../src/core/network.ts";
import { Rng } from "../../src/core/rng.ts";
import {
  createFastEvaluator,
  evaluatorOptionsFromEnv,
  type FastEvaluatorOptions,
} from "../../src/evaluator/index.ts";
import {
  expectSame,
  gaBatches,
  INITS,
  randomSplit,
  setRows,
  setup,
  ARCHS as TEST_ARCHS,
  withLayers,
} from "./helpers.ts";

const ARCHS = [...TEST_ARCHS, [6, 10, 4]] as const;

/** Column bytes of a split of n rows. */
const column = (n: number) => 4 * n;

function checkSequence(
  arch: readonly number[],
  n: number,
  seed: number,
  options: FastEvaluatorOptions,
  init = INITS[0],
  shape: Parameters<typeof gaBatches>[2] = {},
) {
  const { net, split } = setup(arch, n, seed, init);
  const fast = createFastEvaluator(net, split, options);
  const batches = gaBatches(net.genomeLength, seed, shape);
  batches.forEach((batch, g) => {
    const got = fast.evaluateBatch(batch);
    expect(got).toHaveLength(batch.length);
    batch.forEach((m, k) => {
      expectSame(got[k], evaluate(net, m, split), `${arch} generation ${g} mask ${k}`);
    });
  });
  return fast;
}

describe("nearest-parent delta evaluation equals the reference", () => {
  it("on GA-like batch sequences over random networks, budgets and thresholds (property)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ARCHS),
        fc.integer({ min: 0, max: INITS.length - 1 }),
        fc.integer({ min: 1, max: 160 }),
        fc.integer(),
        // cache budget in columns: tiny (constant eviction) to roomy
        fc.constantFrom(1, 3, 8, 40, 4000),
        fc.constantFrom(0.9, Number.POSITIVE_INFINITY),
        fc.constantFrom(1, 4, 64),
        fc.constantFrom(512, 16),
        fc.constantFrom(0, 1 << 20),
        (arch, init, n, seed, cols, deltaMaxWork, deltaSearch, blockRows, columnCacheBytes) => {
          const fast = checkSequence(
            arch,
            n,
            seed,
            { cacheBytes: cols * column(n), deltaMaxWork, deltaSearch, blockRows, columnCacheBytes },
            INITS[init],
            { population: 8, generations: 4 },
          );
          expect(fast.delta).toBe(true);
          // a mutant of the mask evaluated last is one bit from the most recent entry: with an
          // unbounded threshold it must go through the delta path, whatever the budget
          const last = gaBatches(fast.net.genomeLength, seed, { population: 8, generations: 4 })
            .at(-1)
            ?.at(-1);
          if (last !== undefined && last.length > 0) {
            const reused = () => fast.cacheStats().nearest.delta + fast.cacheStats().nearest.exact;
            const before = reused();
            const mutant = withFlipped(last, Math.abs(seed) % last.length);
            expectSame(fast.evaluateNearest(mutant), evaluate(fast.net, mutant, fast.split), "last mutant");
            // (tiny genomes may have evaluated the mutant already: an exact hit)
            if (deltaMaxWork === Number.POSITIVE_INFINITY) expect(reused()).toBe(before + 1);
          }
          const s = fast.cacheStats();
          expect(s.pool.used).toBeLessThanOrEqual(s.pool.columns);
          expect(s.parents.used).toBeLessThanOrEqual(s.parents.maxEntries);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("with the default options on the benchmark shapes, deep and multi-class, delta is taken", () => {
    for (const arch of [
      [2, 75, 2],
      [2, 50, 50, 2],
      [64, 75, 10],
      [5, 12, 9, 7, 3],
    ]) {
      const fast = checkSequence(arch, 300, 41, {}, INITS[0], { population: 16, generations: 6 });
      const s = fast.cacheStats();
      expect(s.deltaEvaluations, `${arch}`).toBeGreaterThan(0);
      expect(s.nearest.delta, `${arch}`).toBeGreaterThan(0);
      expect(s.nearest.delta + s.nearest.full + s.nearest.exact).toBe(
        gaBatches(fast.net.genomeLength, 41, { population: 16, generations: 6 }).flat().length,
      );
    }
  });

  it("delta off: the same results, nothing cached, no delta", () => {
    const { net, split } = setup([2, 50, 50, 2], 200, 42);
    const on = createFastEvaluator(net, split, { deltaMaxWork: Number.POSITIVE_INFINITY });
    const off = createFastEvaluator(net, split, { delta: false });
    expect(off.delta).toBe(false);
    for (const batch of gaBatches(net.genomeLength, 42)) {
      const a = on.batch(batch);
      const b = off.batch(batch);
      batch.forEach((m, k) => {
        expectSame(a[k], evaluate(net, m, split));
        expectSame(b[k], a[k]);
      });
    }
    expect(on.cacheStats().deltaEvaluations).toBeGreaterThan(0);
    const s = off.cacheStats();
    expect(s.deltaEvaluations).toBe(0);
    expect(s.parents.used).toBe(0);
    expect(s.nearest).toMatchObject({ exact: 0, delta: 0, full: 0 });
  });

  it("cacheBytes 0 turns delta off; evaluate() never caches", () => {
    const { net, split } = setup([2, 20, 2], 100, 43);
    expect(createFastEvaluator(net, split, { cacheBytes: 0 }).delta).toBe(false);
    const fast = createFastEvaluator(net, split);
    const m = randomMask(net.genomeLength, Rng.derive(43, "x"));
    expectSame(fast.evaluate(m), evaluate(net, m, split));
    expect(fast.cacheStats().parents.used).toBe(0);
  });

  it("one-bit mutants of every bit of a parent go through the delta path (hidden and output layers)", () => {
    for (const arch of [
      [2, 50, 50, 2],
      [6, 10, 4],
      [4, 6, 5, 3],
    ]) {
      const { net, split } = setup(arch, 120, 44);
      // small networks: scoring dominates, so only an unbounded threshold takes every possible delta
      const fast = createFastEvaluator(net, split, { deltaMaxWork: Number.POSITIVE_INFINITY });
      const parent = randomMask(net.genomeLength, Rng.derive(44, "parent"));
      fast.evaluateNearest(parent);
      for (let bit = 0; bit < net.genomeLength; bit++) {
        const child = withFlipped(parent, bit);
        expectSame(fast.evaluateNearest(child), evaluate(net, child, split), `${arch} bit ${bit}`);
      }
      const s = fast.cacheStats();
      // the parent stays near the front at distance 1, so every mutant is a delta from it
      expect(s.nearest.delta).toBe(net.genomeLength);
      expect(s.nearest.distanceSum).toBe(s.nearest.delta);
    }
  });

  it("repeats are answered from the cache, exactly", () => {
    const { net, split } = setup([64, 75, 10], 150, 45);
    const fast = createFastEvaluator(net, split);
    const masks = gaBatches(net.genomeLength, 45, { generations: 2 }).flat();
    const first = fast.evaluateBatch(masks);
    const again = fast.evaluateBatch(masks);
    expect(again).toEqual(first);
    expect(fast.cacheStats().nearest.exact).toBeGreaterThanOrEqual(masks.length);
  });

  it("units that become structurally zero, dead or live between parent and child", () => {
    // zero, negative and −0 biases: units with all inputs pruned are identically zero
    const base = initNetwork([4, 8, 6, 3], { kind: "uniform", range: 1 }, 46);
    const biases = [0.5, -0.5, 0, -0, 0.25, -0, 0, 1];
    const net = withLayers(base, (L, l) =>
      l < 2 ? { bias: Float32Array.from(L.bias, (b, o) => biases[o] ?? b) } : {},
    );
    const split = randomSplit(200, 4, 3, 46);
    const rng = Rng.derive(46, "zero");
    for (const options of [{}, { deltaMaxWork: Number.POSITIVE_INFINITY }, { cacheBytes: 12 * 800 }]) {
      const fast = createFastEvaluator(net, split, options);
      for (let k = 0; k < 12; k++) {
        const parent = randomMask(net.genomeLength, rng, 0.5);
        setRows(net, parent, 0, [0, 1, 2, 3, 5], false);
        setRows(net, parent, 1, [rng.int(6)], false);
        // keep exactly one input of some first-layer units, so one flip makes them zero or not
        for (const o of [1, 2, 3]) parent.words[(o * 4) >>> 5] |= 1 << ((o * 4) & 31);
        const family: Mask[] = [parent];
        for (let bit = 0; bit < net.genomeLength; bit += 1 + rng.int(3))
          family.push(withFlipped(parent, bit));
        // a whole row of the second layer switched on and off
        family.push(setRows(net, cloneMask(parent), 1, [rng.int(6)], true));
        family.push(setRows(net, cloneMask(parent), 0, [rng.int(8)], false));
        const got = fast.evaluateBatch(family);
        family.forEach((m, j) => {
          expectSame(got[j], evaluate(net, m, split), `family ${k} member ${j}`);
        });
      }
      expect(fast.cacheStats().deltaEvaluations).toBeGreaterThan(0);
    }
  });

  it("a tiny budget evicts constantly and stays exact; the pool never overflows", () => {
    const { net, split } = setup([2, 50, 50, 2], 90, 47);
    for (const cols of [1, 2, 5, 60, 103]) {
      const fast = createFastEvaluator(net, split, { cacheBytes: cols * column(90) });
      for (const batch of gaBatches(net.genomeLength, 47, { population: 10, generations: 6 })) {
        const got = fast.evaluateBatch(batch);
        batch.forEach((m, k) => {
          expectSame(got[k], evaluate(net, m, split), `${cols} columns`);
        });
        const s = fast.cacheStats();
        expect(s.pool.used).toBeLessThanOrEqual(s.pool.columns);
      }
      const s = fast.cacheStats();
      expect(s.parents.evictions, `${cols} columns`).toBeGreaterThan(0);
      expect(s.parents.slots).toBe(Math.floor(cols / (50 + 50 + 2)));
    }
  });

  it("clearCache drops every entry; later batches are still exact", () => {
    const { net, split } = setup([6, 10, 4], 100, 48);
    const fast = createFastEvaluator(net, split);
    const batches = gaBatches(net.genomeLength, 48);
    fast.evaluateBatch(batches[0]);
    fast.clearCache();
    expect(fast.cacheStats().parents.used).toBe(0);
    expect(fast.cacheStats().pool.used).toBe(0);
    for (const batch of batches.slice(1)) {
      fast.evaluateBatch(batch).forEach((m, k) => {
        expectSame(m, evaluate(net, batch[k], split));
      });
    }
  });

  it("masks near a cached parent but many bits away in one layer", () => {
    const { net, split } = setup([5, 12, 9, 7, 3], 150, 49);
    const fast = createFastEvaluator(net, split, { deltaMaxWork: Number.POSITIVE_INFINITY });
    const rng = Rng.derive(49, "layer-flips");
    const parent = randomMask(net.genomeLength, rng);
    fast.evaluateNearest(parent);
    for (let l = 0; l < net.layers.length; l++) {
      const L = net.layers[l];
      for (const flips of [2, 5, L.inputs * L.outputs]) {
        const child = cloneMask(parent);
        for (let f = 0; f < flips; f++) flipBit(child, L.offset + rng.int(L.inputs * L.outputs));
        expectSame(fast.evaluateNearest(child), evaluate(net, child, split), `layer ${l} ${flips}`);
      }
    }
  });

  it("rejects bad options", () => {
    const { net, split } = setup([2, 5, 2], 20, 1);
    expect(() => createFastEvaluator(net, split, { deltaSearch: 0 })).toThrow(/deltaSearch/);
    expect(() => createFastEvaluator(net, split, { deltaMaxWork: -1 })).toThrow(/deltaMaxWork/);
    expect(() => createFastEvaluator(net, split).evaluateNearest(randomMask(3, Rng.derive(1, "x")))).toThrow(
      RangeError,
    );
  });

  it("SLT_DELTA turns it off with 0, false, off or no; SLT_DELTA_CACHE_MB sets the budget", () => {
    expect(evaluatorOptionsFromEnv({})).toEqual({ delta: true, kernel: "auto", incrementalLogits: true });
    expect(evaluatorOptionsFromEnv({ SLT_INCREMENTAL: "0" }).incrementalLogits).toBe(false);
    for (const v of ["1", "true", "on", ""])
      expect(evaluatorOptionsFromEnv({ SLT_DELTA: v }).delta).toBe(true);
    for (const v of ["0", "false", "OFF", " no "]) {
      expect(evaluatorOptionsFromEnv({ SLT_DELTA: v }).delta).toBe(false);
    }
    expect(evaluatorOptionsFromEnv({ SLT_DELTA_CACHE_MB: "16" })).toEqual({
      delta: true,
      kernel: "auto",
      incrementalLogits: true,
      cacheBytes: 16 << 20,
    });
    expect(evaluatorOptionsFromEnv({ SLT_DELTA_CACHE_MB: "0" }).cacheBytes).toBe(0);
    for (const v of ["-1", "lots", "Infinity"]) {
      expect(() => evaluatorOptionsFromEnv({ SLT_DELTA_CACHE_MB: v })).toThrow(/SLT_DELTA_CACHE_MB/);
    }
  });
});
