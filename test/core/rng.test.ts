import { describe, expect, it } from "vitest";
import { Rng, streamName } from "../../src/core/rng.ts";

describe("rng", () => {
  it("same seed and labels give the same stream; different labels differ", () => {
    const a = Rng.derive(7, "island", 0);
    const b = Rng.derive(7, "island", 0);
    const c = Rng.derive(7, "island", 1);
    const xs = Array.from({ length: 10 }, () => a.uint32());
    expect(Array.from({ length: 10 }, () => b.uint32())).toEqual(xs);
    expect(Array.from({ length: 10 }, () => c.uint32())).not.toEqual(xs);
    expect(streamName(7, "island", 0)).toBe("slt/7/island/0");
  });

  it("save and restore continue the exact sequence, including a pending normal spare", () => {
    const r = Rng.derive(1, "state");
    r.normal();
    const saved = JSON.parse(JSON.stringify(r.save()));
    const expected = [r.normal(), r.next(), r.int(1000), r.normal()];
    const s = Rng.restore(saved);
    expect([s.normal(), s.next(), s.int(1000), s.normal()]).toEqual(expected);
  });

  it("int(n) stays in range and covers it evenly", () => {
    const r = Rng.derive(2, "int");
    const counts = new Array(6).fill(0);
    for (let k = 0; k < 60_000; k++) counts[r.int(6)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(400);
    expect(() => r.int(0)).toThrow(/n must be an integer/);
  });

  it("normal draws have mean 0 and std 1", () => {
    const r = Rng.derive(3, "normal");
    let s = 0;
    let s2 = 0;
    const n = 100_000;
    for (let k = 0; k < n; k++) {
      const v = r.normal();
      s += v;
      s2 += v * v;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.02);
    expect(Math.abs(Math.sqrt(s2 / n) - 1)).toBeLessThan(0.02);
  });

  it("child streams are independent of the parent's position", () => {
    const a = Rng.derive(4, "p");
    const c1 = a.child("x").uint32();
    a.uint32();
    expect(a.child("x").uint32()).toBe(c1);
  });
});
