// The fast evaluator's memory layout (arena.ts): the arena's parts, the memo's and the entries' columns
// within their budgets, and the SIMD memory's aligned offsets.
import { describe, expect, it } from "vitest";
import { arenaLayout, budget, kernelMemory } from "../../src/evaluator/arena.ts";
import { SCORE_TOTALS_BYTES } from "../../src/evaluator/score-kernel.ts";
import { setup } from "./helpers.ts";

const MiB = 1024 * 1024;

describe("arenaLayout", () => {
  const { net } = setup([2, 75, 2], 200, 1);

  it("places x, the block buffer and the pool, and sizes the pool by the budgets", () => {
    const a = arenaLayout(net, 200, 2, 128, 256, {});
    expect(a.aOff).toEqual([0, 75]);
    expect(a.units).toBe(77);
    expect(a.blockBase).toBe(2 * 200);
    expect(a.poolBase).toBe(2 * 200 + 77 * 128);
    // two inputs: at most 2^2 distinct rows per first-layer unit
    expect(a.memoSlots).toBe(75 * 4);
    // the default 64 MiB of 800-byte columns; entries capped at twice the search window
    const entryCols = Math.floor((64 * MiB) / 800);
    expect(a.maxEntries).toBe(512);
    expect(a.slots).toBe(512);
    expect(a.poolCols).toBe(300 + 77 + entryCols);
    expect(a.arenaFloats).toBe(a.poolBase + a.poolCols * 200);
  });

  it("has no entries without a cache budget and no memo when it would hold no more than the layer's units", () => {
    const a = arenaLayout(net, 200, 2, 128, 256, { cacheBytes: 0, columnCacheBytes: 75 * 800 });
    expect(a.maxEntries).toBe(0);
    expect(a.slots).toBe(0);
    expect(a.memoSlots).toBe(0);
    expect(a.poolCols).toBe(0);
    const b = arenaLayout(net, 200, 2, 128, 4, { cacheBytes: 10 * 77 * 800 });
    expect(b.maxEntries).toBe(8);
    expect(b.slots).toBe(8);
  });

  it("refuses a negative budget", () => {
    expect(() => arenaLayout(net, 200, 2, 128, 256, { cacheBytes: -1 })).toThrow(RangeError);
    expect(() => budget("x", Number.NaN, 1)).toThrow(RangeError);
    expect(budget("x", undefined, 3)).toBe(3);
  });
});

describe("kernelMemory", () => {
  it("puts the weights 16-aligned after the arena and the totals 8-aligned last", () => {
    const { net } = setup([3, 5, 4], 10, 1);
    const m = kernelMemory(net, 10, 1001);
    expect(m.weightsAt).toBe(4016);
    expect(m.weightsAt % 16).toBe(0);
    expect(m.columnsAt).toBeGreaterThan(m.weightsAt);
    expect(m.labelsAt).toBeGreaterThan(m.columnsAt);
    expect(m.clsAt).toBe(m.labelsAt + 40);
    expect(m.totalsAt % 8).toBe(0);
    expect(m.totalsAt).toBeGreaterThanOrEqual(m.clsAt + 16);
    expect(m.bytes).toBe(m.totalsAt + SCORE_TOTALS_BYTES);
  });
});
