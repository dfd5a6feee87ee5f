import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type AccuracyFn, makeIndividual, postPrune, pruneMask } from "../../../src/core/ga/index.ts";
import {
  getBit,
  type Mask,
  maskHash,
  masksEqual,
  popcount,
  randomMask,
  withFlipped,
} from "../../../src/core/mask.ts";
import { Rng } from "../../../src/core/rng.ts";
import { bitString, bits, withBits } from "./fakes.ts";

/** Fraction of the important bits that are kept. */
function importance(important: readonly number[]): AccuracyFn {
  return (m) => important.filter((i) => getBit(m, i)).length / important.length;
}

/** Deterministic, irregular accuracy in {0.4, 0.5, 0.6, 0.7} from the mask hash. */
const hashed: AccuracyFn = (m) => 0.4 + 0.1 * (Number.parseInt(maskHash(m).slice(0, 2), 16) % 4);

/** The walk of §5 on a plain array of booleans: an independent statement of the rule. */
function naive(m: Mask, f: AccuracyFn): { text: string; accuracy: number } {
  const q0 = f(m);
  let cur = m;
  let acc = q0;
  for (let i = 0; i < m.length; i++) {
    if (!getBit(m, i)) continue;
    const cand = withFlipped(cur, i);
    const a = f(cand);
    if (!(a < q0) && !Number.isNaN(a)) {
      cur = cand;
      acc = a;
    }
  }
  return { text: bitString(cur), accuracy: acc };
}

describe("pruneMask", () => {
  it("drops exactly the bits whose loss keeps accuracy ≥ q0", () => {
    const m = bits("1111011101");
    const r = pruneMask(m, importance([2, 6, 4]));
    expect(bitString(r.mask)).toBe("0010001000"); // bit 4 was not kept to begin with
    expect(r.q0).toBe(2 / 3);
    expect(r.accuracy).toBe(2 / 3);
    expect(r.evaluations).toBe(1 + popcount(m));
    expect(r.decisions).toBe(popcount(m));
    expect(r.dropped).toBe(popcount(m) - 2);
    expect(bitString(m)).toBe("1111011101"); // input untouched
  });

  it("compares with the initial q0, not a running value", () => {
    // q0 = 0.5; dropping bit 0 → 0.4 (rejected); dropping 3 → 0.8; then dropping 5 → 0.6:
    // below the running 0.8 but not below q0, so the drop is kept.
    const f: AccuracyFn = (m) =>
      0.5 + (getBit(m, 3) ? 0 : 0.3) - (getBit(m, 5) ? 0 : 0.2) - (getBit(m, 0) ? 0 : 0.1);
    const r = pruneMask(bits("11111111"), f);
    expect(bitString(r.mask)).toBe("10000000");
    expect(r.q0).toBe(0.5);
    expect(r.accuracy).toBe(0.5 + 0.3 - 0.2);
  });

  it("NaN accuracy counts as below q0", () => {
    const r = pruneMask(bits("111"), (m) => (getBit(m, 1) ? 1 : Number.NaN));
    expect(bitString(r.mask)).toBe("010");
  });

  it("never ends below q0 and matches an independent walk", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 120 }), fc.integer({ min: 0, max: 2 ** 31 }), (n, seed) => {
        const m = randomMask(n, Rng.derive(seed, "p"));
        const r = pruneMask(m, hashed);
        const ref = naive(m, hashed);
        expect(bitString(r.mask)).toBe(ref.text);
        expect(r.accuracy).toBe(ref.accuracy);
        expect(r.accuracy).toBeGreaterThanOrEqual(r.q0);
        expect(r.accuracy).toBe(hashed(r.mask));
      }),
    );
  });

  it("the batch hook gives exactly the sequential result", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 120 }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: 1, max: 12 }),
        (n, seed, batchSize) => {
          const m = randomMask(n, Rng.derive(seed, "p"));
          const seq = pruneMask(m, hashed);
          let calls = 0;
          const batch = (ms: readonly Mask[]) => {
            calls++;
            expect(ms.length).toBeLessThanOrEqual(batchSize);
            return ms.map(hashed);
          };
          const r = pruneMask(m, () => Number.NaN, { batch, batchSize });
          expect(masksEqual(r.mask, seq.mask)).toBe(true);
          expect(r.accuracy).toBe(seq.accuracy);
          expect(r.q0).toBe(seq.q0);
          expect(r.dropped).toBe(seq.dropped);
          expect(r.decisions).toBe(seq.decisions);
          expect(r.evaluations).toBeGreaterThanOrEqual(seq.evaluations);
          if (batchSize === 1) expect(r.evaluations).toBe(seq.evaluations);
          expect(calls).toBeLessThanOrEqual(seq.evaluations);
        },
      ),
    );
  });
});

