import { describe, expect, it } from "vitest";
import { E_CONFIG, SltError } from "../../src/core/errors.ts";
import { genomeLength, initNetwork, kaimingSigma, layerOfBit, weightIndex } from "../../src/core/network.ts";

describe("network", () => {
  it("genome lengths match the reference's table", () => {
    const table: [number[], number][] = [
      [[2, 20, 2], 80],
      [[2, 75, 2], 300],
      [[2, 100, 2], 400],
      [[2, 50, 50, 2], 2700],
      [[64, 75, 10], 5550],
      [[64, 20, 10], 1480],
      [[2, 100, 7], 200 + 700],
      [[64, 75, 4], 4800 + 300],
    ];
    for (const [arch, n] of table) {
      expect(genomeLength(arch)).toBe(n);
      expect(initNetwork(arch, { kind: "uniform", range: 1 }, 1).genomeLength).toBe(n);
    }
  });

  it("lays the genome out as layers in order, each [out][in] row-major", () => {
    const net = initNetwork([3, 4, 2], { kind: "uniform", range: 1 }, 1);
    expect(net.layers.map((l) => l.offset)).toEqual([0, 12]);
    expect(weightIndex(net, 0, 2, 1)).toBe(2 * 3 + 1);
    expect(weightIndex(net, 1, 1, 3)).toBe(12 + 1 * 4 + 3);
    expect(layerOfBit(net, 11)).toBe(0);
    expect(layerOfBit(net, 12)).toBe(1);
    expect(net.layers[0].bias).toHaveLength(4);
  });

  it("is fully determined by (architecture, init, seed)", () => {
    const a = initNetwork([2, 75, 2], { kind: "kaiming-normal", prunedFraction: 0.5 }, 9);
    const b = initNetwork([2, 75, 2], { kind: "kaiming-normal", prunedFraction: 0.5 }, 9);
    const c = initNetwork([2, 75, 2], { kind: "kaiming-normal", prunedFraction: 0.5 }, 10);
    expect(b.layers[0].weight).toEqual(a.layers[0].weight);
    expect(c.layers[0].weight).not.toEqual(a.layers[0].weight);
  });

  it("draws each scheme from its distribution", () => {
    const fanIn = 400;
    const arch = [fanIn, 500, 2];
    const u = initNetwork(arch, { kind: "uniform", range: 2.5 }, 1).layers[0].weight;
    const lo = u.reduce((m, v) => Math.min(m, v), Infinity);
    const hi = u.reduce((m, v) => Math.max(m, v), -Infinity);
    expect(lo).toBeGreaterThanOrEqual(-2.5);
    expect(lo).toBeLessThan(-2.49);
    expect(hi).toBeLessThan(2.5);
    expect(hi).toBeGreaterThan(2.49);
    const sigma = kaimingSigma(fanIn, 0.5);
    expect(sigma).toBeCloseTo(Math.SQRT2 / Math.sqrt(200), 12);
    const kn = initNetwork(arch, { kind: "kaiming-normal", prunedFraction: 0.5 }, 1).layers[0].weight;
    const mean = kn.reduce((s, v) => s + v, 0) / kn.length;
    const std = Math.sqrt(kn.reduce((s, v) => s + (v - mean) ** 2, 0) / kn.length);
    expect(Math.abs(mean)).toBeLessThan(0.01 * sigma);
    expect(std / sigma).toBeGreaterThan(0.99);
    expect(std / sigma).toBeLessThan(1.01);
    const sc = initNetwork(arch, { kind: "signed-constant", prunedFraction: 0.5 }, 1).layers[0].weight;
    const f32sigma = Math.fround(sigma);
    expect(sc.every((v) => v === f32sigma || v === -f32sigma)).toBe(true);
    const positive = sc.filter((v) => v > 0).length / sc.length;
    expect(Math.abs(positive - 0.5)).toBeLessThan(0.01);
  });

  it("rejects impossible architectures", () => {
    expect(() => initNetwork([2], { kind: "uniform", range: 1 }, 1)).toThrow(
      /at least an input and an output layer/,
    );
    expect(() => initNetwork([2, 0, 2], { kind: "uniform", range: 1 }, 1)).toThrow(
      /layer 1 width must be a positive integer, got 0/,
    );
    expect(() => initNetwork([2, 5, 1], { kind: "uniform", range: 1 }, 1)).toThrow(/at least 2 output units/);
  });

  it("refuses fewer than 2 output units as a one-line E_CONFIG error", () => {
    try {
      initNetwork([2, 10, 1], { kind: "uniform", range: 1 }, 1);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SltError);
      expect((e as SltError).code).toBe(E_CONFIG);
      expect((e as SltError).message).toBe(
        "network.architecture (--arch) [2,10,1]: has 1 output unit; needs at least 2 output units (one per class; binary tasks use 2 logits)",
      );
    }
  });
});
