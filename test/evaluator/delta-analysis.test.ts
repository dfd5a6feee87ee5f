// The delta analysis (delta-analysis.ts): a unit is changed when its own row differs, or when it keeps
// a weight from a changed unit of the layer below (in the child's mask); nothing else is marked. The
// units recomputed are the changed and the unknown ones of the child's plan, unless the delta does not pay.
import { describe, expect, it } from "vitest";
import { emptyMask, type Mask, setBit, withFlipped } from "../../src/core/mask.ts";
import { DeltaAnalysis, markChanged } from "../../src/evaluator/delta-analysis.ts";
import { allocPlan, compilePlan } from "../../src/evaluator/plan.ts";
import { setup } from "./helpers.ts";

// [2,3,2]: layer 0's unit o has bits 2o, 2o + 1; layer 1's unit o has bits 6 + 3o .. 8 + 3o
const { net } = setup([2, 3, 2], 4, 1);

function analyse(child: Mask, parent: Mask): number[][] {
  const changed = net.layers.map((L) => new Uint8Array(L.outputs).fill(1));
  markChanged(net, child.words, parent.words, changed, new Int32Array(3));
  return changed.map((c) => Array.from(c));
}

function maskOf(bits: number[]): Mask {
  const m = emptyMask(net.genomeLength);
  for (const b of bits) setBit(m, b, true);
  return m;
}

describe("markChanged", () => {
  it("marks nothing for identical masks (and clears what was marked)", () => {
    const m = maskOf([0, 3, 6, 10]);
    expect(analyse(m, m)).toEqual([
      [0, 0, 0],
      [0, 0],
    ]);
  });

  it("a flip in the first layer dirties only the next-layer units that keep a weight from it", () => {
    // hidden unit 0 feeds logit 0 (bit 6 kept) but not logit 1 (bit 9 pruned)
    const parent = maskOf([0, 6, 10]);
    expect(analyse(withFlipped(parent, 1), parent)).toEqual([
      [1, 0, 0],
      [1, 0],
    ]);
    // both keep it: both dirty
    const both = maskOf([0, 6, 9]);
    expect(analyse(withFlipped(both, 1), both)).toEqual([
      [1, 0, 0],
      [1, 1],
    ]);
  });

  it("a flip in the output layer changes only its logit", () => {
    const parent = maskOf([0, 2, 4, 6, 7, 8]);
    expect(analyse(withFlipped(parent, 10), parent)).toEqual([
      [0, 0, 0],
      [0, 1],
    ]);
  });
});

describe("DeltaAnalysis.recompute", () => {
  function analysis(maxWork: number) {
    const plan = allocPlan(net);
    const changed = net.layers.map((L) => new Uint8Array(L.outputs));
    const rec = net.layers.map((L) => new Uint8Array(L.outputs));
    const a = new DeltaAnalysis(net, plan, changed, rec, [0, 3], { memoed: false, loss: true, maxWork });
    return { plan, rec, a };
  }
  const known = Int32Array.of(0, 1, 2, 3, 4);
  const none = new Uint8Array(2);
  const noTerms = new Int32Array(2);

  it("recomputes the changed units of the child's plan and those the parent does not know", () => {
    const parent = maskOf([0, 2, 4, 6, 7, 8, 9, 10, 11]);
    const child = withFlipped(parent, 10);
    const { plan, rec, a } = analysis(Number.POSITIVE_INFINITY);
    compilePlan(net, child, plan, "sparse");
    a.mark(child.words, parent.words);
    expect(a.recompute(known, none, noTerms)).toBe(1);
    expect(rec.map((r) => Array.from(r))).toEqual([
      [0, 0, 0],
      [0, 1],
    ]);
    // hidden unit 1 unknown in the parent: recomputed too, from layer 0
    expect(a.recompute(Int32Array.of(0, -1, 2, 3, 4), none, noTerms)).toBe(0);
    expect(Array.from(rec[0])).toEqual([0, 1, 0]);
  });

  it("reports no work for an identical child, and −1 when the delta does not pay", () => {
    const m = maskOf([0, 2, 4, 6, 7, 8, 9, 10, 11]);
    const { plan, a } = analysis(0.85);
    compilePlan(net, m, plan, "sparse");
    a.mark(m.words, m.words);
    expect(a.recompute(known, none, noTerms)).toBe(2);
    const { plan: p2, a: never } = analysis(0);
    const child = withFlipped(m, 10);
    compilePlan(net, child, p2, "sparse");
    never.mark(child.words, m.words);
    expect(never.recompute(known, none, noTerms)).toBe(-1);
  });
});
