// Edge-popup's per-layer top-k of |score|: how many are kept, and which (ties to the lower index).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { keptCount, topKMask } from "../../../src/core/train/topk.ts";

/** The plain definition: rank by |score| descending, ties by index ascending, keep the first k. */
function bySort(scores: Float32Array | Float64Array, keep: number): number[] {
  const idx = [...scores.keys()].sort((a, b) => Math.abs(scores[b]) - Math.abs(scores[a]) || a - b);
  const mask = new Array(scores.length).fill(0);
  for (const i of idx.slice(0, keptCount(scores.length, keep))) mask[i] = 1;
  return mask;
}

describe("keptCount", () => {
  it("keeps n − ⌊(1 − keep) · n⌋ in double, as edge-popup's GetSubnet prunes int((1 − k) · n)", () => {
    expect(keptCount(150, 0.5)).toBe(75);
    expect(keptCount(7, 0.5)).toBe(4);
    expect(keptCount(10, 0.3)).toBe(3);
    expect(keptCount(235_200, 0.5)).toBe(117_600);
    expect(keptCount(20, 1)).toBe(20);
    expect(keptCount(20, 0.01)).toBe(1);
  });
});

describe("topKMask", () => {
  it("keeps exactly keptCount, the largest |score| first, ties to the lower index (against a sort)", () => {
    fc.assert(
      fc.property(
        // few distinct magnitudes and both signs, so ties are common
        fc.array(fc.integer({ min: -4, max: 4 }), { minLength: 1, maxLength: 60 }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        (values, keep) => {
          const scores = Float64Array.from(values, (v) => v / 4);
          const mask = new Float32Array(scores.length);
          topKMask(scores, keep, mask, new Float64Array(scores.length));
          expect([...mask]).toEqual(bySort(scores, keep));
          expect(mask.reduce((a, b) => a + b, 0)).toBe(keptCount(scores.length, keep));
        },
      ),
    );
  });

  it("selects on a large Float32 layer with Float32 scratch (as training runs it) as a sort does", () => {
    const n = 5000;
    const scores = Float32Array.from({ length: n }, (_, i) => (Math.sin(i * 12.9898) * 43758.5453) % 1);
    const mask = new Float32Array(n);
    topKMask(scores, 0.37, mask, new Float32Array(n));
    expect([...mask]).toEqual(bySort(scores, 0.37));
  });
});
