import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BOUND_FLOOR,
  boundDecrement,
  type GeneratorSpec,
  generate,
  initialAccuracyBound,
  initialGeneratorState,
  initRun,
  isLaxConnected,
  type NetworkShape,
  resolveGeneratorSpec,
  tryBudgets,
} from "../../../src/core/ga/index.ts";
import { masksEqual } from "../../../src/core/mask.ts";
import { Rng } from "../../../src/core/rng.ts";
import { scripted, spy, topology } from "./fakes.ts";

const big = topology([2, 75, 2]);

function run(spec: GeneratorSpec, net: NetworkShape, count: number, accuracies: number[], bound?: number) {
  const resolved = resolveGeneratorSpec(spec);
  const ev = scripted(accuracies);
  const s0 = initialGeneratorState(resolved, net);
  const state = bound === undefined ? s0 : { ...s0, bound };
  const r = generate(resolved, state, count, { evaluate: ev, network: net, rng: Rng.derive(1, "gen") });
  return { ...r, ev };
}

// t = 1 s per try: n_r = ⌊4/1⌋ = 4, n_g = ⌊5/1⌋ = 5, d = 1.
const fast: GeneratorSpec = { kind: "adaptive-bound", secondsPerTry: 1 };
const FAIL = 0.1;

describe("adaptive bound arithmetic", () => {
  it("try budgets follow n_r = ⌊4/t⌋, n_g = ⌊5/t⌋", () => {
    expect(tryBudgets({ secondsPerTry: 1, reasonableSeconds: 4, givenSeconds: 5 })).toEqual({
      nr: 4,
      ng: 5,
      d: 1,
    });
    expect(tryBudgets({ secondsPerTry: 0.04, reasonableSeconds: 4, givenSeconds: 5 })).toEqual({
      nr: 100,
      ng: 125,
      d: 25,
    });
    expect(boundDecrement(0)).toBe(0.1 * (0.051 + 0.93));
    expect(boundDecrement(2)).toBe(0.1 * (0.051 + 0.93 * Math.exp(-18.72)));
  });

  it("starting bound: 0.70 for small nets, else 0.85", () => {
    expect(initialAccuracyBound(topology([2, 20, 2]))).toBe(0.7);
    expect(initialAccuracyBound(topology([2, 39, 2]))).toBe(0.7);
    expect(initialAccuracyBound(topology([2, 40, 2]))).toBe(0.85);
    expect(initialAccuracyBound(topology([2, 75, 2]))).toBe(0.85);
    expect(initialAccuracyBound(topology([2, 29, 29, 2]))).toBe(0.7);
    expect(initialAccuracyBound(topology([2, 30, 29, 2]))).toBe(0.85);
    expect(initialAccuracyBound(topology([2, 50, 50, 2]))).toBe(0.85);
    expect(initialAccuracyBound(topology([2, 10, 10, 10, 2]))).toBe(0.85);
    expect(
      initialGeneratorState(
        resolveGeneratorSpec({ kind: "adaptive-bound", secondsPerTry: 1, initialBound: 0.6 }),
        big,
      ).bound,
    ).toBe(0.6);
  });

  it("a first draw at or above b is returned at once; b unchanged", () => {
    const r = run(fast, big, 1, [0.85]);
    expect(r.evaluations).toBe(1);
    expect(r.items[0].metrics?.accuracy).toBe(0.85);
    expect(masksEqual(r.items[0].mask, r.ev.calls[0][0])).toBe(true);
    expect(r.state.bound).toBe(0.85);
  });

  it("success at k ≤ n_r leaves b unchanged", () => {
    const r = run(fast, big, 1, [FAIL, FAIL, FAIL, FAIL, FAIL, 0.9]); // first, k = 0..3 fail, k = 4 = n_r succeeds
    expect(r.evaluations).toBe(6);
    expect(r.state.bound).toBe(0.85);
    expect(masksEqual(r.items[0].mask, r.ev.calls[5][0])).toBe(true);
  });

  it("success at k > n_r lowers b by Δ(k/d)", () => {
    const r = run(fast, big, 1, [FAIL, FAIL, FAIL, FAIL, FAIL, FAIL, 0.9]); // k = 5 succeeds
    expect(r.evaluations).toBe(7);
    expect(r.state.bound).toBe(0.85 - boundDecrement(5 / 1));
    expect(r.state.numRec).toBe(1);
    // with t = 0.5: n_r = 8, n_g = 10, d = 2; success at k = 9 → Δ(9/2)
    const r2 = run({ kind: "adaptive-bound", secondsPerTry: 0.5 }, big, 1, [
      ...new Array(10).fill(FAIL),
      0.9,
    ]);
    expect(r2.evaluations).toBe(11);
    expect(r2.state.bound).toBe(0.85 - boundDecrement(9 / 2));
  });

  it("a failed round lowers b by 0.1^num_rec, num_rec += 0.15, and starts over", () => {
    const round = new Array<number>(7).fill(FAIL); // first + k = 0..5
    // individual 1: one failed round, then the first draw of the new round passes the lowered bound
    // individual 2: one failed round (decrement 0.1^1.15), then success on the first draw
    const b1 = 0.85 - 0.1 ** 1;
    const b2 = b1 - 0.1 ** 1.15;
    const r = run(fast, big, 2, [...round, b1, ...round, 0.99]);
    expect(r.ev.left()).toBe(0);
    expect(r.evaluations).toBe(16);
    expect(r.state.bound).toBe(b2);
    expect(r.state.numRec).toBe(1 + 0.15 + 0.15);
    expect(r.items.map((i) => i.metrics?.accuracy)).toEqual([b1, 0.99]);
  });

  it("at the floor 0.51 it returns a lax-connected random mask without evaluating", () => {
    const round = new Array<number>(7).fill(FAIL);
    const r = run(fast, big, 3, round, 0.58); // 0.58 − 0.1 → clamped to 0.51
    expect(r.state.bound).toBe(BOUND_FLOOR);
    expect(r.evaluations).toBe(7);
    for (const item of r.items) {
      expect(item.metrics).toBeNull();
      expect(isLaxConnected(big, item.mask)).toBe(true);
    }
  });

  it("n_r < 1 or d = 0: a valid random mask after the first failed draw", () => {
    const r = run({ kind: "adaptive-bound", secondsPerTry: 10 }, big, 1, [FAIL]); // n_r = 0
    expect(r.evaluations).toBe(1);
    expect(r.items[0].metrics).toBeNull();
    expect(r.state.bound).toBe(0.85);
    const r2 = run({ kind: "adaptive-bound", secondsPerTry: 3 }, big, 1, [FAIL]); // n_r = n_g = 1
    expect(r2.evaluations).toBe(1);
    expect(r2.items[0].metrics).toBeNull();
  });

  it("the bound is part of the run state and starts afresh for every run", () => {
    const net = topology([2, 75, 2]);
    const deps = { evaluate: spy(() => ({ accuracy: 0.6, loss: 0.4 })), network: net };
    const params = { population: 3, generator: { kind: "adaptive-bound", secondsPerTry: 1 } as const };
    const s1 = initRun(params, deps, Rng.derive(1, "run"));
    expect(s1.generator.bound).toBeLessThan(0.85);
    expect(s1.history[0].bound).toBe(s1.generator.bound);
    const s2 = initRun(
      params,
      { ...deps, evaluate: spy(() => ({ accuracy: 0.9, loss: 0.1 })) },
      Rng.derive(1, "run"),
    );
    expect(s2.generator.bound).toBe(0.85);
  });
});

