// The WebAssembly scoring kernel must give kernel.ts's scoreRows bit for bit, which rests on its exp
// and log being V8's Math.exp and Math.log bit for bit. The ports are checked on millions of seeded
// inputs over the domains scoring reaches (and around them); fast-check prints the failing seed.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.ts";
import { scoreRows } from "../../src/evaluator/kernel.ts";
import {
  createScoreKernel,
  fdlibmExp,
  fdlibmLog,
  type ScoreKernel,
  scoreKernelUnavailableReason,
  scoreKernelWat,
  scoreSelfCheck,
} from "../../src/evaluator/score-kernel.ts";
import { assembleWat } from "../../src/evaluator/wasm.ts";

const Memory = (
  globalThis as unknown as { WebAssembly: { Memory: new (d: object) => { buffer: ArrayBuffer } } }
).WebAssembly.Memory;
const memory = new Memory({ initial: 256, maximum: 256 }); // 16 MiB
const KINDS = ["simd", "scalar"] as const;
const kernels: ScoreKernel[] = KINDS.map((kind) => {
  const k = createScoreKernel(memory, kind);
  if (k === null) throw new Error(`no ${kind} score kernel on this runtime`);
  return k;
});
const simd = kernels[0];

const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);
const fromWords = (hi: number, lo: number): number => {
  words[1] = hi;
  words[0] = lo;
  return bits[0];
};
const hexOf = (x: number): string => {
  bits[0] = x;
  return `0x${words[1].toString(16).padStart(8, "0")}${words[0].toString(16).padStart(8, "0")}`;
};
/** the next double towards +∞ (d = 1) or −∞ (d = −1), for finite x */
const step = (x: number, d: 1 | -1): number => {
  if (x === 0) return d * 2 ** -1074;
  bits[0] = x;
  const big = new BigInt64Array(bits.buffer);
  big[0] += x > 0 === d > 0 ? 1n : -1n;
  return bits[0];
};
const around = (x: number, n = 3): number[] => {
  const out = [x];
  let lo = x;
  let hi = x;
  for (let i = 0; i < n; i++) {
    lo = step(lo, -1);
    hi = step(hi, 1);
    out.push(lo, hi);
  }
  return out;
};

const LN2 = Math.LN2;
const SRC = 0; // byte address of the inputs in memory
const CHUNK = 1 << 18; // inputs per batch
const DST = 8 * CHUNK;

/** Inputs for exp: what scoring reaches (x = a − max ≤ 0) and around it. */
function expInput(rng: Rng): number {
  switch (rng.int(10)) {
    case 0:
      return -800 * rng.next();
    case 1:
      return -2 * rng.next();
    case 2: {
      // near multiples of ln2 (the reduction's rounding boundaries are at (k + 1/2)·ln2)
      const k = rng.int(1100) + (rng.chance(0.5) ? 0.5 : 0);
      return -k * LN2 + (rng.next() - 0.5) * 2 ** -(rng.int(45) + 8);
    }
    case 3:
      // tiny magnitudes, below 2^-28 and down to subnormals and −0
      return -rng.next() * 2 ** -(rng.int(1060) + 20);
    case 4:
      // any negative bit pattern up to |x| ≈ 1100
      return fromWords(0x80000000 | rng.int(0x40913000), rng.uint32());
    case 5: {
      // high words at fdlibm's branch boundaries
      const hx = [0x3fd62e42, 0x3ff0a2b2, 0x3e300000, 0x40862e42, 0x40874910, 0x40862e43][rng.int(6)];
      return fromWords((0x80000000 | (hx + rng.int(5) - 2)) >>> 0, rng.uint32());
    }
    case 6:
      // subnormal results: k < −1021 and the underflow threshold
      return -708 - 37.2 * rng.next();
    case 7: {
      // a difference of two Float32 logits, as in scoring
      const s = 2 ** (rng.int(20) - 6);
      return -Math.abs(Math.fround(rng.normal(0, s)) - Math.fround(rng.normal(0, s)));
    }
    case 8:
      return -50 * rng.next() ** 3;
    default:
      // positive arguments: not reached by scoring, but the ports cover them
      return 720 * rng.next();
  }
}

