import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { costOf, startable } from "../../src/sweep/schedule.ts";

/**
 * A sweep's schedule, simulated: runs of `costs` on `capacity` cores, the running run finishing next
 * chosen by `pick` (any order). Returns every start as [run, cores in use after it].
 */
function simulate(costs: readonly number[], capacity: number, pick: (running: number) => number) {
  const waiting = costs.map((cost, id) => ({ id, cost }));
  const running: { id: number; cost: number }[] = [];
  const used = () => running.reduce((n, r) => n + Math.min(r.cost, capacity), 0);
  const starts: { id: number; used: number; alone: boolean }[] = [];
  while (waiting.length > 0 || running.length > 0) {
    const n = startable(
      waiting.map((w) => w.cost),
      used(),
      capacity,
    );
    for (const w of waiting.splice(0, n)) {
      running.push(w);
      starts.push({ id: w.id, used: used(), alone: running.length === 1 });
    }
    if (running.length === 0) throw new Error("nothing running and nothing started: stuck");
    running.splice(pick(running.length) % running.length, 1);
  }
  return starts;
}

describe("sweep schedule", () => {
  it("costs a run its islands, or its threads for one population, at least 1; remote islands 1", () => {
    expect(costOf({ islands: 4 })).toBe(4);
    expect(costOf({ islands: 1 })).toBe(1);
    expect(costOf({ islands: 1, threads: 2 })).toBe(2);
    expect(costOf({ islands: 1, threads: 0 })).toBe(1);
    expect(costOf({ islands: 8, remote: true })).toBe(1);
  });

  it("starts runs in order while their costs fit; a run larger than the budget runs alone", () => {
    expect(startable([1, 1, 1], 0, 2)).toBe(2);
    expect(startable([2, 1], 1, 2)).toBe(0);
    expect(startable([1, 2, 1], 0, 2)).toBe(1); // no overtaking: the 2 waits, and so does the 1 after it
    expect(startable([4, 1], 0, 2)).toBe(1); // 4 > 2: it runs alone
    expect(startable([4], 1, 2)).toBe(0);
    expect(startable([], 0, 2)).toBe(0);
  });

  it("runs on one ssh hosts file take turns; runs on another file or on this machine go beside them", () => {
    const a = "/hosts/a.json";
    const b = "/hosts/b.json";
    expect(startable([1, 1], 0, 8, [a, a])).toBe(1); // the second waits for the first's hosts
    expect(startable([1, 1, 1], 0, 8, [a, b, undefined])).toBe(3);
    expect(startable([1, 1], 1, 8, [a, b], new Set([a]))).toBe(0); // a is held: no overtaking either
    expect(startable([1, 1], 1, 8, [b, a], new Set([a]))).toBe(1);
  });

  it("property: no two runs hold one hosts file at once, and none is stuck", () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(undefined, "a", "b"), { maxLength: 20 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 10 }),
        (hosts, picks) => {
          const waiting = hosts.map((h, id) => ({ id, h }));
          const running: { id: number; h: string | undefined }[] = [];
          let k = 0;
          let started = 0;
          while (waiting.length > 0 || running.length > 0) {
            const busy = new Set(running.flatMap((r) => (r.h === undefined ? [] : [r.h])));
            const n = startable(
              waiting.map(() => 1),
              running.length,
              4,
              waiting.map((w) => w.h),
              busy,
            );
            for (const w of waiting.splice(0, n)) {
              expect(w.h === undefined || !busy.has(w.h)).toBe(true);
              if (w.h !== undefined) busy.add(w.h);
              running.push(w);
              started++;
            }
            if (running.length === 0) throw new Error("stuck");
            running.splice(picks[k++ % picks.length] % running.length, 1);
          }
          expect(started).toBe(hosts.length);
        },
      ),
    );
  });

  it("property: every run starts once, in order, within the budget (a run larger than it alone), never stuck", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 30 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 10 }),
        (costs, capacity, picks) => {
          let k = 0;
          const starts = simulate(costs, capacity, () => picks[k++ % picks.length]);
          expect(starts.map((s) => s.id)).toEqual(costs.map((_, i) => i));
          for (const s of starts) {
            expect(s.used).toBeLessThanOrEqual(capacity);
            if (costs[s.id] > capacity) expect(s.alone).toBe(true);
          }
        },
      ),
    );
  });

  it("property: the budget is used: a waiting run that fits beside the running ones has started", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 0, max: 8 }),
        fc.integer({ min: 1, max: 8 }),
        (costs, running, capacity) => {
          const n = startable(costs, Math.min(running, capacity), capacity);
          const used = costs
            .slice(0, n)
            .reduce((a, c) => a + Math.min(c, capacity), Math.min(running, capacity));
          expect(used).toBeLessThanOrEqual(capacity);
          if (n < costs.length) expect(used + Math.min(costs[n], capacity)).toBeGreaterThan(capacity);
        },
      ),
    );
  });
});
