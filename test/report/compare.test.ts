import { describe, expect, it } from "vitest";
import { compareRuns } from "../../src/report/compare.ts";
import { welchDifference } from "../../src/report/stats.ts";
import { fakeRecord } from "./fixtures.ts";

describe("compareRuns", () => {
  const one = [0.8, 0.82, 0.81].map((testAccuracy, k) =>
    fakeRecord({
      seed: k + 1,
      islands: 1,
      testAccuracy,
      points: [
        [100, 0.5],
        [200, 0.6 + k / 100],
      ],
    }),
  );
  const four = [0.9, 0.91, 0.92].map((testAccuracy, k) =>
    fakeRecord({
      seed: k + 1,
      islands: 4,
      testAccuracy,
      points: [
        [100, 0.5],
        [300, 0.7],
      ],
    }),
  );
  const killed = fakeRecord({ seed: 9, islands: 4, ended: false, points: [[100, 0.1]] });

  it("groups, summarises and compares the settings with the one-population baseline", () => {
    const c = compareRuns([...four, killed, ...one], new Map(), 3);
    expect(c.format).toBe("slt-report/1");
    expect(c.baseline).toBe("islands=1");
    expect(c.settings.map((s) => [s.label, s.runs, s.interrupted, s.baseline])).toEqual([
      ["islands=4", 4, 1, false],
      ["islands=1", 3, 0, true],
    ]);
    const [islands, base] = c.settings;
    expect(islands.testAccuracy.mean).toBeCloseTo(0.91, 12);
    expect(islands.evaluationsMedian).toBe(300);
    expect(islands.bestTrainingFitness.mean).toBeCloseTo(0.7, 12);
    expect(base.bestTrainingFitness.mean).toBeCloseTo(0.61, 12);
    const expected = welchDifference([0.9, 0.91, 0.92], [0.8, 0.82, 0.81]);
    expect(islands.testAccuracyVsBaseline).toEqual({ ...expected, verdict: "better" });
    expect(base.testAccuracyVsBaseline).toBeNull();
    // the killed run is listed but counts in no figure and no curve
    expect(islands.runList.map((r) => r.status)).toEqual(["ok", "ok", "ok", "interrupted"]);
    expect(islands.curve.evaluations).toEqual([100, 200, 300]);
    expect(islands.curve.n).toEqual([3, 3, 3]);
    expect(base.curve.evaluations).toEqual([100, 150, 200]);
  });

  it("compares best training fitness with the baseline too; for a loss, lower is better", () => {
    const loss = (islands: number, finals: number[]) =>
      finals.map((f, k) =>
        fakeRecord({
          seed: k + 1,
          islands,
          fitness: "loss",
          points: [
            [100, 2],
            [200, f],
          ],
        }),
      );
    const c = compareRuns([...loss(1, [0.5, 0.52, 0.54]), ...loss(4, [0.3, 0.31, 0.33])]);
    const islands = c.settings.find((s) => !s.baseline);
    expect(islands?.trainingFitnessVsBaseline?.difference).toBeCloseTo(0.3133 - 0.52, 4);
    expect(islands?.trainingFitnessVsBaseline?.verdict).toBe("better");
    const base = c.settings.find((s) => s.baseline);
    expect(base?.trainingFitnessVsBaseline).toBeNull();
  });

  it("a baseline given by its label; an unknown label is one E_REPORT line listing the labels", () => {
    const runs = [0.8, 0.82, 0.9, 0.92].map((t, k) =>
      fakeRecord({ seed: (k % 2) + 1, islands: k < 2 ? 1 : 4, testAccuracy: t }),
    );
    const c = compareRuns(runs, new Map(), 50, "islands=4");
    expect(c.baseline).toBe("islands=4");
    expect(c.settings.find((s) => !s.baseline)?.testAccuracyVsBaseline?.difference).toBeCloseTo(-0.1, 10);
    expect(() => compareRuns(runs, new Map(), 50, "islands=2")).toThrow(
      /baseline "islands=2" is not a setting of these runs; they are: "islands=1", "islands=4"/,
    );
  });

  it("one setting has no baseline and no differences", () => {
    const c = compareRuns(one);
    expect(c.baseline).toBeNull();
    expect(c.settings[0].label).toBe("all runs");
    expect(c.settings[0].testAccuracyVsBaseline).toBeNull();
    expect(c.settings[0].curve.evaluations.length).toBe(50);
  });

  it("a tie when the interval of the difference contains 0", () => {
    const same = [0.81, 0.79, 0.83].map((testAccuracy, k) =>
      fakeRecord({ seed: k + 1, islands: 2, testAccuracy }),
    );
    const c = compareRuns([...one, ...same]);
    expect(c.settings[1].testAccuracyVsBaseline?.verdict).toBe("tie");
  });
});