/** Inputs for log: sums of exponentials in [1, classes], and around them. */
function logInput(rng: Rng): number {
  switch (rng.int(8)) {
    case 0:
      return 1 + 999 * rng.next();
    case 1:
      // 1 + exp(d) for strongly separated logits: |f| < 2^-20 (fdlibm's short branch)
      return 1 + rng.next() * 2 ** -(rng.int(60) + 1);
    case 2: {
      // just above or below a power of two
      const p = 2 ** rng.int(11);
      return p * (1 + (rng.next() - 0.5) * 2 ** -(rng.int(50) + 1));
    }
    case 3:
      // any bit pattern from 0.5 to about 1100
      return fromWords(0x3fe00000 + rng.int(0x40913000 - 0x3fe00000), rng.uint32());
    case 4: {
      // mantissa high bits at fdlibm's boundaries (0x6147a, 0x6b851, 0x95f64 and sqrt 2)
      const m = [0x6147a, 0x6b851, 0x6a09e, 0x95f64, 0x0, 0xfffff][rng.int(6)] + rng.int(5) - 2;
      return fromWords(((0x3ff + rng.int(11)) << 20) | (m & 0xfffff), rng.uint32());
    }
    case 5:
      return 1 + rng.int(1000) * rng.next();
    case 6:
      // anywhere positive, subnormals included
      return fromWords(rng.int(0x7ff00000), rng.uint32());
    default:
      return 1 + 9 * rng.next() ** 4;
  }
}

const EXP_EDGES = [
  0,
  -0,
  1,
  -1,
  Infinity,
  -Infinity,
  Number.NaN,
  ...around(fromWords(0x40862e42, 0xfefa39ef)), // overflow threshold
  ...around(fromWords(0xc0874910, 0xd52d3051)), // underflow threshold
  ...around(-708.3964185322641), // k = −1021
  ...around(-1021.5 * LN2),
  ...around(2 ** -28),
  ...around(-(2 ** -28)),
  ...around(fromWords(0xbfd62e42, 0xffffffff)),
  ...around(fromWords(0xbfd62e43, 0)),
  ...around(fromWords(0xbff0a2b2, 0)),
  ...around(-0.5 * LN2),
  ...around(-1.5 * LN2),
  2 ** -1074,
  -(2 ** -1074),
  -Number.MAX_VALUE,
];
const LOG_EDGES = [
  0,
  -0,
  -1,
  1,
  2,
  Infinity,
  -Infinity,
  Number.NaN,
  ...around(1),
  ...around(2),
  ...around(Math.SQRT2),
  ...around(Math.SQRT1_2),
  ...around(1000),
  ...around(2 ** -1022),
  2 ** -1074,
  Number.MAX_VALUE,
];

/**
 * Checks one batch of inputs: the JavaScript port, the WebAssembly scalar port and the vector code
 * (pairs) against V8's function; returns the first mismatches.
 */
function checkBatch(
  xs: Float64Array,
  v8: (x: number) => number,
  port: (x: number) => number,
  wasm: (x: number) => number,
  pairs: (src: number, dst: number, n: number) => void,
): string[] {
  const bad: string[] = [];
  const expected = new Float64Array(xs.length);
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    const want = v8(x);
    expected[i] = want;
    const js = port(x);
    if (!Object.is(js, want)) bad.push(`js port(${hexOf(x)} = ${x}) = ${js}, V8 ${want}`);
    if ((i & 3) === 0 && !Object.is(wasm(x), want)) bad.push(`wasm scalar(${x}) = ${wasm(x)}, V8 ${want}`);
  }
  new Float64Array(memory.buffer, SRC, xs.length).set(xs);
  pairs(SRC, DST, xs.length);
  const out = new Float64Array(memory.buffer, DST, xs.length);
  for (let i = 0; i < xs.length; i++) {
    if (!Object.is(out[i], expected[i]))
      bad.push(`wasm vector(${hexOf(xs[i])} = ${xs[i]}) = ${out[i]}, V8 ${expected[i]}`);
  }
  return bad.slice(0, 5);
}

