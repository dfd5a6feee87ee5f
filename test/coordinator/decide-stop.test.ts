// The cluster's termination policy without processes: plain views of islands in, a decision out.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decideStop,
  type IslandStopView,
  reportMayStop,
  type StopConfig,
} from "../../src/coordinator/decide-stop.ts";

function config(patch: {
  mode?: "async" | "lockstep";
  rule?: StopConfig["termination"]["rule"];
  maxGenerations?: number | null;
  maxEvaluations?: number;
}): StopConfig {
  return {
    cluster: { mode: patch.mode ?? "async" },
    termination: {
      rule: patch.rule ?? "2025-binary",
      maxGenerations: patch.maxGenerations === undefined ? 100 : patch.maxGenerations,
      ...(patch.maxEvaluations !== undefined ? { maxEvaluations: patch.maxEvaluations } : {}),
    },
  };
}

/** An island running with a report at generation 10, accuracy 0.8, no verdict. */
function island(id: number, patch: Partial<IslandStopView> = {}): IslandStopView {
  return {
    id,
    lost: false,
    finished: false,
    ticketGeneration: null,
    generation: 10,
    verdict: null,
    bestAccuracy: 0.8,
    ...patch,
  };
}

const atCap = (id: number, cap = 100): IslandStopView =>
  island(id, { finished: true, ticketGeneration: cap, generation: cap });

describe("decideStop", () => {
  it("goes on while islands run without a verdict", () => {
    expect(decideStop([island(0), island(1)], config({}))).toBeNull();
    expect(decideStop([island(0), island(1, { verdict: "plateau" })], config({}))).toBeNull();
  });

  it("target: an island at 100% training accuracy (2025-binary) or with a perfect-accuracy verdict", () => {
    expect(decideStop([island(0), island(1, { bestAccuracy: 1, generation: 17 })], config({}))).toEqual({
      reason: "target",
      detail: "island 1 reached 100% training accuracy at generation 17",
    });
    // under another rule 100% is the rule's business: only its verdict counts
    expect(decideStop([island(0, { bestAccuracy: 1 })], config({ rule: "2024" }))).toBeNull();
    expect(
      decideStop([island(0, { bestAccuracy: 1, verdict: "perfect-accuracy" })], config({ rule: "2024" })),
    ).toMatchObject({ reason: "target" });
    // the lowest id first when two reached it
    expect(
      decideStop([island(3, { bestAccuracy: 1 }), island(2, { bestAccuracy: 1 })], config({})),
    ).toMatchObject({ detail: expect.stringMatching(/^island 2 /) });
  });

  it("all-plateaued: every live island reports a plateau or is done", () => {
    const d = decideStop(
      [island(0, { verdict: "plateau" }), island(1, { verdict: "plateau" }), atCap(2)],
      config({ rule: "2024" }),
    );
    expect(d).toEqual({
      reason: "all-plateaued",
      detail: "islands 0, 1 report a plateau (rule 2024); islands 2 (generation cap) are done",
    });
    expect(
      decideStop([island(0, { verdict: "plateau" }), island(1, { verdict: "plateau" })], config({})),
    ).toEqual({ reason: "all-plateaued", detail: "islands 0, 1 report a plateau (rule 2025-binary)" });
  });

  it("max-generations: every live island reached the cap", () => {
    expect(decideStop([atCap(0), atCap(1)], config({}))).toEqual({
      reason: "max-generations",
      detail: "every live island reached the cap of 100 generations",
    });
    // a budget that the islands did not reach first does not change the reason
    expect(decideStop([atCap(0), atCap(1)], config({ maxEvaluations: 10_000 }))).toMatchObject({
      reason: "max-generations",
    });
  });

  it("max-evaluations: islands that stopped below the cap (or with no cap) spent their budget shares", () => {
    const belowCap = island(0, { finished: true, ticketGeneration: 40, generation: 40 });
    expect(decideStop([belowCap, atCap(1)], config({ maxEvaluations: 600 }))).toEqual({
      reason: "max-evaluations",
      detail: "every live island spent its share of the budget of 600 evaluations",
    });
    const noCap = config({ maxGenerations: null, maxEvaluations: 600 });
    expect(
      decideStop([island(0, { finished: true, ticketGeneration: 55 }), atCap(1, 70)], noCap),
    ).toMatchObject({ reason: "max-evaluations" });
    // one island still running: not yet
    expect(decideStop([belowCap, island(1)], config({ maxEvaluations: 600 }))).toBeNull();
  });

  it("all-lost: no island is left", () => {
    expect(decideStop([], config({}))).toEqual({ reason: "all-lost", detail: "no island is left" });
    expect(decideStop([island(0, { lost: true }), island(1, { lost: true })], config({}))).toEqual({
      reason: "all-lost",
      detail: "no island is left",
    });
  });

  it("lockstep never stops on the target or a plateau: it runs to the cap", () => {
    const lockstep = config({ mode: "lockstep" });
    expect(
      decideStop([island(0, { bestAccuracy: 1, verdict: "perfect-accuracy" }), island(1)], lockstep),
    ).toBeNull();
    expect(
      decideStop([island(0, { verdict: "plateau" }), island(1, { verdict: "plateau" })], lockstep),
    ).toBeNull();
    expect(decideStop([atCap(0), atCap(1)], lockstep)).toMatchObject({ reason: "max-generations" });
  });

  it("lost islands do not count", () => {
    // a lost island's target, its missing plateau and its missing ticket are all ignored
    expect(decideStop([island(0, { lost: true, bestAccuracy: 1 }), island(1)], config({}))).toBeNull();
    expect(decideStop([island(0, { lost: true }), island(1, { verdict: "plateau" })], config({}))).toEqual({
      reason: "all-plateaued",
      detail: "islands 1 report a plateau (rule 2025-binary)",
    });
    expect(decideStop([island(0, { lost: true }), atCap(1), atCap(2)], config({}))).toMatchObject({
      reason: "max-generations",
    });
  });
});

