import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  isLaxConnected,
  laxRandomMask,
  makeOperators,
  negligentCrossover,
  negligentMutation,
  pathAwareCrossover,
  pathAwareMutation,
} from "../../../src/core/ga/index.ts";
import { emptyMask, hamming, type Mask, masksEqual, randomMask } from "../../../src/core/mask.ts";
import { Rng } from "../../../src/core/rng.ts";
import { topology } from "./fakes.ts";

/** Every bit of the child equals that bit of a or of b. */
function fromParents(child: Mask, a: Mask, b: Mask): boolean {
  for (let k = 0; k < child.words.length; k++) {
    if (((child.words[k] ^ a.words[k]) & (child.words[k] ^ b.words[k])) !== 0) return false;
  }
  return true;
}

const seedArb = fc.integer({ min: 0, max: 2 ** 31 });
const widthsArb = fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 2, maxLength: 4 });

describe("negligent operators", () => {
  it("a mutant differs from its parent in exactly one bit", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), seedArb, (n, seed) => {
        const rng = Rng.derive(seed, "t");
        const parent = randomMask(n, rng);
        const r = negligentMutation(parent, rng);
        expect(hamming(parent, r.mask)).toBe(1);
        expect(r.fallback).toBe(false);
      }),
    );
  });

  it("every child bit comes from one of its parents", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), seedArb, (n, seed) => {
        const rng = Rng.derive(seed, "t");
        const a = randomMask(n, rng);
        const b = randomMask(n, rng);
        expect(fromParents(negligentCrossover(a, b, rng).mask, a, b)).toBe(true);
      }),
    );
  });

  it("mutation positions cover the whole genome", () => {
    const rng = Rng.derive(1, "cover");
    const parent = emptyMask(20);
    const seen = new Set<number>();
    for (let t = 0; t < 2000; t++) {
      const m = negligentMutation(parent, rng).mask;
      seen.add(Math.log2(m.words[0]));
    }
    expect(seen.size).toBe(20);
  });
});

describe("path-aware operators", () => {
  it("mutation of a valid parent: exactly one bit flipped and lax-connected", () => {
    fc.assert(
      fc.property(widthsArb, seedArb, (widths, seed) => {
        const net = topology(widths);
        const rng = Rng.derive(seed, "pm");
        const parent = laxRandomMask(net, rng).mask;
        fc.pre(isLaxConnected(net, parent));
        for (let t = 0; t < 5; t++) {
          const r = pathAwareMutation(net, parent, rng);
          expect(hamming(parent, r.mask)).toBe(1);
          if (!r.fallback) expect(isLaxConnected(net, r.mask)).toBe(true);
        }
      }),
    );
  });

  it("mutation never falls back when a valid one-bit neighbour exists (any 0 bit in a valid parent)", () => {
    fc.assert(
      fc.property(widthsArb, seedArb, (widths, seed) => {
        const net = topology(widths);
        const rng = Rng.derive(seed, "pm2");
        const parent = laxRandomMask(net, rng).mask;
        fc.pre(isLaxConnected(net, parent) && hamming(parent, emptyMask(parent.length)) < parent.length);
        const r = pathAwareMutation(net, parent, rng, 100_000);
        expect(r.fallback).toBe(false);
        expect(isLaxConnected(net, r.mask)).toBe(true);
      }),
    );
  });

  it("mutation picks the layer uniformly, then a weight in it", () => {
    // [2,1,50], all-ones parent: every single flip keeps a path, so the first try is always taken.
    // Layer 0 has 2 of 52 weights: uniform over the genome would hit it ~4% of the time, layer-uniform
    // ~50%, each of its weights ~25%.
    const net = topology([2, 1, 50]);
    const rng = Rng.derive(3, "layers");
    const parent = emptyMask(net.genomeLength);
    for (let i = 0; i < net.genomeLength; i++) parent.words[i >>> 5] |= 1 << (i & 31);
    const counts = new Array<number>(net.genomeLength).fill(0);
    const n = 4000;
    for (let t = 0; t < n; t++) {
      const r = pathAwareMutation(net, parent, rng);
      expect(r.fallback).toBe(false);
      expect(hamming(parent, r.mask)).toBe(1);
      for (let i = 0; i < net.genomeLength; i++)
        if (((r.mask.words[i >>> 5] >>> (i & 31)) & 1) === 0) counts[i]++;
    }
    const layer0 = counts[0] + counts[1];
    expect(layer0).toBeGreaterThan(0.45 * n);
    expect(layer0).toBeLessThan(0.55 * n);
    expect(counts[0]).toBeGreaterThan(0.2 * n);
    expect(counts[1]).toBeGreaterThan(0.2 * n);
    for (let i = 2; i < net.genomeLength; i++) expect(counts[i]).toBeLessThan(0.03 * n);
  });

  it("mutation falls back after the cap when no one-bit neighbour is valid", () => {
    // [1,1,100], empty parent: one flip can never create a path of two edges.
    const net = topology([1, 1, 100]);
    const empty = emptyMask(net.genomeLength);
    const r = pathAwareMutation(net, empty, Rng.derive(4, "fb"), 50);
    expect(r.fallback).toBe(true);
    expect(hamming(empty, r.mask)).toBe(1);
  });

  it("crossover of valid parents gives a valid child whose bits come from the parents", () => {
    fc.assert(
      fc.property(widthsArb, seedArb, (widths, seed) => {
        const net = topology(widths);
        const rng = Rng.derive(seed, "pc");
        const a = laxRandomMask(net, rng).mask;
        const b = laxRandomMask(net, rng).mask;
        fc.pre(isLaxConnected(net, a) && isLaxConnected(net, b));
        const r = pathAwareCrossover(net, a, b, rng);
        expect(fromParents(r.mask, a, b)).toBe(true);
        expect(isLaxConnected(net, r.mask)).toBe(true);
      }),
    );
  });

  it("crossover falls back to a valid parent, or the last child, after the cap", () => {
    // [1,1,2]: bits 0 h←x, 1 y0←h, 2 y1←h. a = 110 (valid), b = 001 (invalid). Any child taking
    // bit 0 from b is invalid; with maxTries 1 and a stream that does so, the fallback is a copy of a.
    const net = topology([1, 1, 2]);
    const a = emptyMask(3);
    a.words[0] = 0b011;
    const b = emptyMask(3);
    b.words[0] = 0b100;
    let sawFallback = false;
    for (let s = 0; s < 50; s++) {
      const r = pathAwareCrossover(net, a, b, Rng.derive(s, "fb"), 1);
      expect(isLaxConnected(net, r.mask)).toBe(true);
      if (r.fallback) {
        sawFallback = true;
        expect(masksEqual(r.mask, a)).toBe(true);
        expect(r.mask).not.toBe(a);
      }
    }
    expect(sawFallback).toBe(true);
    const none = emptyMask(3);
    const r = pathAwareCrossover(net, none, none, Rng.derive(1, "x"), 3);
    expect(r.fallback).toBe(true);
    expect(masksEqual(r.mask, none)).toBe(true);
  });

  it("makeOperators dispatches by kind", () => {
    const net = topology([2, 2, 2]);
    expect(makeOperators("negligent", net).kind).toBe("negligent");
    const ops = makeOperators("path-aware", net, 10);
    const rng = Rng.derive(1, "ops");
    const parent = laxRandomMask(net, rng).mask;
    expect(isLaxConnected(net, ops.mutate(parent, rng).mask)).toBe(true);
  });
});