describe("other generators", () => {
  it("negligent: count masks, no evaluations, about half the bits set", () => {
    const r = run({ kind: "negligent" }, big, 10, []);
    expect(r.items).toHaveLength(10);
    expect(r.evaluations).toBe(0);
    expect(r.items.every((i) => i.metrics === null && i.mask.length === 300)).toBe(true);
  });

  it("lax: every mask is lax-connected", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 2, maxLength: 4 }),
        fc.integer({ min: 0, max: 1e9 }),
        (widths, seed) => {
          const net = topology(widths);
          const r = generate(
            resolveGeneratorSpec({ kind: "lax" }),
            initialGeneratorState({ kind: "lax" }, net),
            5,
            {
              evaluate: scripted([]),
              network: net,
              rng: Rng.derive(seed, "lax"),
            },
          );
          for (const item of r.items) expect(isLaxConnected(net, item.mask)).toBe(true);
          expect(r.state.fallbacks).toBe(0);
        },
      ),
    );
  });

  it("static bound: draws until accuracy ≥ threshold; the cap falls back to a valid mask and is counted", () => {
    const r = run({ kind: "static-bound" }, big, 1, [0.1, 0.149, 0.15]);
    expect(r.evaluations).toBe(3);
    expect(r.items[0].metrics?.accuracy).toBe(0.15);
    expect(masksEqual(r.items[0].mask, r.ev.calls[2][0])).toBe(true);
    const capped = run({ kind: "static-bound", threshold: 0.5, maxTries: 4 }, big, 1, [0.1, 0.1, 0.1, 0.1]);
    expect(capped.evaluations).toBe(4);
    expect(capped.state.fallbacks).toBe(1);
    expect(capped.items[0].metrics).toBeNull();
    expect(isLaxConnected(big, capped.items[0].mask)).toBe(true);
  });

  it("rejects bad specs", () => {
    expect(() => resolveGeneratorSpec({ kind: "adaptive-bound", secondsPerTry: 0 })).toThrow(RangeError);
    expect(() => resolveGeneratorSpec({ kind: "static-bound", threshold: 2 })).toThrow(RangeError);
    expect(() => resolveGeneratorSpec({ kind: "nope" } as unknown as GeneratorSpec)).toThrow(RangeError);
  });
});
