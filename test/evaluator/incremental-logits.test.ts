// Incremental logits (incremental-logits.ts): accuracy-only evaluators update a dirty logit from the
// parent's stored one and settle uncertain rows exactly. Every accuracy must still be the reference's, at
// every Hamming distance, along long chains of deltas (past the drift cap), on exact ties, and the path
// must actually be taken (so these tests fail if it goes dead).
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { evaluate } from "../../src/core/evaluate.ts";
import { flipBit, type Mask, randomMask } from "../../src/core/mask.ts";
import { Rng } from "../../src/core/rng.ts";
import {
  createFastEvaluator,
  createSharedEvaluator,
  type FastEvaluatorOptions,
  type SharedEvaluator,
} from "../../src/evaluator/index.ts";
import { gaBatches, INITS, randomSplit, setup, withLayers } from "./helpers.ts";

const ACCURACY_ONLY: FastEvaluatorOptions = { loss: false };

function expectAccuracy(
  fast: ReturnType<typeof createFastEvaluator>,
  mask: Mask,
  got: { accuracy: number; loss: number },
  what: string,
) {
  expect(got.accuracy, what).toBe(evaluate(fast.net, mask, fast.split).accuracy);
  expect(got.loss, what).toBeNaN();
}

/** `mask` with exactly d distinct random bits flipped. */
function flipped(mask: Mask, d: number, rng: Rng): Mask {
  const out: Mask = { length: mask.length, words: mask.words.slice() };
  const bits = new Set<number>();
  while (bits.size < Math.min(d, mask.length)) bits.add(rng.int(mask.length));
  for (const b of bits) flipBit(out, b);
  return out;
}

