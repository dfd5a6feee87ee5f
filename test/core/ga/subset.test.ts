// Mini-batch fitness (non-paper): seeded row subsets, and the GA step that re-scores the population when
// the evaluator changes between generations (rotating subsets).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Split } from "../../../src/core/dataset.ts";
import { sampleRows, selectRows } from "../../../src/core/datasets/index.ts";
import { evaluate, referenceEvaluator } from "../../../src/core/evaluate.ts";
import {
  FITNESS_MODE_FULL,
  FITNESS_MODE_MINI_BATCH,
  fitnessModeLabel,
  fitnessSubsetRows,
  type GaState,
  initRun,
  step,
} from "../../../src/core/ga/index.ts";
import { initNetwork } from "../../../src/core/network.ts";
import { Rng } from "../../../src/core/rng.ts";

describe("sampleRows", () => {
  it("draws `size` distinct rows of 0..n−1, ascending, the same for the same stream", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 400 }), fc.nat(), fc.nat(), (n, s, seed) => {
        const size = 1 + (s % n);
        const rows = sampleRows(n, size, Rng.derive(seed, "rows"));
        expect(rows.length).toBe(size);
        for (let k = 0; k < size; k++) {
          expect(rows[k]).toBeGreaterThanOrEqual(0);
          expect(rows[k]).toBeLessThan(n);
          if (k > 0) expect(rows[k]).toBeGreaterThan(rows[k - 1]);
        }
        expect(sampleRows(n, size, Rng.derive(seed, "rows"))).toEqual(rows);
      }),
    );
  });

  it("covers every row about equally often", () => {
    const counts = new Array(10).fill(0);
    const rng = Rng.derive(1, "cover");
    for (let t = 0; t < 2000; t++) for (const r of sampleRows(10, 3, rng)) counts[r]++;
    for (const c of counts) expect(c).toBeGreaterThan(500);
    for (const c of counts) expect(c).toBeLessThan(700);
  });

  it("rejects sizes outside 1..n", () => {
    expect(() => sampleRows(5, 0, Rng.derive(1))).toThrow(/1\.\.5/);
    expect(() => sampleRows(5, 6, Rng.derive(1))).toThrow(/1\.\.5/);
    expect(() => sampleRows(5, 1.5, Rng.derive(1))).toThrow(RangeError);
  });
});

describe("selectRows", () => {
  it("copies the given rows in order", () => {
    const split: Split = {
      n: 4,
      features: 2,
      x: Float32Array.of(0, 1, 10, 11, 20, 21, 30, 31),
      y: Int32Array.of(0, 1, 0, 1),
    };
    const s = selectRows(split, [3, 1]);
    expect(s.n).toBe(2);
    expect([...s.x]).toEqual([30, 31, 10, 11]);
    expect([...s.y]).toEqual([1, 1]);
    expect(() => selectRows(split, [4])).toThrow(RangeError);
  });
});

describe("fitnessSubsetRows", () => {
  it("fixed: the same rows every generation; rotating: new rows per generation, seeded by (seed, generation)", () => {
    const fixed = { size: 50, mode: "fixed" as const };
    const rotating = { size: 50, mode: "rotating" as const };
    expect(fitnessSubsetRows(fixed, 1000, 7, 0)).toEqual(fitnessSubsetRows(fixed, 1000, 7, 9));
    expect(fitnessSubsetRows(fixed, 1000, 7, 0)).not.toEqual(fitnessSubsetRows(fixed, 1000, 8, 0));
    const g1 = fitnessSubsetRows(rotating, 1000, 7, 1);
    expect(fitnessSubsetRows(rotating, 1000, 7, 1)).toEqual(g1);
    expect(fitnessSubsetRows(rotating, 1000, 7, 2)).not.toEqual(g1);
    expect(fitnessSubsetRows(rotating, 1000, 8, 1)).not.toEqual(g1);
    expect(() => fitnessSubsetRows(rotating, 40, 7, 1)).toThrow(/1\.\.40/);
    expect(() => fitnessSubsetRows(rotating, 1000, 7, -1)).toThrow(RangeError);
  });

  it("labels the mode", () => {
    expect(fitnessModeLabel(undefined)).toBe(FITNESS_MODE_FULL);
    expect(fitnessModeLabel({ size: 1, mode: "fixed" })).toBe(FITNESS_MODE_MINI_BATCH);
    expect(FITNESS_MODE_MINI_BATCH).toBe("mini-batch (non-paper)");
  });
});

/** A small real task: two noisy classes in 3 features. */
function task(n: number, seed: number): Split {
  const rng = Rng.derive(seed, "task");
  const x = new Float32Array(n * 3);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 2;
    for (let f = 0; f < 3; f++) x[i * 3 + f] = (y[i] ? 0.4 : -0.4) * (f + 1) + rng.normal(0, 0.5);
  }
  return { n, features: 3, x, y };
}

describe("step with rescore (rotating subsets)", () => {
  const net = initNetwork([3, 8, 2], { kind: "uniform", range: 1 }, 5);
  const train = task(300, 1);
  const subset = { size: 40, mode: "rotating" as const };
  const splitFor = (g: number) => selectRows(train, fitnessSubsetRows(subset, train.n, 11, g));
  const params = { population: 20, fitness: "loss" as const };

  function run(generations: number, rescore: boolean): GaState[] {
    const states = [
      initRun(params, { evaluate: referenceEvaluator(net, splitFor(0)), network: net }, Rng.derive(11, "ga")),
    ];
    for (let g = 1; g <= generations; g++) {
      const deps = { evaluate: referenceEvaluator(net, splitFor(g)), network: net };
      states.push(step(states[g - 1], deps, { rescore }));
    }
    return states;
  }

  it("every generation's population carries the metrics of that generation's subset", () => {
    const states = run(6, true);
    states.forEach((s, g) => {
      const split = splitFor(g);
      for (const ind of s.population) {
        const m = evaluate(net, ind.mask, split);
        expect(ind.accuracy).toBe(m.accuracy);
        expect(ind.loss).toBe(m.loss);
      }
      if (g > 0) {
        expect(s.history[g].rescored).toBeGreaterThan(0);
        expect(s.history[g].rescored).toBeLessThanOrEqual(params.population);
        expect(s.evaluations - states[g - 1].evaluations).toBe(s.history[g].newEvaluations);
      }
    });
  });

  it("without rescore, survivors keep metrics of earlier subsets (why rotating mode re-scores)", () => {
    const states = run(6, false);
    const stale = states
      .slice(1)
      .some((s, k) => s.population.some((ind) => ind.loss !== evaluate(net, ind.mask, splitFor(k + 1)).loss));
    expect(stale).toBe(true);
    expect(states[6].history[6].rescored).toBeUndefined();
  });

  it("is deterministic: the same seed gives the same states", () => {
    const a = run(4, true);
    const b = run(4, true);
    expect(b[4].population.map((i) => i.hash)).toEqual(a[4].population.map((i) => i.hash));
    expect(b[4].history).toEqual(a[4].history);
  });
});