describe("postPrune", () => {
  const L = 8;
  const walk = Array.from({ length: L }, (_, k) => k); // ascending: the walk these cases spell out
  // test accuracy: individual 2 and 3 tie at the best; training: individual 0 is best
  const masks = [
    withBits(L, [0, 1, 2, 3]),
    withBits(L, [1, 2]),
    withBits(L, [2, 3, 4, 5, 6]),
    withBits(L, [5, 6, 7]),
  ];
  const trainAcc = [0.9, 0.8, 0.7, 0.6];
  const population = masks.map((m, k) =>
    makeIndividual(m, { accuracy: trainAcc[k], loss: 1 - trainAcc[k] }, "initial", 0),
  );
  const test: AccuracyFn = (m) => (getBit(m, 2) || getBit(m, 7) ? 0.75 : 0.5) + (getBit(m, 5) ? 0.2 : 0);
  const train: AccuracyFn = (m) => (getBit(m, 0) ? 0.9 : 0.1);

  it("published: best TEST accuracy (first of equals), pruned against test", () => {
    const r = postPrune("published", population, { fitness: "accuracy", test, train, walk });
    expect(r.mode).toBe("published");
    expect(r.selectedBy).toBe("best-test-accuracy");
    expect(r.prunedOn).toBe("test");
    expect(r.index).toBe(2); // 0.95, tie with 3 broken by population order
    expect(r.testAccuracyBefore).toBe(0.95);
    expect(r.prune.q0).toBe(0.95);
    // needs bit 5 and one of bits 2/7: walking 2,3,4,5,6 keeps only 2 (first tried, dropping it → 0.7) and 5
    expect(bitString(r.mask)).toBe("00100100");
    expect(r.testAccuracyAfter).toBe(0.95);
    expect(r.sparsityBefore).toBe(3 / 8);
    expect(r.sparsityAfter).toBe(6 / 8);
    expect(r.evaluations).toBe(population.length + 1 + 5);
  });

  it("clean: best on training, pruned against training, test only reported", () => {
    const r = postPrune("clean", population, {
      fitness: "accuracy",
      test,
      train,
      trainSplitName: "validation",
      walk,
    });
    expect(r.mode).toBe("clean");
    expect(r.selectedBy).toBe("best-training-fitness");
    expect(r.prunedOn).toBe("validation");
    expect(r.index).toBe(0);
    expect(bitString(r.mask)).toBe("10000000");
    expect(r.prune.q0).toBe(0.9);
    expect(r.testAccuracyBefore).toBe(test(masks[0]));
    expect(r.testAccuracyAfter).toBe(test(r.mask));
    expect(r.evaluations).toBe(1 + 4 + 2);
  });

  it("clean in loss mode picks the lowest training loss", () => {
    const pop = population.map((p, k) => ({ ...p, loss: [0.5, 0.1, 0.3, 0.2][k] }));
    expect(postPrune("clean", pop, { fitness: "loss", test, train, walk }).index).toBe(1);
  });

  it("batch hooks give the same answers", () => {
    const a = postPrune("published", population, { fitness: "accuracy", test, train, walk });
    const b = postPrune("published", population, {
      fitness: "accuracy",
      test: () => Number.NaN,
      testBatch: (ms) => ms.map(test),
      train,
      batchSize: 3,
      walk,
    });
    expect(b.index).toBe(a.index);
    expect(masksEqual(b.mask, a.mask)).toBe(true);
    expect(b.testAccuracyAfter).toBe(a.testAccuracyAfter);
  });
});
