import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  globalRange,
  type RawSplit,
  scalePaper,
  scaleSplits,
  standardStats,
} from "../../../src/core/datasets/index.ts";

function raw(rows: number[][], labels?: number[]): RawSplit {
  const features = rows[0]?.length ?? 1;
  return {
    n: rows.length,
    features,
    x: Float64Array.from(rows.flat()),
    y: Int32Array.from(labels ?? rows.map((_, i) => i % 2)),
  };
}

const rowsArb = (features: number) =>
  fc.array(
    fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: features, maxLength: features }),
    {
      minLength: 1,
      maxLength: 40,
    },
  );

describe("paper scaling", () => {
  it("maps the split's global min to −0.7 and max to 0.7, linearly, all features pooled", () => {
    const s = scalePaper(
      raw([
        [0, 10],
        [5, 2],
        [16, 8],
      ]),
    );
    expect([...s.x]).toEqual([0, 10, 5, 2, 16, 8].map((v) => Math.fround((v / 16) * 1.4 - 0.7)));
    expect(s.x[0]).toBe(Math.fround(-0.7));
    expect(s.x[4]).toBe(Math.fround(0.7));
    expect([...s.y]).toEqual([0, 1, 0]);
  });

  it("keeps every value in [−0.7, 0.7], attains both ends and preserves order", () => {
    fc.assert(
      fc.property(rowsArb(3), (rows) => {
        const r = raw(rows);
        const { min, max } = globalRange(r);
        const s = scalePaper(r);
        for (let k = 0; k < s.x.length; k++) {
          expect(s.x[k]).toBeGreaterThanOrEqual(Math.fround(-0.7));
          expect(s.x[k]).toBeLessThanOrEqual(Math.fround(0.7));
        }
        if (max > min) {
          expect(Math.min(...s.x)).toBe(Math.fround(-0.7));
          expect(Math.max(...s.x)).toBe(Math.fround(0.7));
          for (let k = 1; k < r.x.length; k++)
            if (r.x[k] > r.x[k - 1]) expect(s.x[k]).toBeGreaterThanOrEqual(s.x[k - 1]);
        } else {
          expect([...s.x].every((v) => v === 0)).toBe(true);
        }
      }),
    );
  });

  it("copes with extreme ranges (subnormal or overflowing max − min)", () => {
    expect([...scalePaper(raw([[0], [5e-324]])).x]).toEqual([-0.7, 0.7].map(Math.fround));
    expect([...scalePaper(raw([[-1.7e308], [0], [1.7e308]])).x]).toEqual([-0.7, 0, 0.7].map(Math.fround));
  });

  it("scales train and test independently, each with its own min and max", () => {
    const { train, test } = scaleSplits(raw([[0], [10]]), raw([[100], [200], [150]]), "paper");
    expect([...train.x]).toEqual([-0.7, 0.7].map(Math.fround));
    expect([...test.x]).toEqual([-0.7, 0.7, 0].map(Math.fround));
  });
});

describe("standard scaling", () => {
  it("uses the training mean and population std on both splits", () => {
    const train = raw([
      [1, 10],
      [3, 10],
      [5, 10],
    ]);
    const test = raw([
      [3, 12],
      [7, 8],
    ]);
    const stats = standardStats(train);
    expect([...stats.mean]).toEqual([3, 10]);
    expect(stats.std[0]).toBeCloseTo(Math.sqrt(8 / 3), 14);
    expect(stats.std[1]).toBe(0);
    const s = scaleSplits(train, test, "standard");
    const sd = Math.sqrt(8 / 3);
    expect([...s.train.x]).toEqual([-2 / sd, 0, 0, 0, 2 / sd, 0].map(Math.fround));
    // the constant training feature is only centred (divided by 1)
    expect([...s.test.x]).toEqual([0, 2, 4 / sd, -2].map(Math.fround));
  });

  it("gives every non-constant training feature mean 0 and std 1", () => {
    fc.assert(
      fc.property(rowsArb(2), rowsArb(2), (a, b) => {
        const s = scaleSplits(raw(a), raw(b), "standard");
        const st = standardStats({ ...s.train, x: Float64Array.from(s.train.x) });
        const orig = standardStats(raw(a));
        for (let j = 0; j < 2; j++) {
          // A feature whose spread is tiny against its magnitude is ill-conditioned: its Float64 mean
          // carries a rounding error of about 1e-16·|mean|, which dividing by a tiny std magnifies
          // (e.g. 999999.9999999453 and 999999.999999829 centre to ±1 ± 0.001). Such a feature is
          // only checked to stay finite and bounded.
          if (orig.std[j] > 1e-3 * (Math.abs(orig.mean[j]) + 1)) {
            expect(Math.abs(st.mean[j])).toBeLessThan(1e-3);
            expect(Math.abs(st.std[j] - 1)).toBeLessThan(1e-3);
          } else {
            expect(Number.isFinite(st.mean[j]) && Math.abs(st.mean[j]) < 2).toBe(true);
          }
        }
      }),
    );
  });
});

describe("no scaling", () => {
  it("keeps values (as Float32) and labels", () => {
    const s = scaleSplits(raw([[0.1, -3]], [4]), raw([[2, 2]], [0]), "none");
    expect([...s.train.x]).toEqual([Math.fround(0.1), -3]);
    expect([...s.train.y]).toEqual([4]);
    expect(s.train.x).toBeInstanceOf(Float32Array);
  });

  it("rejects an unknown kind", () => {
    expect(() => scaleSplits(raw([[1]]), raw([[1]]), "minmax" as "none")).toThrow(
      /unknown scaling "minmax"; allowed: none, paper, standard/,
    );
  });
});
