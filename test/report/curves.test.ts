import { describe, expect, it } from "vitest";
import { commonRange, evenGrid, runCurve, settingCurve, valueAt } from "../../src/report/curves.ts";
import type { RunEvent } from "../../src/report/read-run.ts";
import { tQuantile } from "../../src/report/stats.ts";

const gen = (evaluations: number, bestFitness: number): RunEvent => ({
  type: "generation",
  evaluations,
  bestFitness,
});
const report = (island: number, evaluations: number, bestFitness: number): RunEvent => ({
  type: "report",
  island,
  evaluations,
  bestFitness,
});

describe("runCurve", () => {
  it("one population: best-so-far training accuracy against evaluations from generation events", () => {
    const c = runCurve(
      [{ type: "start" }, gen(100, 0.5), gen(150, 0.7), gen(200, 0.6), gen(260, 0.8)],
      "accuracy",
    );
    expect(c).toEqual({ xs: [100, 150, 200, 260], ys: [0.5, 0.7, 0.7, 0.8] });
  });

  it("loss fitness: lower is better", () => {
    const c = runCurve([gen(100, 0.9), gen(150, 0.7), gen(200, 0.8)], "loss");
    expect(c.ys).toEqual([0.9, 0.7, 0.7]);
  });

  it("islands: evaluations summed over the islands' latest reports, best of the islands' bests", () => {
    const c = runCurve(
      [
        report(0, 100, 0.5),
        report(1, 100, 0.6),
        report(0, 300, 0.55),
        { type: "migration" },
        report(1, 250, 0.9),
      ],
      "accuracy",
    );
    expect(c).toEqual({ xs: [100, 200, 400, 550], ys: [0.5, 0.6, 0.6, 0.9] });
  });

  it("drops the points a restart or a resume took back", () => {
    // a resumed run repeats from the checkpoint at 150: what followed it is lost
    const single = runCurve(
      [gen(100, 0.5), gen(150, 0.6), gen(200, 0.9), gen(150, 0.6), gen(210, 0.7)],
      "accuracy",
    );
    expect(single).toEqual({ xs: [100, 150, 210], ys: [0.5, 0.6, 0.7] });
    // island 1 restarted from its snapshot at 100 evaluations
    const islands = runCurve(
      [
        report(0, 100, 0.5),
        report(1, 100, 0.5),
        report(1, 200, 0.95),
        report(1, 100, 0.5),
        report(0, 300, 0.6),
      ],
      "accuracy",
    );
    expect(islands).toEqual({ xs: [100, 200, 400], ys: [0.5, 0.5, 0.6] });
  });

  it("ignores events without the figures", () => {
    expect(runCurve([{ type: "report", island: 0 }, { type: "end" }], "accuracy")).toEqual({
      xs: [],
      ys: [],
    });
  });
});

describe("resampling", () => {
  const a = { xs: [100, 200, 300], ys: [0.5, 0.6, 0.8] };
  const b = { xs: [150, 250], ys: [0.4, 0.7] };

  it("a curve's value at x is its last point at or before x", () => {
    expect(valueAt(a, 50)).toBeNull();
    expect(valueAt(a, 100)).toBe(0.5);
    expect(valueAt(a, 299)).toBe(0.6);
    expect(valueAt(a, 1000)).toBe(0.8);
  });

  it("the common range runs from the latest first point to the smallest last point", () => {
    expect(commonRange([a, b])).toEqual({ from: 150, to: 250 });
    expect(commonRange([])).toBeNull();
    expect(evenGrid(150, 250, 5)).toEqual([150, 175, 200, 225, 250]);
    expect(evenGrid(0, 3, 10)).toEqual([0, 1, 2, 3]);
    expect(evenGrid(5, 5, 10)).toEqual([5]);
  });

  it("a setting's curve: mean and 95% interval of the runs at each grid point, null outside the range", () => {
    const c = settingCurve([a, b], [100, 150, 200, 250, 300]);
    expect(c.evaluations).toEqual([100, 150, 200, 250, 300]);
    expect(c.mean[0]).toBeNull();
    expect(c.mean[4]).toBeNull();
    expect(c.n).toEqual([0, 2, 2, 2, 0]);
    // at 250: a is 0.6, b is 0.7
    expect(c.mean[3]).toBeCloseTo(0.65, 12);
    const half = (tQuantile(0.975, 1) * Math.sqrt(0.005)) / Math.sqrt(2);
    expect(c.lower[3]).toBeCloseTo(0.65 - half, 12);
    expect(c.upper[3]).toBeCloseTo(0.65 + half, 12);
    const own = settingCurve([a, b], undefined, 3);
    expect(own.evaluations).toEqual([150, 200, 250]);
  });
});