function randomBatch(seed: number, name: string, input: (rng: Rng) => number): Float64Array {
  const rng = Rng.derive(seed, name);
  const xs = new Float64Array(CHUNK);
  for (let i = 0; i < CHUNK; i++) xs[i] = input(rng);
  return xs;
}

describe("fdlibm exp and log ports", () => {
  it("the module has no relaxed or fused operations (a fused multiply-add would change roundings)", () => {
    expect(scoreKernelWat()).not.toMatch(/relaxed|madd|fma|nmadd/);
  });

  it("exp: JS port, wasm scalar and wasm vector equal Math.exp at the edges", () => {
    const bad = checkBatch(new Float64Array(EXP_EDGES), Math.exp, fdlibmExp, simd.exp, simd.expPairs!);
    expect(bad).toEqual([]);
  });

  it("log: JS port, wasm scalar and wasm vector equal Math.log at the edges", () => {
    const bad = checkBatch(new Float64Array(LOG_EDGES), Math.log, fdlibmLog, simd.log, simd.logPairs!);
    expect(bad).toEqual([]);
  });

  // 32 · 2^18 ≈ 8.4 million exp inputs and 24 · 2^18 ≈ 6.3 million log inputs per test run
  it("exp equals Math.exp bit for bit on seeded random inputs (property, 2^18 inputs per seed)", () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const bad = checkBatch(
          randomBatch(seed, "exp-port", expInput),
          Math.exp,
          fdlibmExp,
          simd.exp,
          simd.expPairs!,
        );
        if (bad.length > 0) throw new Error(`seed ${seed}:\n${bad.join("\n")}`);
      }),
      { numRuns: 32 },
    );
  });

  it("log equals Math.log bit for bit on seeded random inputs (property, 2^18 inputs per seed)", () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const bad = checkBatch(
          randomBatch(seed, "log-port", logInput),
          Math.log,
          fdlibmLog,
          simd.log,
          simd.logPairs!,
        );
        if (bad.length > 0) throw new Error(`seed ${seed}:\n${bad.join("\n")}`);
      }),
      { numRuns: 24 },
    );
  });
});

// ---- the kernel against scoreRows

type Style = "normal" | "wide" | "ties" | "close" | "mixed" | "non-finite";
const STYLES: Style[] = ["normal", "wide", "ties", "close", "mixed", "non-finite"];

function logit(rng: Rng, style: Style): number {
  switch (style) {
    case "normal":
      return rng.normal(0, 3);
    case "wide":
      // |logit| up to 1e4: most exp terms underflow, some are subnormal
      return rng.uniform(-1e4, 1e4);
    case "ties":
      // small integers and both zeros: ties for the max, equal logits, d = ±0
      return rng.chance(0.2) ? (rng.chance(0.5) ? 0 : -0) : rng.int(5) - 2;
    case "close":
      // differences below 2^-28 (exp's 1 + x branch) and just above
      return (rng.int(5) - 2) * 2 ** -(rng.int(20) + 22);
    case "mixed":
      return logit(rng, STYLES[rng.int(4)]);
    default:
      return rng.chance(0.03) ? [Number.NaN, Infinity, -Infinity][rng.int(3)] : rng.normal(0, 3);
  }
}

