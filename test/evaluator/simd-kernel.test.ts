// The WebAssembly SIMD kernels must give the JavaScript kernel's columns and the reference evaluator's
// metrics bit for bit, for every kind this runtime has. fast-check prints the failing seed and path.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluate, referenceEvaluator } from "../../src/core/evaluate.ts";
import { Rng } from "../../src/core/rng.ts";
import { createFastEvaluator } from "../../src/evaluator/index.ts";
import { unitColumn } from "../../src/evaluator/kernel.ts";
import {
  createSimdKernel,
  kernelChoiceFromEnv,
  type SimdKind,
  simdKinds,
  simdUnavailableReason,
} from "../../src/evaluator/simd-kernel.ts";
import { ARCHS, expectSame, gaBatches, INITS, maskWithDensity, setup } from "./helpers.ts";

const KINDS: SimdKind[] = simdKinds();
/** every kernel an evaluator can use: the JavaScript ones too (the fallback without SIMD) */
const ALL: ("js" | SimdKind)[] = ["js", ...KINDS];

describe("SIMD kernels", () => {
  it("this runtime has WebAssembly SIMD, so the tests below exercise it", () => {
    // Node ≥ 16 validates SIMD; a failure here means wabt could not assemble the kernel
    expect(simdUnavailableReason()).toBeNull();
    expect(KINDS).toContain("simd");
  });

  it("unit columns equal kernel.ts's, every term count, row count and both activations (property)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...KINDS),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 70 }),
        fc.boolean(),
        fc.integer(),
        (kind, k, len, relu, seed) => {
          const rng = Rng.derive(seed, "simd-unit");
          const simd = createSimdKernel(kind, 1 << 20);
          if (simd === null) throw new Error(`no ${kind} kernel`);
          // arena: 48 source columns of 128 floats, then the destination; term lists after it
          const arena = new Float32Array(simd.memory.buffer, 0, 48 * 128 + 128);
          for (let i = 0; i < 48 * 128; i++) {
            const v = rng.chance(0.1) ? 0 : rng.normal(0, 2);
            arena[i] = rng.chance(0.05) ? -0 : v;
          }
          const col = new Int32Array(simd.memory.buffer, 1 << 16, k);
          const w = new Float64Array(simd.memory.buffer, 1 << 17, k);
          for (let t = 0; t < k; t++) {
            col[t] = rng.int(48) * 128 + rng.int(128 - len + 1);
            w[t] = Math.fround(rng.normal(0, 1));
          }
          const bias = rng.chance(0.5) ? 0 : Math.fround(rng.normal(0, 1));
          const dst = 48 * 128;
          const expected = new Float32Array(len);
          unitColumn(arena, col, w, 0, k, bias, expected, 0, len, relu, new Float64Array(128));
          simd.unit(col.byteOffset, w.byteOffset, k, bias, 4 * dst, len, relu ? 1 : 0);
          for (let r = 0; r < len; r++) {
            // identical values; the sign of a zero may differ (kernel.ts explains why that never matters)
            const a = arena[dst + r];
            if (!(a === expected[r])) throw new Error(`${kind} row ${r}: ${a} vs ${expected[r]}`);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it("the evaluator with each kernel equals the reference on random networks and masks (property)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ALL),
        fc.constantFrom(...ARCHS),
        fc.integer({ min: 0, max: INITS.length - 1 }),
        fc.integer({ min: 1, max: 400 }),
        fc.integer(),
        fc.constantFrom(512, 64, 17, 16, 7),
        (kind, arch, init, n, seed, blockRows) => {
          const { net, split } = setup(arch, n, seed, INITS[init]);
          const fast = createFastEvaluator(net, split, { blockRows, kernel: kind });
          expect(fast.kernel).toBe(kind);
          const rng = Rng.derive(seed, "simd-masks");
          for (const p of [0, 0.1, 0.5, 0.9, 1]) {
            const mask = maskWithDensity(net.genomeLength, p, rng);
            expectSame(fast.evaluate(mask), evaluate(net, mask, split), `${kind} density ${p}`);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("GA-like batches through delta evaluation equal the reference with each kernel", () => {
    for (const kind of ALL) {
      for (const arch of [
        [2, 75, 2],
        [64, 75, 10],
        [5, 12, 9, 7, 3],
      ]) {
        const { net, split } = setup(arch, 333, 8);
        const fast = createFastEvaluator(net, split, { kernel: kind });
        const reference = referenceEvaluator(net, split);
        for (const batch of gaBatches(net.genomeLength, `simd-${kind}-${arch}`, { generations: 3 })) {
          const expected = reference(batch);
          fast.batch(batch).forEach((m, k) => {
            expectSame(m, expected[k], `${kind} ${arch} mask ${k}`);
          });
        }
        expect(fast.cacheStats().deltaEvaluations).toBeGreaterThan(0);
      }
    }
  });

  it("kernel: js keeps the JavaScript kernels; auto picks the best this runtime has", () => {
    const { net, split } = setup([2, 20, 2], 50, 3);
    expect(createFastEvaluator(net, split, { kernel: "js" }).kernel).toBe("js");
    expect(createFastEvaluator(net, split).kernel).toBe(KINDS[0]);
  });

  it("a memory beyond wasm32's 4 GiB: auto falls back to JavaScript, an explicit kind is an error", () => {
    expect(createSimdKernel("auto", 2 ** 33)).toBeNull();
    expect(() => createSimdKernel("simd", 2 ** 33)).toThrow(/at most 4 GiB/);
    expect(createSimdKernel("js", 1024)).toBeNull();
  });

  it("SLT_SIMD chooses the kernel; anything else is a clear error", () => {
    expect(kernelChoiceFromEnv({})).toBe("auto");
    expect(kernelChoiceFromEnv({ SLT_SIMD: "1" })).toBe("auto");
    expect(kernelChoiceFromEnv({ SLT_SIMD: "0" })).toBe("js");
    expect(kernelChoiceFromEnv({ SLT_SIMD: "simd" })).toBe("simd");
    expect(kernelChoiceFromEnv({ SLT_SIMD: "relaxed-simd" })).toBe("relaxed-simd");
    expect(() => kernelChoiceFromEnv({ SLT_SIMD: "fast" })).toThrow(/SLT_SIMD must be/);
  });
});