describe("incremental logits give the reference's accuracy", () => {
  it("on GA-like batch sequences over random networks, budgets and thresholds (property)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom([2, 20, 2], [2, 75, 2], [2, 50, 50, 2], [64, 75, 10], [5, 12, 9, 7, 3], [6, 10, 4]),
        fc.integer({ min: 0, max: INITS.length - 1 }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer(),
        fc.constantFrom(0.85, Number.POSITIVE_INFINITY),
        fc.constantFrom(512, 16),
        fc.constantFrom(0, 1 << 20),
        (arch, init, n, seed, deltaMaxWork, blockRows, columnCacheBytes) => {
          const { net, split } = setup(arch, n, seed, INITS[init]);
          const options = { ...ACCURACY_ONLY, deltaMaxWork, blockRows, columnCacheBytes };
          const fast = createFastEvaluator(net, split, options);
          gaBatches(net.genomeLength, seed, { population: 10, generations: 6 }).forEach((batch, g) => {
            const got = fast.evaluateBatch(batch);
            batch.forEach((m, k) => {
              expectAccuracy(fast, m, got[k], `${arch} seed ${seed} generation ${g} mask ${k}`);
            });
          });
        },
      ),
      { numRuns: 40 },
    );
  });

  it("at Hamming distances 1 to 256 from an evaluated parent, and along chains past the drift cap", () => {
    for (const arch of [
      [2, 75, 2],
      [64, 75, 10],
      [2, 50, 50, 2],
    ]) {
      const { net, split } = setup(arch, 400, 51, INITS[2]);
      const fast = createFastEvaluator(net, split, ACCURACY_ONLY);
      const rng = Rng.derive(51, `distances ${arch}`);
      const parent = randomMask(net.genomeLength, rng);
      fast.evaluateNearest(parent);
      for (const d of [1, 4, 16, 64, 256]) {
        for (let k = 0; k < 6; k++) {
          const child = flipped(parent, d, rng);
          expectAccuracy(fast, child, fast.evaluateNearest(child), `${arch} distance ${d}`);
        }
      }
      // a chain of 150 one- and two-bit steps: every mask is a delta of the one before
      let m = parent;
      for (let step = 0; step < 150; step++) {
        m = flipped(m, 1 + (step % 2), rng);
        expectAccuracy(fast, m, fast.evaluateNearest(m), `${arch} chain step ${step}`);
      }
      const s = fast.cacheStats();
      expect(s.incremental.deltas, `${arch}`).toBeGreaterThan(100);
    }
  });

  it("through the explicit delta calls (evaluateChild, evaluateMutant)", () => {
    const { net, split } = setup([2, 75, 2], 500, 52);
    const fast = createFastEvaluator(net, split, ACCURACY_ONLY);
    const rng = Rng.derive(52, "explicit");
    const parentMask = randomMask(net.genomeLength, rng);
    const parent = fast.parentCache(parentMask);
    for (let k = 0; k < 40; k++) {
      const child = flipped(parentMask, 1 + rng.int(8), rng);
      expectAccuracy(fast, child, fast.evaluateChild(parentMask, parent, child), `child ${k}`);
      const bit = rng.int(net.genomeLength);
      const mutant: Mask = flipped(parentMask, 0, rng);
      flipBit(mutant, bit);
      expectAccuracy(fast, mutant, fast.evaluateMutant(parentMask, parent, bit), `mutant ${k}`);
    }
    expect(fast.cacheStats().incremental.deltas).toBeGreaterThan(0);
  });

  it("rows whose logits tie exactly are settled in the reference's order (first class wins)", () => {
    // two output units with the same weights and bias: every row's logits tie
    const base = setup([2, 30, 2], 300, 53).net;
    const net = withLayers(base, (L, l) => {
      if (l !== 1) return {};
      const weight = L.weight.slice();
      weight.copyWithin(L.inputs, 0, L.inputs);
      const bias = Float32Array.from([L.bias[0], L.bias[0]]);
      return { weight, bias };
    });
    const split = randomSplit(300, 2, 2, 53);
    const fast = createFastEvaluator(net, split, ACCURACY_ONLY);
    const rng = Rng.derive(53, "ties");
    // both logit rows flipped alike keep the tie
    let m = randomMask(net.genomeLength, rng);
    for (let j = 0; j < 30; j++) {
      const g0 = net.layers[1].offset + j;
      const on = (m.words[g0 >>> 5] >>> (g0 & 31)) & 1;
      const g1 = g0 + 30;
      if (((m.words[g1 >>> 5] >>> (g1 & 31)) & 1) !== on) flipBit(m, g1);
    }
    fast.evaluateNearest(m);
    for (let step = 0; step < 100; step++) {
      m = flipped(m, 1, rng);
      // keep the tie only for first-layer flips: output flips break it, which is fine too
      expectAccuracy(fast, m, fast.evaluateNearest(m), `tie step ${step}`);
    }
    const s = fast.cacheStats();
    expect(s.incremental.deltas).toBeGreaterThan(0);
    expect(s.incremental.exactRows).toBeGreaterThan(0);
    // every row uncertain: incremental logits cost more than recomputing, so they are only probed now
    // and then (about one delta in 32) once the share of exact rows is known to be high
    expect(s.incremental.deltas).toBeLessThan(15);
  });

  it("incrementalLogits false and the loss on: no incremental deltas, the same accuracies", () => {
    const { net, split } = setup([2, 75, 2], 300, 54);
    const on = createFastEvaluator(net, split, ACCURACY_ONLY);
    const off = createFastEvaluator(net, split, { ...ACCURACY_ONLY, incrementalLogits: false });
    const lossy = createFastEvaluator(net, split);
    for (const batch of gaBatches(net.genomeLength, 54, { population: 12, generations: 5 })) {
      const a = on.batch(batch);
      const b = off.batch(batch);
      const c = lossy.batch(batch);
      batch.forEach((m, k) => {
        expect(a[k].accuracy).toBe(evaluate(net, m, split).accuracy);
        expect(b[k].accuracy).toBe(a[k].accuracy);
        expect(c[k].accuracy).toBe(a[k].accuracy);
      });
    }
    expect(on.cacheStats().incremental.deltas).toBeGreaterThan(0);
    expect(off.cacheStats().incremental.deltas).toBe(0);
    expect(lossy.cacheStats().incremental.deltas).toBe(0);
  });

  const open: SharedEvaluator[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((p) => p.close()));
  });

  it("in the worker pool (two threads, nearest-parent affinity)", async () => {
    const { net, split } = setup([2, 75, 2], 600, 55, INITS[2]);
    const pool = await createSharedEvaluator(net, split, { threads: 2, evaluator: ACCURACY_ONLY });
    open.push(pool);
    for (const batch of gaBatches(net.genomeLength, 55, { population: 16, generations: 6 })) {
      const got = await pool.batch(batch);
      batch.forEach((m, k) => {
        expect(got[k].accuracy).toBe(evaluate(net, m, split).accuracy);
        expect(got[k].loss).toBeNaN();
      });
    }
  });
});