describe("score kernel", () => {
  it("equals scoreRows bit for bit: classes 1, 2, 3, 10, lengths 0..600, loss on and off (property)", () => {
    const f32 = new Float32Array(memory.buffer);
    const i32 = new Int32Array(memory.buffer);
    fc.assert(
      fc.property(
        fc.constantFrom(2, 3, 10, 1),
        fc.integer({ min: 0, max: 600 }),
        fc.boolean(),
        fc.constantFrom(...STYLES),
        fc.integer(),
        (classes, len, loss, style, seed) => {
          const rng = Rng.derive(seed, "score-kernel");
          // the arena: 12 columns of 640 floats, a class reading any column at any start that fits
          const stride = 640;
          for (let i = 0; i < 12 * stride; i++) f32[i] = logit(rng, style);
          const clsp = 4 * 12 * stride; // byte address of the class column offsets
          const cls = i32.subarray(clsp >> 2, (clsp >> 2) + classes);
          for (let c = 0; c < classes; c++) {
            // sometimes the same column as an earlier class: exactly equal logits
            cls[c] =
              c > 0 && rng.chance(0.15) ? cls[rng.int(c)] : rng.int(12) * stride + rng.int(stride - len + 1);
          }
          const yOff = rng.int(9);
          const yAt = clsp + 64; // labels y[0 ..], the kernel starts at y[yOff]
          const y = i32.subarray(yAt >> 2, (yAt >> 2) + yOff + len);
          for (let r = 0; r < y.length; r++) y[r] = rng.int(classes);
          const totp = (yAt + 4 * y.length + 15) & ~7;
          const start = { correct: rng.int(1000), lossSum: rng.chance(0.2) ? 0 : rng.normal(0, 100) };
          const expected = { ...start };
          scoreRows(f32, cls, classes, y, yOff, len, loss, expected);
          for (const k of kernels) {
            const got = { ...start };
            k.scoreRows(clsp, classes, yAt + 4 * yOff, len, loss, totp, got);
            const same = got.correct === expected.correct && Object.is(got.lossSum, expected.lossSum);
            if (!same) {
              throw new Error(
                `${k.kind}: ${JSON.stringify(got)} (${hexOf(got.lossSum)}) vs scoreRows ${JSON.stringify(expected)} (${hexOf(expected.lossSum)})`,
              );
            }
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it("the raw export reads and writes [correct, lossSum] at totp", () => {
    const f32 = new Float32Array(memory.buffer);
    const i32 = new Int32Array(memory.buffer);
    f32.set([1, 2, 5, 0], 0); // class 0, rows 0..3
    f32.set([2, 1, 5, 0], 4); // class 1
    i32.set([0, 4], 16); // cls at byte 64
    i32.set([1, 0, 0, 1], 24); // labels at byte 96
    const t = new Float64Array(memory.buffer, 128, 2);
    t.set([7, 0.5]);
    simd.score(64, 2, 96, 4, 1, 128);
    const expected = { correct: 7, lossSum: 0.5 };
    scoreRows(f32, i32.subarray(16, 18), 2, i32.subarray(24, 28), 0, 4, true, expected);
    expect([t[0], t[1]]).toEqual([expected.correct, expected.lossSum]);
    expect(t[0]).toBe(10); // rows 0, 1 right; rows 2, 3 tied, so class 0, right for row 2 only
  });

  it("is in use on this runtime, and the start-up self-check refuses a module whose exp or log differ", () => {
    expect(scoreKernelUnavailableReason()).toBeNull();
    // a kernel whose exp answers 1 + 2^-52 for everything: right nowhere the check looks
    const wrongExp = assembleWat(
      "wrong.wat",
      `(module (memory (import "env" "memory") 1 65536)
        (func (export "exp") (param f64) (result f64) (f64.const 1.0000000000000002))
        (func (export "log") (param f64) (result f64) (f64.const 0))
        (func (export "expPairs") (param $src i32) (param $dst i32) (param $n i32) (local $i i32)
          (block $done (loop $next
            (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
            (f64.store (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 3))) (f64.const 1.0000000000000002))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next))))
        (func (export "logPairs") (param i32 i32 i32)))`,
      {},
    );
    if (wrongExp === null) throw new Error("the test module did not assemble");
    expect(scoreSelfCheck(wrongExp)).toMatch(/its exp differs from Math\.exp\(-/);
  });
});