describe("reportMayStop", () => {
  const view = fc.record({
    lost: fc.boolean(),
    finished: fc.boolean(),
    ticketGeneration: fc.constantFrom(null, 50, 100),
    generation: fc.constantFrom(null, 10, 100),
    verdict: fc.constantFrom(null, "plateau", "perfect-accuracy"),
    bestAccuracy: fc.constantFrom(null, 0.8, 1),
  });
  const report = fc.record({
    generation: fc.constantFrom(20, 100),
    verdict: fc.constantFrom(null, "plateau", "perfect-accuracy"),
    bestAccuracy: fc.constantFrom(0.8, 0.99, 1),
  });
  const settings = fc.record({
    mode: fc.constantFrom("async" as const, "lockstep" as const),
    rule: fc.constantFrom(
      "2024" as const,
      "2025-binary" as const,
      "2025-multiclass" as const,
      "none" as const,
    ),
    maxGenerations: fc.constantFrom(null, 100),
    maxEvaluations: fc.constantFrom(undefined, 5000),
  });

  it("is true for every report that turns 'go on' into a stop (the coordinator skips the policy otherwise)", () => {
    fc.assert(
      fc.property(
        fc.array(view, { minLength: 1, maxLength: 6 }),
        fc.nat(),
        report,
        settings,
        (vs, k, r, c) => {
          const before = vs.map((v, id) => ({ ...v, id }));
          const cfg = config(c);
          fc.pre(decideStop(before, cfg) === null);
          const i = k % before.length;
          // a report changes its own island's generation, verdict and best accuracy, nothing else
          const after = before.map((v) => (v.id === i ? { ...v, ...r } : v));
          if (decideStop(after, cfg) !== null) expect(reportMayStop(before[i], after[i], cfg)).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("is false for an ordinary report, for a plateau reported before, and in lockstep always", () => {
    const plain = island(0);
    const plateau = island(0, { verdict: "plateau" });
    expect(reportMayStop(plain, island(0, { generation: 15 }), config({}))).toBe(false);
    expect(reportMayStop(plain, plateau, config({}))).toBe(true);
    expect(reportMayStop(plateau, island(0, { verdict: "plateau", generation: 15 }), config({}))).toBe(false);
    expect(reportMayStop(plain, island(0, { bestAccuracy: 1 }), config({}))).toBe(true);
    expect(reportMayStop(plain, island(0, { bestAccuracy: 1 }), config({ rule: "2025-multiclass" }))).toBe(
      false,
    );
    expect(reportMayStop(plain, plateau, config({ mode: "lockstep" }))).toBe(false);
  });
});
