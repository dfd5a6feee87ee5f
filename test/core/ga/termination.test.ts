import { describe, expect, it } from "vitest";
import {
  type TerminationEntry,
  type TerminationParams,
  terminationReason,
} from "../../../src/core/ga/index.ts";

/** One entry per generation 0 … values.length−1; the value is used as fitness, accuracy and loss. */
function hist(values: readonly number[]): TerminationEntry[] {
  return values.map((v, generation) => ({ generation, bestFitness: v, bestAccuracy: v, bestLoss: v }));
}

/** values[g] = before for g < change, after for g ≥ change; generations 0 … last. */
function stepAt(last: number, change: number, before = 0.5, after = 0.6): number[] {
  return Array.from({ length: last + 1 }, (_, g) => (g < change ? before : after));
}

const rising = (last: number) => Array.from({ length: last + 1 }, (_, g) => g / 100_000);

describe("termination", () => {
  const r2024: TerminationParams = { rule: "2024" };

  it("2024: needs ≥ 100 generations", () => {
    expect(terminationReason(hist(stepAt(99, 0)), r2024)).toBeNull();
    expect(terminationReason(hist(stepAt(100, 0)), r2024)).toBe("plateau");
  });

  it("2024: the last 50 entries must all be equal", () => {
    expect(terminationReason(hist(stepAt(100, 51)), r2024)).toBe("plateau"); // entries 51…100 equal
    expect(terminationReason(hist(stepAt(100, 52)), r2024)).toBeNull(); // entry 51 differs
    expect(terminationReason(hist(stepAt(150, 101)), r2024)).toBe("plateau");
    expect(terminationReason(hist(stepAt(149, 101)), r2024)).toBeNull();
  });

  it("2024: equality is exact", () => {
    const v = stepAt(120, 0, 0.3, 0.3);
    v[100] = 0.1 + 0.2;
    expect(terminationReason(hist(v), r2024)).toBeNull();
  });

  it("2024 has no cap of its own; the user cap always applies", () => {
    expect(terminationReason(hist(rising(5000)), r2024)).toBeNull();
    expect(terminationReason(hist(rising(300)), { rule: "2024", maxGenerations: 300 })).toBe(
      "max-generations",
    );
    expect(terminationReason(hist(rising(299)), { rule: "2024", maxGenerations: 300 })).toBeNull();
  });

  it("2024-adaptive: capped at 200", () => {
    expect(terminationReason(hist(rising(199)), { rule: "2024-adaptive" })).toBeNull();
    expect(terminationReason(hist(rising(200)), { rule: "2024-adaptive" })).toBe("rule-cap");
    expect(terminationReason(hist(stepAt(120, 0)), { rule: "2024-adaptive" })).toBe("plateau");
  });

  it("2025-binary: stops at 100% training accuracy, cap 300", () => {
    const v = rising(3);
    expect(terminationReason(hist(v), { rule: "2025-binary" })).toBeNull();
    v[3] = 1;
    expect(terminationReason(hist(v), { rule: "2025-binary" })).toBe("perfect-accuracy");
    v[3] = 0.9999999999999999;
    expect(terminationReason(hist(v), { rule: "2025-binary" })).toBeNull();
    expect(terminationReason(hist(stepAt(250, 0)), { rule: "2025-binary" })).toBeNull(); // no plateau rule
    expect(terminationReason(hist(rising(300)), { rule: "2025-binary" })).toBe("rule-cap");
    expect(terminationReason(hist(rising(300)), { rule: "2025-binary", ruleCap: null })).toBeNull();
    expect(terminationReason(hist(rising(10)), { rule: "2025-binary", maxGenerations: 10 })).toBe(
      "max-generations",
    );
  });

  it("2025-multiclass: plateau of the loss logged every 50 generations, from generation 100", () => {
    const p2: TerminationParams = { rule: "2025-multiclass", plateauLogs: 2 };
    // losses change every generation except that logs (multiples of 50) repeat from generation 50 on
    const losses = (last: number, equalFrom: number) =>
      Array.from({ length: last + 1 }, (_, g) => (g % 50 === 0 && g >= equalFrom ? 0.25 : 1 / (g + 2)));
    expect(terminationReason(hist(losses(99, 0)), p2)).toBeNull(); // logs 0, 50 equal but g < 100
    expect(terminationReason(hist(losses(100, 0)), p2)).toBe("plateau");
    expect(terminationReason(hist(losses(100, 100)), p2)).toBeNull(); // logs 50, 100 differ
    expect(terminationReason(hist(losses(149, 100)), p2)).toBeNull();
    expect(terminationReason(hist(losses(150, 100)), p2)).toBe("plateau");
    const p5: TerminationParams = { rule: "2025-multiclass", plateauLogs: 5 };
    expect(terminationReason(hist(losses(349, 150)), p5)).toBeNull(); // logs 150…300: only 4
    expect(terminationReason(hist(losses(350, 150)), p5)).toBe("plateau"); // logs 150…350
    expect(terminationReason(hist(rising(11_000)), p5)).toBe("rule-cap");
    expect(terminationReason(hist(rising(10_999)), p5)).toBeNull();
  });

  it("2025-multiclass uses the loss, not the fitness field", () => {
    const h = hist(stepAt(100, 0)).map((e, g) => ({ ...e, bestLoss: g }));
    expect(terminationReason(h, { rule: "2025-multiclass" })).toBeNull();
  });

  it("none: only caps; empty history: go on; unknown rule: error", () => {
    expect(terminationReason(hist(stepAt(500, 0)), { rule: "none" })).toBeNull();
    expect(terminationReason(hist(stepAt(5, 0)), { rule: "none", maxGenerations: 5 })).toBe(
      "max-generations",
    );
    expect(terminationReason([], { rule: "2024", maxGenerations: 0 })).toBeNull();
    expect(() => terminationReason(hist([1]), { rule: "x" as "none" })).toThrow(RangeError);
  });

  it("an evaluation budget stops after the first generation that reaches it", () => {
    const spent = [100, 150, 199, 200, 260].map((evaluations, generation) => ({
      generation,
      bestFitness: 0.5,
      bestAccuracy: 0.5,
      bestLoss: 0.5,
      evaluations,
    }));
    const budget: TerminationParams = { rule: "none", maxEvaluations: 200 };
    expect(terminationReason(spent.slice(0, 3), budget)).toBeNull();
    expect(terminationReason(spent.slice(0, 4), budget)).toBe("max-evaluations");
    // the generation cap, when reached first, is the reason
    expect(terminationReason(spent.slice(0, 4), { ...budget, maxGenerations: 3 })).toBe("max-generations");
    // a history without evaluation counts cannot be held to a budget
    expect(() => terminationReason(hist([1, 1]), budget)).toThrow(/maxEvaluations/);
  });
});
