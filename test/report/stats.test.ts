import { describe, expect, it } from "vitest";
import {
  incompleteBeta,
  mean,
  meanCi,
  median,
  sampleVariance,
  tQuantile,
  verdictOf,
  welchDifference,
} from "../../src/report/stats.ts";

describe("stats", () => {
  it("gives Student's t 0.975 quantiles of the published tables", () => {
    // values from R's qt(0.975, df) / scipy.stats.t.ppf
    const table: [number, number][] = [
      [1, 12.706205],
      [2, 4.302653],
      [3, 3.182446],
      [4, 2.776445],
      [5, 2.570582],
      [10, 2.228139],
      [20, 2.085963],
      [30, 2.042272],
      [60, 2.000298],
      [120, 1.97993],
      [1e7, 1.959964],
    ];
    for (const [df, t] of table) expect(tQuantile(0.975, df), `df ${df}`).toBeCloseTo(t, 5);
    expect(tQuantile(0.95, 10)).toBeCloseTo(1.812461, 5);
    expect(() => tQuantile(0.3, 4)).toThrow(RangeError);
  });

  it("computes the incomplete beta function at known points", () => {
    expect(incompleteBeta(0.5, 2, 2)).toBeCloseTo(0.5, 12);
    // I_x(1, 1) = x; I_x(a, 1) = x^a
    expect(incompleteBeta(0.3, 1, 1)).toBeCloseTo(0.3, 12);
    expect(incompleteBeta(0.3, 3, 1)).toBeCloseTo(0.027, 12);
  });

  it("mean, median and sample variance", () => {
    expect(mean([1, 2, 3, 4])).toBe(2.5);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(sampleVariance([1, 2, 3, 4, 5])).toBe(2.5);
    expect(sampleVariance([1])).toBeNaN();
  });

  it("the 95% interval of a mean is mean ± t(0.975, n−1)·s/√n, and absent below two values", () => {
    const ci = meanCi([1, 2, 3, 4, 5]);
    const half = (2.776445 * Math.sqrt(2.5)) / Math.sqrt(5);
    expect(ci.mean).toBe(3);
    expect(ci.lower).toBeCloseTo(3 - half, 5);
    expect(ci.upper).toBeCloseTo(3 + half, 5);
    expect(meanCi([0.9])).toEqual({ n: 1, mean: 0.9, lower: null, upper: null });
    expect(meanCi([])).toEqual({ n: 0, mean: null, lower: null, upper: null });
  });

  it("Welch's interval of a difference matches scipy's ttest_ind(equal_var=False)", () => {
    const d = welchDifference([1, 2, 3], [4, 5, 7, 9]);
    expect(d.difference).toBe(-4.25);
    expect(d.df).toBeCloseTo(4.366106080206985, 10);
    expect(d.lower).toBeCloseTo(-7.608745116019641, 8);
    expect(d.upper).toBeCloseTo(-0.8912548839803587, 8);
    expect(verdictOf(d)).toBe("worse");
  });

  it("verdicts: better above 0, worse below, tie across 0, unknown without an interval", () => {
    expect(verdictOf(welchDifference([5, 6, 7], [1, 2, 3]))).toBe("better");
    // a loss: lower is better
    expect(verdictOf(welchDifference([5, 6, 7], [1, 2, 3]), "lower")).toBe("worse");
    expect(verdictOf(welchDifference([1, 2, 3], [5, 6, 7]), "lower")).toBe("better");
    expect(verdictOf(welchDifference([1, 2, 3], [1, 2, 4]), "lower")).toBe("tie");
    expect(verdictOf(welchDifference([1, 2, 3], [5, 6, 7]))).toBe("worse");
    expect(verdictOf(welchDifference([1, 3, 5], [2, 3, 4]))).toBe("tie");
    expect(verdictOf(welchDifference([1], [2, 3]))).toBe("unknown");
    // equal figures in every run: the difference is exact
    expect(welchDifference([2, 2], [1, 1])).toMatchObject({ difference: 1, lower: 1, upper: 1 });
    expect(verdictOf(welchDifference([1, 1], [1, 1]))).toBe("tie");
  });
});
