// The fast evaluator must give the reference evaluator's results bit for bit: accuracy exactly and the
// loss exactly (not merely within a tolerance). fast-check prints the failing seed and path.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluate, referenceEvaluator } from "../../src/core/evaluate.ts";
import { emptyMask, fullMask, randomMask, withFlipped } from "../../src/core/mask.ts";
import { initNetwork } from "../../src/core/network.ts";
import { Rng } from "../../src/core/rng.ts";
import { createFastEvaluator } from "../../src/evaluator/index.ts";
import {
  ARCHS,
  clearLayer,
  expectSame,
  INITS,
  maskWithDensity,
  randomSplit,
  setRows,
  setup,
  withLayers,
} from "./helpers.ts";

const DENSITIES = [0, 0.05, 0.3, 0.5, 0.7, 0.95, 1];

describe("fast evaluator equals the reference", () => {
  it("on random networks, inputs and masks of every density (property)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ARCHS),
        fc.integer({ min: 0, max: INITS.length - 1 }),
        fc.integer({ min: 1, max: 600 }),
        fc.integer(),
        fc.constantFrom(512, 64, 7),
        (arch, init, n, seed, blockRows) => {
          const { net, split } = setup(arch, n, seed, INITS[init]);
          const fast = createFastEvaluator(net, split, { blockRows });
          expect(fast.fast).toBe(true);
          const rng = Rng.derive(seed, "masks");
          for (const p of DENSITIES) {
            const mask = maskWithDensity(net.genomeLength, p, rng);
            expectSame(fast.evaluate(mask), evaluate(net, mask, split), `density ${p}`);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it("on the benchmark shapes with 2000 rows, through the column memo's hits and misses", () => {
    for (const arch of [
      [2, 75, 2],
      [64, 75, 10],
    ]) {
      const { net, split } = setup(arch, 2000, 5);
      const fast = createFastEvaluator(net, split);
      const rng = Rng.derive(5, "bench-shapes");
      const masks = Array.from({ length: 6 }, () => randomMask(net.genomeLength, rng));
      const expected = masks.map((m) => evaluate(net, m, split));
      // twice: the second round reads the memoised first-layer columns
      for (let round = 0; round < 2; round++) {
        masks.forEach((m, k) => {
          expectSame(fast.evaluate(m), expected[k], `${arch} round ${round}`);
        });
      }
      expect(fast.cacheStats().columns.hits).toBeGreaterThan(0);
    }
  });

  it("evaluateBatch and batch match the reference batch evaluator", () => {
    const { net, split } = setup([2, 20, 2], 300, 9);
    const rng = Rng.derive(9, "batch");
    const masks = Array.from({ length: 12 }, () => randomMask(net.genomeLength, rng));
    const expected = referenceEvaluator(net, split)(masks);
    const fast = createFastEvaluator(net, split);
    fast.evaluateBatch(masks).forEach((m, k) => {
      expectSame(m, expected[k]);
    });
    fast.batch(masks).forEach((m, k) => {
      expectSame(m, expected[k]);
    });
    expect(fast.batch([])).toEqual([]);
  });

  it("with the column memo disabled, tiny, or evicting constantly", () => {
    const { net, split } = setup([6, 10, 3], 200, 21);
    const rng = Rng.derive(21, "memo");
    const masks = Array.from({ length: 30 }, () => randomMask(net.genomeLength, rng, 0.6));
    const expected = masks.map((m) => evaluate(net, m, split));
    const column = 200 * 4;
    for (const columnCacheBytes of [0, 10 * column, 11 * column, 15 * column, 1 << 20]) {
      const fast = createFastEvaluator(net, split, { columnCacheBytes });
      for (let round = 0; round < 2; round++) {
        masks.forEach((m, k) => {
          expectSame(fast.evaluate(m), expected[k], `memo ${columnCacheBytes}`);
        });
      }
      const stats = fast.cacheStats().columns;
      // used only when it holds more columns than the layer has units; never more than 2^6 rows per unit
      const slots = Math.min(Math.floor(columnCacheBytes / column), 10 * 2 ** 6);
      expect(stats.slots).toBe(slots > 10 ? slots : 0);
      if (columnCacheBytes === 11 * column) expect(stats.evictions).toBeGreaterThan(0);
    }
    // hits and evictions interleaved: random picks from a few masks and their one-bit mutants
    const fast = createFastEvaluator(net, split, { columnCacheBytes: 25 * column });
    const pool = masks.slice(0, 4).flatMap((m) => [m, withFlipped(m, rng.int(net.genomeLength))]);
    const poolExpected = pool.map((m) => evaluate(net, m, split));
    for (let k = 0; k < 80; k++) {
      const pick = rng.int(pool.length);
      expectSame(fast.evaluate(pool[pick]), poolExpected[pick], `pick ${k}`);
    }
    const stats = fast.cacheStats().columns;
    expect(stats.hits).toBeGreaterThan(0);
    expect(stats.evictions).toBeGreaterThan(0);
  });
});

describe("edge cases", () => {
  it("all-zero and all-one masks", () => {
    for (const arch of ARCHS) {
      const { net, split } = setup(arch, 150, 3);
      const fast = createFastEvaluator(net, split);
      for (const mask of [emptyMask(net.genomeLength), fullMask(net.genomeLength)]) {
        expectSame(fast.evaluate(mask), evaluate(net, mask, split), `${arch}`);
      }
    }
  });

  it("hidden units with all inputs pruned, with positive, negative, zero and −0 biases", () => {
    const base = initNetwork([4, 8, 6, 3], { kind: "uniform", range: 1 }, 17);
    const biases = [0.5, -0.5, 0, -0, 0.25, -0, 0, 1];
    const net = withLayers(base, (L, l) =>
      l < 2 ? { bias: Float32Array.from(L.bias, (b, o) => biases[o] ?? b) } : {},
    );
    const split = randomSplit(300, 4, 3, 17);
    const fast = createFastEvaluator(net, split);
    const rng = Rng.derive(17, "rows");
    for (let k = 0; k < 20; k++) {
      const mask = randomMask(net.genomeLength, rng, 0.6);
      setRows(net, mask, 0, [0, 1, 2, 3, 5], false);
      setRows(net, mask, 1, [rng.int(6), rng.int(6)], false);
      expectSame(fast.evaluate(mask), evaluate(net, mask, split));
    }
  });

  it("a fully pruned layer, for each layer in turn", () => {
    for (const arch of [
      [2, 50, 50, 2],
      [5, 12, 9, 7, 3],
      [64, 75, 10],
    ]) {
      const { net, split } = setup(arch, 200, 8);
      const fast = createFastEvaluator(net, split);
      const rng = Rng.derive(8, "layer");
      for (let l = 0; l < net.layers.length; l++) {
        const mask = clearLayer(net, randomMask(net.genomeLength, rng), l);
        expectSame(fast.evaluate(mask), evaluate(net, mask, split), `${arch} layer ${l}`);
      }
    }
  });

  it("ties in the logits go to the first index", () => {
    // output weights all pruned and equal output biases: every row ties between all classes
    const base = initNetwork([3, 5, 4], { kind: "uniform", range: 1 }, 4);
    const net = withLayers(base, (L, l) => (l === 1 ? { bias: new Float32Array(L.outputs).fill(0.3) } : {}));
    const split = randomSplit(400, 3, 4, 4);
    const mask = clearLayer(net, fullMask(net.genomeLength), 1);
    const fast = createFastEvaluator(net, split);
    const result = fast.evaluate(mask);
    expectSame(result, evaluate(net, mask, split));
    expect(result.accuracy).toBe(split.y.filter((c) => c === 0).length / split.n);
    // two-class ties through identical paths: equal weights into both logits
    const two = withLayers(initNetwork([2, 6, 2], { kind: "uniform", range: 1 }, 5), (L, l) =>
      l === 1
        ? { weight: Float32Array.from(L.weight, (_, k) => L.weight[k % L.inputs]), bias: new Float32Array(2) }
        : {},
    );
    const split2 = randomSplit(300, 2, 2, 5);
    const full = fullMask(two.genomeLength);
    const tied = createFastEvaluator(two, split2).evaluate(full);
    expectSame(tied, evaluate(two, full, split2));
    expect(tied.accuracy).toBe(split2.y.filter((c) => c === 0).length / split2.n);
  });

  it("negative zeros in weights, biases and inputs", () => {
    const base = initNetwork([3, 7, 5, 2], { kind: "uniform", range: 1 }, 6);
    const net = withLayers(base, (L) => ({
      weight: Float32Array.from(L.weight, (w, k) => (k % 3 === 0 ? -0 : w)),
      bias: Float32Array.from(L.bias, (b, k) => (k % 2 === 0 ? -0 : b)),
    }));
    const split = randomSplit(250, 3, 2, 6);
    for (let k = 0; k < split.x.length; k += 4) split.x[k] = -0;
    const fast = createFastEvaluator(net, split);
    const rng = Rng.derive(6, "zeros");
    for (const p of DENSITIES) {
      const mask = maskWithDensity(net.genomeLength, p, rng);
      expectSame(fast.evaluate(mask), evaluate(net, mask, split), `density ${p}`);
    }
  });

  it("possible overflow or non-finite data: falls back to the reference, NaN and ∞ included", () => {
    const base = initNetwork([2, 6, 2], { kind: "uniform", range: 1 }, 12);
    const huge = withLayers(base, (L) => ({ weight: Float32Array.from(L.weight, (w) => w * 1e37) }));
    const split = randomSplit(200, 2, 2, 12);
    const nanSplit = { ...split, x: Float32Array.from(split.x, (v, k) => (k === 7 ? Number.NaN : v)) };
    const infSplit = {
      ...split,
      x: Float32Array.from(split.x, (v, k) => (k === 3 ? Number.POSITIVE_INFINITY : v)),
    };
    const rng = Rng.derive(12, "fallback");
    for (const [net, s] of [
      [huge, split],
      [base, nanSplit],
      [base, infSplit],
    ] as const) {
      const fast = createFastEvaluator(net, s);
      expect(fast.fast).toBe(false);
      for (const p of [0, 0.5, 1]) {
        const mask = maskWithDensity(net.genomeLength, p, rng);
        expectSame(fast.evaluate(mask), evaluate(net, mask, s));
      }
    }
  });

  it("an empty split gives zeros like the reference", () => {
    const net = initNetwork([2, 5, 2], { kind: "uniform", range: 1 }, 1);
    const split = { n: 0, features: 2, x: new Float32Array(0), y: new Int32Array(0) };
    const mask = fullMask(net.genomeLength);
    expectSame(createFastEvaluator(net, split).evaluate(mask), evaluate(net, mask, split));
  });

  it("loss: false counts accuracy only and reports NaN", () => {
    for (const arch of [
      [2, 20, 2],
      [64, 75, 10],
    ]) {
      const { net, split } = setup(arch, 300, 2);
      const fast = createFastEvaluator(net, split, { loss: false });
      const mask = randomMask(net.genomeLength, Rng.derive(2, "noloss"));
      const result = fast.evaluate(mask);
      expect(result.accuracy).toBe(evaluate(net, mask, split).accuracy);
      expect(result.loss).toBeNaN();
    }
  });

  it("rejects wrong mask lengths, feature counts, labels and options", () => {
    const { net, split } = setup([2, 5, 2], 20, 1);
    const fast = createFastEvaluator(net, split);
    expect(() => fast.evaluate(emptyMask(net.genomeLength + 1))).toThrow(RangeError);
    expect(() => createFastEvaluator(net, randomSplit(20, 3, 2, 1))).toThrow(/features/);
    const badLabels = { ...split, y: Int32Array.from(split.y, (c, r) => (r === 4 ? 2 : c)) };
    expect(() => createFastEvaluator(net, badLabels)).toThrow(/label/);
    expect(() => createFastEvaluator(net, split, { blockRows: 0 })).toThrow(/blockRows/);
    expect(() => createFastEvaluator(net, split, { cacheBytes: -1 })).toThrow(/cacheBytes/);
  });
});
