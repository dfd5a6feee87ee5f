import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isLaxConnected, type NetworkShape } from "../../../src/core/ga/index.ts";
import { getBit, type Mask, randomMask } from "../../../src/core/mask.ts";
import { initNetwork } from "../../../src/core/network.ts";
import { Rng } from "../../../src/core/rng.ts";
import { bits, topology } from "./fakes.ts";

/** Obviously-correct reachability: unit by unit, edge by edge. */
function bruteForce(net: NetworkShape, m: Mask): boolean {
  let reach = new Array<boolean>(net.layers[0].inputs).fill(true);
  for (const layer of net.layers) {
    const next = new Array<boolean>(layer.outputs).fill(false);
    for (let o = 0; o < layer.outputs; o++) {
      for (let i = 0; i < layer.inputs; i++) {
        if (reach[i] && getBit(m, layer.offset + o * layer.inputs + i)) next[o] = true;
      }
    }
    reach = next;
  }
  return reach.some((r) => r);
}

describe("lax connectivity", () => {
  // [2,2,2]: bit 0 h0←x0, 1 h0←x1, 2 h1←x0, 3 h1←x1, 4 y0←h0, 5 y0←h1, 6 y1←h0, 7 y1←h1
  const net = topology([2, 2, 2]);
  it.each([
    ["00000000", false],
    ["11111111", true],
    ["10001000", true], // x0→h0→y0
    ["10000100", false], // x0→h0, but only h1→y0
    ["00100100", true], // x0→h1→y0
    ["00010001", true], // x1→h1→y1
    ["11110000", false], // nothing reaches an output
    ["00001111", false], // no edge leaves an input
    ["01000010", true], // x1→h0→y1
    ["01000001", false], // x1→h0, h1→y1
  ])("[2,2,2] mask %s → %s", (text, expected) => {
    expect(isLaxConnected(net, bits(text))).toBe(expected);
  });

  it("accepts a real Network and rejects a wrong mask length", () => {
    const real = initNetwork([2, 3, 2], { kind: "uniform", range: 1 }, 1);
    expect(isLaxConnected(real, bits("111111111111"))).toBe(true);
    expect(() => isLaxConnected(real, bits("111"))).toThrow(RangeError);
  });

  it("rows that straddle 32-bit words: [40,1,2] with only input 39 → hidden", () => {
    const t = topology([40, 1, 2]);
    const text = `${"0".repeat(39)}1${"10"}`;
    expect(isLaxConnected(t, bits(text))).toBe(true);
    expect(isLaxConnected(t, bits(`${"0".repeat(40)}10`))).toBe(false);
  });

  it("matches a brute-force search on random nets and masks", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 2, maxLength: 5 }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.constantFrom(0.02, 0.05, 0.1, 0.3, 0.5),
        (widths, seed, p) => {
          const t = topology(widths);
          const m = randomMask(t.genomeLength, Rng.derive(seed, "conn"), p);
          expect(isLaxConnected(t, m)).toBe(bruteForce(t, m));
        },
      ),
      { numRuns: 300 },
    );
  });
});
