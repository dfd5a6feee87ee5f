import { describe, expect, it } from "vitest";
import type { Individual } from "../../src/core/ga/index.ts";
import type { OutNeighbour } from "../../src/core/protocol/index.ts";
import { emigrantsToSelect, type ShareSettings, shareForEdge } from "../../src/island/share.ts";

// shareForEdge only picks from the list, so stand-ins do
const emigrants = Array.from({ length: 8 }, (_, i) => ({ id: i }) as unknown as Individual);
const ids = (xs: Individual[]) => xs.map((x) => (x as unknown as { id: number }).id);
const out = (island: number, weight: number): OutNeighbour => ({ island, address: "ws://x:1", weight });
const settings = (over: Partial<ShareSettings>): ShareSettings => ({
  weights: "count",
  k: 2,
  maxPerMessage: 8,
  seedStream: "s1/island/0",
  island: 0,
  ...over,
});

describe("emigrants per out-edge", () => {
  it("count weights: the first w·k, capped by what a message may carry", () => {
    const s = settings({ maxPerMessage: 5 });
    expect(emigrantsToSelect([out(1, 1), out(2, 3)], s)).toBe(5);
    expect(ids(shareForEdge(out(1, 1), emigrants, 1, s))).toEqual([0, 1]);
    expect(ids(shareForEdge(out(2, 3), emigrants, 1, s))).toEqual([0, 1, 2, 3, 4]);
    expect(emigrantsToSelect([], s)).toBe(0);
  });

  it("probability weights: each of the first k with probability p, the same draw for an (epoch, edge)", () => {
    const s = settings({ weights: "probability", k: 4 });
    expect(emigrantsToSelect([out(1, 0.3), out(2, 1)], s)).toBe(4);
    expect(ids(shareForEdge(out(2, 1), emigrants, 1, s))).toEqual([0, 1, 2, 3]);
    // a resend of epoch 3 picks what the first send picked
    const first = ids(shareForEdge(out(1, 0.5), emigrants, 3, s));
    expect(ids(shareForEdge(out(1, 0.5), emigrants, 3, s))).toEqual(first);
    // over many epochs about half of the k travel, never beyond the first k
    let sent = 0;
    for (let epoch = 1; epoch <= 400; epoch++) {
      const got = ids(shareForEdge(out(1, 0.5), emigrants, epoch, s));
      expect(got.every((i) => i < 4)).toBe(true);
      sent += got.length;
    }
    expect(sent / (400 * 4)).toBeGreaterThan(0.4);
    expect(sent / (400 * 4)).toBeLessThan(0.6);
  });
});
