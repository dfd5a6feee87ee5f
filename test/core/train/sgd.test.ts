// The baselines' optimiser: edge-popup's cosine schedule and PyTorch's SGD step, by hand.
import { describe, expect, it } from "vitest";
import { cosineLr, sgdStep } from "../../../src/core/train/sgd.ts";

describe("cosineLr", () => {
  it("starts at the base rate, halves it half-way and nears zero in the last epoch", () => {
    expect(cosineLr(0.1, 0, 100)).toBe(0.1);
    expect(cosineLr(0.1, 50, 100)).toBeCloseTo(0.05, 15);
    expect(cosineLr(0.1, 25, 100)).toBeCloseTo(0.05 * (1 + Math.SQRT1_2), 15);
    // ½ (1 + cos(0.99 π)) · 0.1
    expect(cosineLr(0.1, 99, 100)).toBeCloseTo(2.4671981713420017e-5, 18);
  });
});

describe("sgdStep", () => {
  it("adds weight decay to the gradient, accumulates momentum and steps by lr times the buffer", () => {
    const p = Float64Array.of(1, -2);
    const g = Float64Array.of(0.5, 0.1);
    const buf = new Float64Array(2);
    const s = { lr: 0.1, momentum: 0.9, weightDecay: 0.01 };
    sgdStep(p, g, buf, s);
    // d = g + 0.01 p = (0.51, 0.08); buffer = d; p = p − 0.1 d
    expect(buf[0]).toBeCloseTo(0.51, 15);
    expect(buf[1]).toBeCloseTo(0.08, 15);
    expect(p[0]).toBeCloseTo(0.949, 15);
    expect(p[1]).toBeCloseTo(-2.008, 15);
    sgdStep(p, g, buf, s);
    // d = (0.5 + 0.00949, 0.1 − 0.02008); buffer = 0.9 (0.51, 0.08) + d = (0.96849, 0.15192)
    expect(buf[0]).toBeCloseTo(0.96849, 15);
    expect(buf[1]).toBeCloseTo(0.15192, 15);
    expect(p[0]).toBeCloseTo(0.852151, 15);
    expect(p[1]).toBeCloseTo(-2.023192, 15);
  });
});
