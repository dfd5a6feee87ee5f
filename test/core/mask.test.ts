import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  cloneMask,
  emptyMask,
  flipBit,
  fullMask,
  getBit,
  hamming,
  maskBytesView,
  maskFromBase64,
  maskFromBytes,
  maskFromBytesInto,
  maskHash,
  maskHashAndZeros,
  masksEqual,
  maskToBase64,
  maskToBytes,
  popcount,
  randomMask,
  setBit,
  sparsity,
  uniformCrossover,
  withFlipped,
  zeros,
} from "../../src/core/mask.ts";
import { Rng } from "../../src/core/rng.ts";

const bitsArb = fc.array(fc.boolean(), { minLength: 0, maxLength: 300 });

function fromBits(bits: boolean[]) {
  const m = emptyMask(bits.length);
  for (const [i, b] of bits.entries()) setBit(m, i, b);
  return m;
}

describe("mask", () => {
  it("stores bit i in bit (i mod 8) of byte floor(i/8)", () => {
    const m = emptyMask(20);
    setBit(m, 0, true);
    setBit(m, 9, true);
    setBit(m, 19, true);
    expect([...maskToBytes(m)]).toEqual([0b1, 0b10, 0b1000]);
  });

  it("get/set/flip/popcount/zeros agree with a boolean array", () => {
    fc.assert(
      fc.property(bitsArb, (bits) => {
        const m = fromBits(bits);
        for (const [i, b] of bits.entries()) expect(getBit(m, i)).toBe(b);
        const ones = bits.filter(Boolean).length;
        expect(popcount(m)).toBe(ones);
        expect(zeros(m)).toBe(bits.length - ones);
        if (bits.length > 0) {
          flipBit(m, bits.length - 1);
          expect(getBit(m, bits.length - 1)).toBe(!bits[bits.length - 1]);
        }
      }),
    );
  });

  it("round-trips through bytes and base64", () => {
    fc.assert(
      fc.property(bitsArb, (bits) => {
        const m = fromBits(bits);
        expect(masksEqual(maskFromBytes(maskToBytes(m), m.length), m)).toBe(true);
        expect(masksEqual(maskFromBase64(maskToBase64(m), m.length), m)).toBe(true);
      }),
    );
  });

  it("rejects byte arrays of the wrong size or with padding bits set", () => {
    expect(() => maskFromBytes(new Uint8Array(2), 20)).toThrow(/needs 3 bytes, got 2/);
    expect(() => maskFromBytes(new Uint8Array([0, 0, 0x10]), 20)).toThrow(/padding/);
  });

  it("maskBytesView is the packed bytes without a copy; maskToBytes is a copy", () => {
    fc.assert(
      fc.property(bitsArb, (bits) => {
        const m = fromBits(bits);
        const view = maskBytesView(m);
        expect([...view]).toEqual([...maskToBytes(m)]);
        expect(view.length).toBe(Math.ceil(m.length / 8));
      }),
    );
    const m = fromBits([true, false, true]);
    const copy = maskToBytes(m);
    copy[0] = 0xff;
    expect(getBit(m, 1)).toBe(false);
    setBit(m, 1, true);
    expect(maskBytesView(m)[0]).toBe(0b111);
    // a mask whose words are a view into a larger buffer
    const words = new Uint32Array([0xdeadbeef, 0x01020304, 0xffffffff]).subarray(1, 2);
    expect([...maskBytesView({ length: 24, words })]).toEqual([4, 3, 2]);
    expect([...maskToBytes({ length: 24, words })]).toEqual([4, 3, 2]);
  });

  it("maskFromBytesInto fills reused words exactly as maskFromBytes does", () => {
    const into = new Uint32Array(20).fill(0xffffffff); // stale bits everywhere
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 0, maxLength: 600 }), (bits) => {
        const m = fromBits(bits);
        const bytes = maskToBytes(m);
        const got = maskFromBytesInto(bytes, m.length, into);
        expect(got.words.buffer).toBe(into.buffer);
        expect(got.words.length).toBe(m.words.length);
        expect(masksEqual(got, m)).toBe(true);
        expect(maskHash(got)).toBe(maskHash(m));
        into.fill(0xffffffff);
      }),
    );
    expect(() => maskFromBytesInto(new Uint8Array(5), 40, new Uint32Array(1))).toThrow(/2 words needed/);
    expect(() => maskFromBytesInto(new Uint8Array(4), 40, into)).toThrow(/needs 5 bytes, got 4/);
    expect(() => maskFromBytesInto(new Uint8Array([0, 0, 0x10]), 20, into)).toThrow(/padding/);
  });

  it("maskHashAndZeros agrees with maskHash and zeros", () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 0, maxLength: 2000 }), (bits) => {
        const m = fromBits(bits);
        expect(maskHashAndZeros(m)).toEqual({ hash: maskHash(m), zeros: zeros(m) });
      }),
    );
    const big = randomMask(100_000, Rng.derive(9, "hash-and-zeros"), 0.3);
    expect(maskHashAndZeros(big)).toEqual({ hash: maskHash(big), zeros: zeros(big) });
    expect(maskHashAndZeros(fullMask(100_003))).toEqual({ hash: maskHash(fullMask(100_003)), zeros: 0 });
  });

  it("rejects out-of-range bit indices", () => {
    const m = emptyMask(10);
    expect(() => getBit(m, 10)).toThrow(/outside mask of length 10/);
    expect(() => setBit(m, -1, true)).toThrow(RangeError);
  });

  it("hamming distance counts differing bits; a one-bit flip is distance 1", () => {
    fc.assert(
      fc.property(bitsArb, bitsArb, (a, b) => {
        const n = Math.min(a.length, b.length);
        const ma = fromBits(a.slice(0, n));
        const mb = fromBits(b.slice(0, n));
        let d = 0;
        for (let i = 0; i < n; i++) if (a[i] !== b[i]) d++;
        expect(hamming(ma, mb)).toBe(d);
        if (n > 0) expect(hamming(ma, withFlipped(ma, n - 1))).toBe(1);
      }),
    );
  });

  it("uniform crossover takes every bit from one of the parents and keeps the padding clear", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.integer(), (n, seed) => {
        const rng = Rng.derive(seed, "crossover-test");
        const a = randomMask(n, rng);
        const b = randomMask(n, rng);
        const c = uniformCrossover(a, b, rng);
        for (let i = 0; i < n; i++)
          expect(getBit(c, i) === getBit(a, i) || getBit(c, i) === getBit(b, i)).toBe(true);
        expect(masksEqual(maskFromBytes(maskToBytes(c), n), c)).toBe(true);
      }),
    );
  });

  it("random masks at p=0.5 are about half full", () => {
    const m = randomMask(100_000, Rng.derive(3, "density"));
    expect(sparsity(m)).toBeGreaterThan(0.49);
    expect(sparsity(m)).toBeLessThan(0.51);
  });

  it("hash is stable for equal masks and differs after a flip", () => {
    const rng = Rng.derive(5, "hash");
    const seen = new Set<string>();
    for (let k = 0; k < 2000; k++) {
      const m = randomMask(300, rng);
      const h = maskHash(m);
      expect(h).toMatch(/^[0-9a-f]{16}$/);
      expect(maskHash(cloneMask(m))).toBe(h);
      expect(maskHash(withFlipped(m, k % 300))).not.toBe(h);
      seen.add(h);
    }
    expect(seen.size).toBe(2000);
    expect(maskHash(emptyMask(8))).not.toBe(maskHash(emptyMask(9)));
    expect(popcount(fullMask(37))).toBe(37);
  });
});
