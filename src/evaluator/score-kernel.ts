// The scoring step of kernel.ts's `scoreRows` (argmax accuracy and softmax cross-entropy of the logits)
// in WebAssembly, bit for bit: the same `correct` count and the same `lossSum` double.
//
// Why it can be exact. The reference spends its time in Math.exp and Math.log, and V8 computes those
// with its ports of fdlibm (src/base/ieee754.cc: `exp` is e_exp.c, `log` is e_log.c, compiled without
// FMA contraction on x86-64). fdlibm uses only +, −, ×, ÷ on doubles, integer work on the words of a
// double, and a truncating double→int conversion — all of which WebAssembly defines exactly (IEEE
// round-to-nearest-even, no fusing). So a faithful port, operation for operation and in the same
// order, gives the same double for every input. `fdlibmExp`/`fdlibmLog` below are those ports in plain
// JavaScript; the tests check them and the WebAssembly ones against Math.exp/Math.log bit for bit.
// Everything else in the row is the reference's own double arithmetic on Float32 logits, done in the
// same order: argmax first on ties (f32 `>` is the same comparison as on the promoted doubles),
// sum = Σ_c exp(a[c] − max) in class order from 0, lossSum += (max + log(sum)) − a[label] row by row.
//
// The vector paths put two rows in an f64x2 and take 16 rows per step: eight independent exp/log
// chains whose statements are interleaved, because one chain is a long run of dependent roundings
// (measured much faster than one chain at a time: docs/performance.md § Why the kernels are shaped so).
// fdlibm's branches become lane selects; where two branches are one formula in disguise they are
// merged, and the comments say why that is exact. What the rows never reach (exp of x > 0, log outside
// the positive normal doubles) goes to the scalar ports. Rows left over from the 16-row steps take
// 4-row steps, then the scalar code. No relaxed SIMD and no fused multiply-add anywhere: a fused
// rounding would change results.
//
// Caveats. (1) Checked on x86-64 only. If a V8 build lets its C compiler contract a·b + c into FMA
// (clang may on arm64, where FMA is baseline), Math.exp/Math.log there can differ in the last bit
// from the plain-rounding port, while this kernel gives the same results everywhere. (2) V8 upstream
// has since replaced fdlibm's log (not exp) by LLVM libc's correctly rounded one; the V8 in Node 26
// (14.6) still has fdlibm's. A Node whose Math.log changed would fail this kernel's log tests, and the
// kernel would then need that log instead.
//
// The module is written in the WebAssembly text format and assembled at start-up by wabt, as in
// simd-kernel.ts. It imports the evaluator's memory: the Float32 logit columns are addressed as in
// kernel.ts (float index cls[c] + r, i.e. the arena starts at byte 0), the column list, the labels and
// a 16-byte totals area are handed over by byte address.
import { Rng } from "../core/rng.ts";
import { assembleWat, instantiate, type WasmModule, wasmApi } from "./wasm.ts";

// ---------------------------------------------------------------------------------------------------
// fdlibm exp and log in JavaScript (V8's src/base/ieee754.cc), for the tests and as the specification.

const word = new Float64Array(1);
// little-endian: index 1 is the high (sign, exponent) word, index 0 the low word
const wordU = new Uint32Array(word.buffer);
const wordI = new Int32Array(word.buffer);

/** The double with high word `hi` and low word `lo`: fdlibm's constants, as its source gives them. */
function fromWords(hi: number, lo: number): number {
  wordU[1] = hi;
  wordU[0] = lo;
  return word[0];
}

const LN2_HI = fromWords(0x3fe62e42, 0xfee00000);
const LN2_LO = fromWords(0x3dea39ef, 0x35793c76);
const INVLN2 = fromWords(0x3ff71547, 0x652b82fe);
const O_THRESHOLD = fromWords(0x40862e42, 0xfefa39ef); // 709.78…
const U_THRESHOLD = fromWords(0xc0874910, 0xd52d3051); // −745.13…
const TWOM1000 = 2 ** -1000;
const TWO1023 = 2 ** 1023;
const EXP_P1 = fromWords(0x3fc55555, 0x5555553e);
const EXP_P2 = fromWords(0xbf66c16c, 0x16bebd93);
const EXP_P3 = fromWords(0x3f11566a, 0xaf25de2c);
const EXP_P4 = fromWords(0xbebbbd41, 0xc5d26bf1);
const EXP_P5 = fromWords(0x3e663769, 0x72bea4d0);
const E = fromWords(0x4005bf0a, 0x8b145769); // V8 returns it for exp(1)
const TWO54 = 2 ** 54;
const LG1 = fromWords(0x3fe55555, 0x55555593);
const LG2 = fromWords(0x3fd99999, 0x9997fa04);
const LG3 = fromWords(0x3fd24924, 0x94229359);
const LG4 = fromWords(0x3fcc71c5, 0x1d8e78af);
const LG5 = fromWords(0x3fc74664, 0x96cb03de);
const LG6 = fromWords(0x3fc39a09, 0xd078c69f);
const LG7 = fromWords(0x3fc2f112, 0xdf3e5244);
const THIRD = fromWords(0x3fd55555, 0x55555555); // the source's 0.33333333333333333

/** 2^k for an exponent k of a normal double (−1022 ≤ k ≤ 1023), built from its bits. */
function pow2(k: number): number {
  wordU[1] = (0x3ff + k) << 20;
  wordU[0] = 0;
  return word[0];
}

/** V8's Math.exp: fdlibm e_exp.c. */
export function fdlibmExp(x: number): number {
  word[0] = x;
  const high = wordU[1];
  const xsb = high >>> 31;
  const hx = high & 0x7fffffff;
  if (hx >= 0x40862e42) {
    // |x| ≥ 709.78…
    if (hx >= 0x7ff00000) {
      if (((hx & 0xfffff) | wordU[0]) !== 0) return x + x; // NaN
      return xsb === 0 ? x : 0; // exp(±∞) = ∞, 0
    }
    if (x > O_THRESHOLD) return Infinity; // huge · huge
    if (x < U_THRESHOLD) return 0; // twom1000 · twom1000
  }
  let hi = 0;
  let lo = 0;
  let k = 0;
  if (hx > 0x3fd62e42) {
    // |x| > ln2/2
    if (hx < 0x3ff0a2b2) {
      // and |x| < 1.5·ln2
      if (x === 1) return E;
      hi = xsb === 0 ? x - LN2_HI : x - -LN2_HI;
      lo = xsb === 0 ? LN2_LO : -LN2_LO;
      k = 1 - xsb - xsb;
    } else {
      k = (INVLN2 * x + (xsb === 0 ? 0.5 : -0.5)) | 0; // C's truncating int conversion
      const t = k;
      hi = x - t * LN2_HI; // exact
      lo = t * LN2_LO;
    }
    x = hi - lo;
  } else if (hx < 0x3e300000) {
    return 1 + x; // |x| < 2^-28
  }
  const t = x * x;
  const c = x - t * (EXP_P1 + t * (EXP_P2 + t * (EXP_P3 + t * (EXP_P4 + t * EXP_P5))));
  if (k === 0) return 1 - ((x * c) / (c - 2) - x);
  const y = 1 - (lo - (x * c) / (2 - c) - hi);
  if (k >= -1021) {
    if (k === 1024) return y * 2 * TWO1023;
    return y * pow2(k);
  }
  return y * pow2(k + 1000) * TWOM1000;
}

/** V8's Math.log (as of V8 14.6, Node 26): fdlibm e_log.c. */
export function fdlibmLog(x: number): number {
  word[0] = x;
  let hx = wordI[1];
  const lx = wordU[0];
  let k = 0;
  if (hx < 0x00100000) {
    // x < 2^-1022
    if (((hx & 0x7fffffff) | lx) === 0) return -Infinity; // log(±0)
    if (hx < 0) return NaN; // log(negative)
    k -= 54;
    x *= TWO54; // subnormal: scale up
    word[0] = x;
    hx = wordI[1];
  }
  if (hx >= 0x7ff00000) return x + x; // ∞ or NaN
  k += (hx >> 20) - 1023;
  hx &= 0x000fffff;
  let i = (hx + 0x95f64) & 0x100000;
  wordI[1] = hx | (i ^ 0x3ff00000); // normalise x or x/2 (word[0] still holds x's low word)
  x = word[0];
  k += i >> 20;
  const f = x - 1;
  if ((0x000fffff & (2 + hx)) < 3) {
    // −2^-20 ≤ f < 2^-20
    if (f === 0) {
      if (k === 0) return 0;
      return k * LN2_HI + k * LN2_LO;
    }
    const r = f * f * (0.5 - THIRD * f);
    if (k === 0) return f - r;
    return k * LN2_HI - (r - k * LN2_LO - f);
  }
  const s = f / (2 + f);
  const dk = k;
  const z = s * s;
  i = hx - 0x6147a;
  const w = z * z;
  const j = 0x6b851 - hx;
  const t1 = w * (LG2 + w * (LG4 + w * LG6));
  const t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
  i |= j;
  const r = t2 + t1;
  if (i > 0) {
    const hfsq = 0.5 * f * f;
    if (k === 0) return f - (hfsq - s * (hfsq + r));
    return dk * LN2_HI - (hfsq - (s * (hfsq + r) + dk * LN2_LO) - f);
  }
  if (k === 0) return f - s * (f - r);
  return dk * LN2_HI - (s * (f - r) - dk * LN2_LO - f);
}

// ---------------------------------------------------------------------------------------------------
// The WebAssembly text.

/** A double as an exact WebAssembly hexadecimal float literal. */
function hex(v: number): string {
  if (Number.isNaN(v)) return "nan";
  if (v === Infinity) return "inf";
  if (v === -Infinity) return "-inf";
  word[0] = v;
  const sign = wordU[1] >>> 31 ? "-" : "";
  const e = (wordU[1] >>> 20) & 0x7ff;
  const m = (
    (wordU[1] & 0xfffff).toString(16).padStart(5, "0") + wordU[0].toString(16).padStart(8, "0")
  ).replace(/0+$/, "");
  if (e === 0) return m ? `${sign}0x0.${m}p-1022` : `${sign}0x0p+0`;
  return `${sign}0x1${m ? `.${m}` : ""}p${e - 1023}`;
}
const f64 = (v: number): string => `(f64.const ${hex(v)})`;
const f64x2 = (v: number): string => `(v128.const f64x2 ${hex(v)} ${hex(v)})`;
const i32x4 = (v: number): string => `(v128.const i32x4 ${v} ${v} ${v} ${v})`;
const i64x2 = (v: number | string): string => `(v128.const i64x2 ${v} ${v})`;
const get = (name: string): string => `(local.get $${name})`;
const set = (name: string, value: string): string => `(local.set $${name} ${value})`;
/** the upper two Float32 lanes of a v128 moved to the lower two, so promote_low widens them */
const upper = (v: string): string => `(i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 ${v} ${v})`;

/** The smallest double whose high word is `high` (low word 0): compares on |x| stand in for compares
 * of fdlibm's high word `hx` (hx > H ⟺ |x| ≥ fromHigh(H + 1), hx < H ⟺ |x| < fromHigh(H)). */
function fromHigh(high: number): number {
  return fromWords(high, 0);
}

const scalarFunctions = `
  ;; fdlibm e_exp.c, as V8 compiles it: every operation in the source's order
  (func $exp (param $x f64) (result f64)
    (local $bits i64) (local $hx i32) (local $xsb i32) (local $k i32)
    (local $hi f64) (local $lo f64) (local $t f64) (local $c f64) (local $y f64)
    (local.set $bits (i64.reinterpret_f64 (local.get $x)))
    (local.set $hx (i32.wrap_i64 (i64.shr_u (local.get $bits) (i64.const 32))))
    (local.set $xsb (i32.shr_u (local.get $hx) (i32.const 31)))
    (local.set $hx (i32.and (local.get $hx) (i32.const 0x7fffffff)))
    (if (i32.ge_u (local.get $hx) (i32.const 0x40862e42)) (then
      (if (i32.ge_u (local.get $hx) (i32.const 0x7ff00000)) (then
        (if (i32.or (i32.and (local.get $hx) (i32.const 0xfffff)) (i32.wrap_i64 (local.get $bits)))
          (then (return (f64.add (local.get $x) (local.get $x)))))
        (return (select (local.get $x) (f64.const 0) (i32.eqz (local.get $xsb))))))
      (if (f64.gt (local.get $x) ${f64(O_THRESHOLD)}) (then (return (f64.const inf))))
      (if (f64.lt (local.get $x) ${f64(U_THRESHOLD)}) (then (return (f64.const 0))))))
    (if (i32.gt_u (local.get $hx) (i32.const 0x3fd62e42))
      (then
        (if (i32.lt_u (local.get $hx) (i32.const 0x3ff0a2b2))
          (then
            (if (f64.eq (local.get $x) (f64.const 1)) (then (return ${f64(E)})))
            (if (local.get $xsb)
              (then
                (local.set $hi (f64.sub (local.get $x) ${f64(-LN2_HI)}))
                (local.set $lo ${f64(-LN2_LO)})
                (local.set $k (i32.const -1)))
              (else
                (local.set $hi (f64.sub (local.get $x) ${f64(LN2_HI)}))
                (local.set $lo ${f64(LN2_LO)})
                (local.set $k (i32.const 1)))))
          (else
            (local.set $k (i32.trunc_sat_f64_s (f64.add (f64.mul ${f64(INVLN2)} (local.get $x))
              (select (f64.const -0.5) (f64.const 0.5) (local.get $xsb)))))
            (local.set $t (f64.convert_i32_s (local.get $k)))
            (local.set $hi (f64.sub (local.get $x) (f64.mul (local.get $t) ${f64(LN2_HI)})))
            (local.set $lo (f64.mul (local.get $t) ${f64(LN2_LO)}))))
        (local.set $x (f64.sub (local.get $hi) (local.get $lo))))
      (else
        (if (i32.lt_u (local.get $hx) (i32.const 0x3e300000))
          (then (return (f64.add (f64.const 1) (local.get $x)))))))
    (local.set $t (f64.mul (local.get $x) (local.get $x)))
    (local.set $c (f64.sub (local.get $x) (f64.mul (local.get $t)
      (f64.add ${f64(EXP_P1)} (f64.mul (local.get $t)
      (f64.add ${f64(EXP_P2)} (f64.mul (local.get $t)
      (f64.add ${f64(EXP_P3)} (f64.mul (local.get $t)
      (f64.add ${f64(EXP_P4)} (f64.mul (local.get $t) ${f64(EXP_P5)})))))))))))
    (if (i32.eqz (local.get $k)) (then
      (return (f64.sub (f64.const 1) (f64.sub
        (f64.div (f64.mul (local.get $x) (local.get $c)) (f64.sub (local.get $c) (f64.const 2)))
        (local.get $x))))))
    (local.set $y (f64.sub (f64.const 1) (f64.sub (f64.sub (local.get $lo)
      (f64.div (f64.mul (local.get $x) (local.get $c)) (f64.sub (f64.const 2) (local.get $c))))
      (local.get $hi))))
    (if (i32.ge_s (local.get $k) (i32.const -1021)) (then
      (if (i32.eq (local.get $k) (i32.const 1024))
        (then (return (f64.mul (f64.mul (local.get $y) (f64.const 2)) ${f64(TWO1023)}))))
      (return (f64.mul (local.get $y) (f64.reinterpret_i64 (i64.shl
        (i64.extend_i32_s (i32.add (local.get $k) (i32.const 1023))) (i64.const 52)))))))
    (f64.mul (f64.mul (local.get $y) (f64.reinterpret_i64 (i64.shl
      (i64.extend_i32_s (i32.add (local.get $k) (i32.const 2023))) (i64.const 52)))) ${f64(TWOM1000)}))

  ;; fdlibm e_log.c, as V8 compiles it
  (func $log (param $x f64) (result f64)
    (local $bits i64) (local $hx i32) (local $k i32) (local $i i32) (local $j i32)
    (local $f f64) (local $r f64) (local $s f64) (local $dk f64) (local $z f64) (local $w f64)
    (local $hfsq f64)
    (local.set $bits (i64.reinterpret_f64 (local.get $x)))
    (local.set $hx (i32.wrap_i64 (i64.shr_u (local.get $bits) (i64.const 32))))
    (if (i32.lt_s (local.get $hx) (i32.const 0x00100000)) (then
      (if (i64.eqz (i64.and (local.get $bits) (i64.const 0x7fffffffffffffff)))
        (then (return (f64.const -inf))))
      (if (i32.lt_s (local.get $hx) (i32.const 0)) (then (return (f64.const nan))))
      (local.set $k (i32.const -54))
      (local.set $x (f64.mul (local.get $x) ${f64(TWO54)}))
      (local.set $bits (i64.reinterpret_f64 (local.get $x)))
      (local.set $hx (i32.wrap_i64 (i64.shr_u (local.get $bits) (i64.const 32))))))
    (if (i32.ge_s (local.get $hx) (i32.const 0x7ff00000))
      (then (return (f64.add (local.get $x) (local.get $x)))))
    (local.set $k (i32.add (local.get $k) (i32.sub (i32.shr_s (local.get $hx) (i32.const 20)) (i32.const 1023))))
    (local.set $hx (i32.and (local.get $hx) (i32.const 0xfffff)))
    (local.set $i (i32.and (i32.add (local.get $hx) (i32.const 0x95f64)) (i32.const 0x100000)))
    (local.set $x (f64.reinterpret_i64 (i64.or
      (i64.shl (i64.extend_i32_u (i32.or (local.get $hx) (i32.xor (local.get $i) (i32.const 0x3ff00000))))
        (i64.const 32))
      (i64.and (local.get $bits) (i64.const 0xffffffff)))))
    (local.set $k (i32.add (local.get $k) (i32.shr_s (local.get $i) (i32.const 20))))
    (local.set $f (f64.sub (local.get $x) (f64.const 1)))
    (local.set $dk (f64.convert_i32_s (local.get $k)))
    (if (i32.lt_s (i32.and (i32.const 0xfffff) (i32.add (i32.const 2) (local.get $hx))) (i32.const 3)) (then
      (if (f64.eq (local.get $f) (f64.const 0)) (then
        (if (i32.eqz (local.get $k)) (then (return (f64.const 0))))
        (return (f64.add (f64.mul (local.get $dk) ${f64(LN2_HI)}) (f64.mul (local.get $dk) ${f64(LN2_LO)})))))
      (local.set $r (f64.mul (f64.mul (local.get $f) (local.get $f))
        (f64.sub (f64.const 0.5) (f64.mul ${f64(THIRD)} (local.get $f)))))
      (if (i32.eqz (local.get $k)) (then (return (f64.sub (local.get $f) (local.get $r)))))
      (return (f64.sub (f64.mul (local.get $dk) ${f64(LN2_HI)})
        (f64.sub (f64.sub (local.get $r) (f64.mul (local.get $dk) ${f64(LN2_LO)})) (local.get $f))))))
    (local.set $s (f64.div (local.get $f) (f64.add (f64.const 2) (local.get $f))))
    (local.set $z (f64.mul (local.get $s) (local.get $s)))
    (local.set $i (i32.sub (local.get $hx) (i32.const 0x6147a)))
    (local.set $w (f64.mul (local.get $z) (local.get $z)))
    (local.set $j (i32.sub (i32.const 0x6b851) (local.get $hx)))
    (local.set $r (f64.add
      (f64.mul (local.get $z) (f64.add ${f64(LG1)} (f64.mul (local.get $w)
        (f64.add ${f64(LG3)} (f64.mul (local.get $w) (f64.add ${f64(LG5)} (f64.mul (local.get $w) ${f64(LG7)})))))))
      (f64.mul (local.get $w) (f64.add ${f64(LG2)} (f64.mul (local.get $w)
        (f64.add ${f64(LG4)} (f64.mul (local.get $w) ${f64(LG6)})))))))
    (if (i32.gt_s (i32.or (local.get $i) (local.get $j)) (i32.const 0)) (then
      (local.set $hfsq (f64.mul (f64.mul (f64.const 0.5) (local.get $f)) (local.get $f)))
      (if (i32.eqz (local.get $k)) (then
        (return (f64.sub (local.get $f) (f64.sub (local.get $hfsq)
          (f64.mul (local.get $s) (f64.add (local.get $hfsq) (local.get $r))))))))
      (return (f64.sub (f64.mul (local.get $dk) ${f64(LN2_HI)}) (f64.sub (f64.sub (local.get $hfsq)
        (f64.add (f64.mul (local.get $s) (f64.add (local.get $hfsq) (local.get $r)))
          (f64.mul (local.get $dk) ${f64(LN2_LO)})))
        (local.get $f))))))
    (if (i32.eqz (local.get $k)) (then
      (return (f64.sub (local.get $f) (f64.mul (local.get $s) (f64.sub (local.get $f) (local.get $r)))))))
    (f64.sub (f64.mul (local.get $dk) ${f64(LN2_HI)}) (f64.sub (f64.sub
      (f64.mul (local.get $s) (f64.sub (local.get $f) (local.get $r)))
      (f64.mul (local.get $dk) ${f64(LN2_LO)}))
      (local.get $f))))`;

/** Both lanes of `x` through a scalar function. */
const lanes = (fn: string, x: string): string =>
  `(f64x2.replace_lane 1 (f64x2.splat (call ${fn} (f64x2.extract_lane 0 ${x}))) (call ${fn} (f64x2.extract_lane 1 ${x})))`;

/** The v128 locals one function's vector statements set, collected as they are written. */
class V128Locals {
  readonly names = new Set<string>();
  set(name: string, value: string): string {
    this.names.add(name);
    return set(name, value);
  }
  declarations(): string {
    return [...this.names].map((n) => `(local $${n} v128)`).join(" ");
  }
}

/** Statements of several independent computations, one from each in turn, so the CPU overlaps them. */
function interleave(...lists: string[][]): string[] {
  const out: string[] = [];
  for (let i = 0; i < Math.max(...lists.map((l) => l.length)); i++) {
    for (const l of lists) if (i < l.length) out.push(l[i]);
  }
  return out;
}

/** 2^52 + 2^51: an integer t (|t| < 2^51) added to it lands in the low mantissa bits, two's complement. */
const MAGIC = 2 ** 52 + 2 ** 51;
/** 1000 and 1023 (1.0's exponent) in the exponent field of a double's bits */
const EXP1000 = (1000n << 52n).toString();
const ONE_BITS = (1023n << 52n).toString();

/**
 * Statements setting v128 local `out` to exp of each lane of v128 local `x` (f64x2), exactly the scalar
 * port's result for lanes x ≤ 0 or NaN: fdlibm's branches for negative arguments as lane selects.
 * Lanes x > 0 are not handled (in scoring x = a − max ≤ 0).
 *
 * Merged branches, each exact: (1) ln2/2 < |x| < 1.5·ln2 computes hi = x − (−ln2HI), lo = −ln2LO, k = −1,
 * which is the general reduction with t = −1 (t·ln2HI = −ln2HI and t·ln2LO = −ln2LO exactly).
 * (2) 2^-28 ≤ |x| ≤ ln2/2 (k = 0) returns 1 − (x·c/(c − 2) − x); the general formula with t = 0 has
 * hi = x, lo = +0, r = x and gives 1 − ((0 − x·c/(2 − c)) − hi): c − 2 = −(2 − c) exactly, so the
 * quotients are negatives of each other, and 0 − q = −q since q ≠ 0 there; then ×2^0 ×1 is exact.
 * (3) k < −1021 multiplies by 2^(k+1000) and then 2^-1000; other lanes multiply by 2^k and then 1.
 * (4) V8's static_cast<int> truncates, so k = trunc(invln2·x − 0.5) is f64x2.trunc of the same double.
 */
function vexp(L: V128Locals, out: string, x: string, p: string): string[] {
  const X = get(x);
  const g = (n: string): string => get(p + n);
  const s = (n: string, value: string): string => L.set(p + n, value);
  return [
    s("ax", `(f64x2.abs ${X})`),
    s("t", `(f64x2.mul ${f64x2(INVLN2)} ${X})`),
    s("t", `(f64x2.trunc (f64x2.add ${g("t")} ${f64x2(-0.5)}))`),
    // k = −1 for |x| < 1.5·ln2 (hx < 0x3ff0a2b2), and k = 0 for |x| ≤ ln2/2 (hx ≤ 0x3fd62e42)
    s("t", `(v128.bitselect ${f64x2(-1)} ${g("t")} (f64x2.lt ${g("ax")} ${f64x2(fromHigh(0x3ff0a2b2))}))`),
    s("t", `(v128.and ${g("t")} (f64x2.ge ${g("ax")} ${f64x2(fromHigh(0x3fd62e43))}))`),
    s("hi", `(f64x2.sub ${X} (f64x2.mul ${g("t")} ${f64x2(LN2_HI)}))`),
    s("lo", `(f64x2.mul ${g("t")} ${f64x2(LN2_LO)})`),
    s("r", `(f64x2.sub ${g("hi")} ${g("lo")})`),
    s("rr", `(f64x2.mul ${g("r")} ${g("r")})`),
    s("c", `(f64x2.add ${f64x2(EXP_P4)} (f64x2.mul ${g("rr")} ${f64x2(EXP_P5)}))`),
    s("c", `(f64x2.add ${f64x2(EXP_P3)} (f64x2.mul ${g("rr")} ${g("c")}))`),
    s("c", `(f64x2.add ${f64x2(EXP_P2)} (f64x2.mul ${g("rr")} ${g("c")}))`),
    s("c", `(f64x2.add ${f64x2(EXP_P1)} (f64x2.mul ${g("rr")} ${g("c")}))`),
    s("c", `(f64x2.sub ${g("r")} (f64x2.mul ${g("rr")} ${g("c")}))`),
    s("y", `(f64x2.div (f64x2.mul ${g("r")} ${g("c")}) (f64x2.sub ${f64x2(2)} ${g("c")}))`),
    s("y", `(f64x2.sub ${f64x2(1)} (f64x2.sub (f64x2.sub ${g("lo")} ${g("y")}) ${g("hi")}))`),
    // 1000 in the exponent field where k < −1021, else 0
    s("sm", `(v128.and (f64x2.lt ${g("t")} ${f64x2(-1021.5)}) ${i64x2(EXP1000)})`),
    // 2^k, or 2^(k+1000): k is in the low bits of t + MAGIC; shift them into the exponent field
    s(
      "e",
      `(i64x2.add (i64x2.shl (f64x2.add ${g("t")} ${f64x2(MAGIC)}) (i32.const 52))
        (i64x2.add ${i64x2(ONE_BITS)} ${g("sm")}))`,
    ),
    // then × 1, or × 2^-1000
    L.set(out, `(f64x2.mul (f64x2.mul ${g("y")} ${g("e")}) (i64x2.sub ${i64x2(ONE_BITS)} ${g("sm")}))`),
    // |x| < 2^-28: 1 + x
    L.set(
      out,
      `(v128.bitselect (f64x2.add ${f64x2(1)} ${X}) ${get(out)} (f64x2.lt ${g("ax")} ${f64x2(2 ** -28)}))`,
    ),
    // x < −745.13…: +0, as for exp(−∞); NaN lanes are NaN already (every compare false, t = 0)
    L.set(out, `(v128.andnot ${get(out)} (f64x2.lt ${X} ${f64x2(U_THRESHOLD)}))`),
  ];
}

/**
 * Statements setting v128 local `out` to log of each lane of v128 local `x`, exactly the scalar port's
 * result for positive normal finite lanes (`logGuard` sends other pairs to the scalar port).
 *
 * The integer steps run on the two high words in i32 lanes 0 and 1. k = 0 needs no branch: with dk = 0
 * every k ≠ 0 formula reduces to its k = 0 twin, because dk·ln2 terms are +0, u − 0 = u, and
 * 0 − (a − b) = b − a exactly (when a − b is a zero, so is b − a, and both are +0). Likewise f = 0 in
 * the |f| < 2^-20 branch: R = 0 and dk·ln2HI − ((0 − dk·ln2LO) − 0) = dk·ln2HI + dk·ln2LO.
 */
function vlog(L: V128Locals, out: string, x: string, p: string): string[] {
  const X = get(x);
  const g = (n: string): string => get(p + n);
  const s = (n: string, value: string): string => L.set(p + n, value);
  return [
    // high words of both lanes into i32 lanes 0, 1 (and copies in 2, 3)
    s("hw", `(i8x16.shuffle 4 5 6 7 12 13 14 15 4 5 6 7 12 13 14 15 ${X} ${X})`),
    s("m", `(v128.and ${g("hw")} ${i32x4(0xfffff)})`),
    s("i", `(v128.and (i32x4.add ${g("m")} ${i32x4(0x95f64)}) ${i32x4(0x100000)})`),
    s(
      "k",
      `(i32x4.add (i32x4.sub (i32x4.shr_s ${g("hw")} (i32.const 20)) ${i32x4(1023)}) (i32x4.shr_s ${g("i")} (i32.const 20)))`,
    ),
    // x or x/2 normalised: the new high words put back over the old low words
    s(
      "f",
      `(f64x2.sub (i8x16.shuffle 0 1 2 3 16 17 18 19 8 9 10 11 20 21 22 23 ${X}
        (v128.or ${g("m")} (v128.xor ${g("i")} ${i32x4(0x3ff00000)}))) ${f64x2(1)})`,
    ),
    s("dk", `(f64x2.convert_low_i32x4_s ${g("k")})`),
    s("dh", `(f64x2.mul ${g("dk")} ${f64x2(LN2_HI)})`),
    s("dl", `(f64x2.mul ${g("dk")} ${f64x2(LN2_LO)})`),
    s("s", `(f64x2.div ${g("f")} (f64x2.add ${f64x2(2)} ${g("f")}))`),
    s("z", `(f64x2.mul ${g("s")} ${g("s")})`),
    s("w", `(f64x2.mul ${g("z")} ${g("z")})`),
    s("t1", `(f64x2.add ${f64x2(LG4)} (f64x2.mul ${g("w")} ${f64x2(LG6)}))`),
    s("t2", `(f64x2.add ${f64x2(LG5)} (f64x2.mul ${g("w")} ${f64x2(LG7)}))`),
    s("t1", `(f64x2.mul ${g("w")} (f64x2.add ${f64x2(LG2)} (f64x2.mul ${g("w")} ${g("t1")})))`),
    s("t2", `(f64x2.add ${f64x2(LG3)} (f64x2.mul ${g("w")} ${g("t2")}))`),
    s("t2", `(f64x2.mul ${g("z")} (f64x2.add ${f64x2(LG1)} (f64x2.mul ${g("w")} ${g("t2")})))`),
    s("R", `(f64x2.add ${g("t2")} ${g("t1")})`),
    s("hf", `(f64x2.mul (f64x2.mul ${f64x2(0.5)} ${g("f")}) ${g("f")})`),
    // −2^-20 ≤ f < 2^-20: f − f²(0.5 − f/3), plus k·ln2
    s(
      "ra",
      `(f64x2.mul (f64x2.mul ${g("f")} ${g("f")}) (f64x2.sub ${f64x2(0.5)} (f64x2.mul ${f64x2(THIRD)} ${g("f")})))`,
    ),
    s("ra", `(f64x2.sub ${g("dh")} (f64x2.sub (f64x2.sub ${g("ra")} ${g("dl")}) ${g("f")}))`),
    // ((hx − 0x6147a) | (0x6b851 − hx)) > 0 picks the hfsq form, else the s·(f − R) form
    s(
      "rb",
      `(f64x2.sub ${g("dh")} (f64x2.sub (f64x2.sub ${g("hf")}
        (f64x2.add (f64x2.mul ${g("s")} (f64x2.add ${g("hf")} ${g("R")})) ${g("dl")})) ${g("f")}))`,
    ),
    L.set(
      out,
      `(f64x2.sub ${g("dh")} (f64x2.sub (f64x2.sub (f64x2.mul ${g("s")} (f64x2.sub ${g("f")} ${g("R")})) ${g("dl")}) ${g("f")}))`,
    ),
    L.set(
      out,
      `(v128.bitselect ${g("rb")} ${get(out)} (i64x2.extend_low_i32x4_s (i32x4.gt_s
        (v128.or (i32x4.sub ${g("m")} ${i32x4(0x6147a)}) (i32x4.sub ${i32x4(0x6b851)} ${g("m")})) ${i32x4(0)})))`,
    ),
    L.set(
      out,
      `(v128.bitselect ${g("ra")} ${get(out)} (i64x2.extend_low_i32x4_s
        (i32x4.lt_s (v128.and (i32x4.add ${i32x4(2)} ${g("m")}) ${i32x4(0xfffff)}) ${i32x4(3)})))`,
    ),
  ];
}

/** If a lane of any of the `xs` is not a positive normal finite double, the scalar port for those pairs. */
function logGuard(xs: string[], outs: string[]): string {
  const ok = xs.map(
    (x) => `(v128.and (f64x2.ge ${get(x)} ${f64x2(2 ** -1022)}) (f64x2.lt ${get(x)} ${f64x2(Infinity)}))`,
  );
  const all = ok.reduce((a, b) => `(v128.and ${a} ${b})`);
  return `(if (i32.eqz (i64x2.all_true ${all}))
      (then ${xs.map((x, i) => set(outs[i], lanes("$log", get(x)))).join(" ")}))`;
}

/**
 * A function's text with each distinct nonzero v128 constant after the `;;consts` marker moved into a
 * local set once at entry: V8 builds a v128 constant from immediates at every use (several
 * instructions), which in these loops costs more than the arithmetic; a local is one load at most.
 */
function poolConstants(func: string): string {
  const at = func.indexOf(";;consts");
  const pool = new Map<string, string>();
  const body = func.slice(at + ";;consts".length).replace(/\(v128\.const [^()]*\)/g, (c) => {
    if (/^\(v128\.const \w+( (0x0p\+0|0))+\)$/.test(c)) return c; // zero: one xor, no register kept
    let name = pool.get(c);
    if (name === undefined) {
      name = `$k${pool.size}`;
      pool.set(c, name);
    }
    return `(local.get ${name})`;
  });
  const locals = [...pool.values()].map((n) => `(local ${n} v128)`).join(" ");
  const init = [...pool].map(([c, n]) => `(local.set ${n} ${c})`).join("\n    ");
  return `${func.slice(0, at)}${locals}\n    ${init}${body}`;
}

/** Address of the float of class index `c` (an i32 expression), row r: (cls[c] + r)·4. */
const logitAddress = (c: string): string =>
  `(i32.shl (i32.add (i32.load (i32.add (local.get $clsp) (i32.shl ${c} (i32.const 2)))) (local.get $r)) (i32.const 2))`;

/** lossSum += lane 0, then lane 1, of each of the given f64x2 locals: row order. */
const addRows = (names: string[]): string[] =>
  names.flatMap((n) =>
    [0, 1].map((l) => set("loss", `(f64.add (local.get $loss) (f64x2.extract_lane ${l} ${get(n)}))`)),
  );

const promoteLow = (v: string): string => `(f64x2.promote_low_f32x4 ${v})`;
const promoteHigh = (v: string): string => `(f64x2.promote_low_f32x4 ${upper(v)})`;

/**
 * The vector loops of `score`: steps of 4·Q rows while a whole step fits, Q groups of four rows each;
 * each group is two f64x2 chains of exp and log, and the chains' statements are interleaved so that
 * the CPU overlaps their long dependency chains. One method per loop body (two classes with and without
 * the loss, any number of classes with and without it), over the locals and chains they share.
 */
class VectorSteps {
  readonly #L: V128Locals;
  readonly #rows: number;
  readonly #qs: number[];
  /** quad q's rows 4q, 4q + 1 are chain `q${q}l`, rows 4q + 2, 4q + 3 chain `q${q}h` */
  readonly #chains: string[];

  constructor(L: V128Locals, Q: number) {
    this.#L = L;
    this.#rows = 4 * Q;
    this.#qs = [...Array(Q).keys()];
    this.#chains = this.#qs.flatMap((q) => [`q${q}l`, `q${q}h`]);
  }

  /** The loops, by class count and whether the loss is wanted. */
  text(): string {
    return `(if (i32.eq (local.get $classes) (i32.const 2))
      (then (if (local.get $withLoss)
        (then ${this.#vloop("twoloss", this.#twoLoss(), true)})
        (else ${this.#vloop("twocount", this.#twoCount(), true)})))
      (else (if (local.get $withLoss)
        (then ${this.#vloop("manyloss", this.#manyLoss(), false)})
        (else ${this.#vloop("manycount", this.#argmax(), false)}))))`;
  }

  /** The load offset of quad q in a step. */
  #at(q: number): string {
    return q === 0 ? "" : ` offset=${16 * q}`;
  }

  #exps(): string[] {
    return interleave(...this.#chains.map((ch) => vexp(this.#L, `e${ch}`, `x${ch}`, `${ch}e`)));
  }

  #logs(): string[] {
    return [
      ...interleave(...this.#chains.map((ch) => vlog(this.#L, `l${ch}`, `s${ch}`, `${ch}g`))),
      logGuard(
        this.#chains.map((ch) => `s${ch}`),
        this.#chains.map((ch) => `l${ch}`),
      ),
    ];
  }

  /** Two classes: one quad's logits, label, count and the argument of its exp. */
  #twoLoad(q: number): string[] {
    const L = this.#L;
    const at = this.#at(q);
    return [
      L.set(`a${q}`, `(v128.load${at} (local.get $p0))`),
      L.set(`b${q}`, `(v128.load${at} (local.get $p1))`),
      L.set(`lab${q}`, `(v128.load${at} (local.get $yr))`),
      L.set(`up${q}`, `(f32x4.gt (local.get $b${q}) (local.get $a${q}))`),
      // correct += (up ? 1 : 0) ^ label ^ 1, as scoreTwo
      L.set(
        "cnt",
        `(i32x4.add (local.get $cnt) (v128.xor (v128.xor (i32x4.shr_u (local.get $up${q}) (i32.const 31)) (local.get $lab${q})) ${i32x4(1)}))`,
      ),
      L.set(`max${q}`, `(v128.bitselect (local.get $b${q}) (local.get $a${q}) (local.get $up${q}))`),
      L.set(
        `al${q}`,
        `(v128.bitselect (local.get $a${q}) (local.get $b${q}) (i32x4.eq (local.get $lab${q}) ${i32x4(0)}))`,
      ),
      // −|a1 − a0| in double: a0 − a1 and a1 − a0 are exact negatives, so this is the other class's d
      L.set(
        `xq${q}l`,
        `(f64x2.neg (f64x2.abs (f64x2.sub ${promoteLow(`(local.get $b${q})`)} ${promoteLow(`(local.get $a${q})`)})))`,
      ),
      L.set(
        `xq${q}h`,
        `(f64x2.neg (f64x2.abs (f64x2.sub ${promoteHigh(`(local.get $b${q})`)} ${promoteHigh(`(local.get $a${q})`)})))`,
      ),
    ];
  }

  /** Each row's loss term max + log(sum) − a[label], given each quad's max (f64x2 per half) and a[label]. */
  #lossTerms(maxLow: (q: number) => string, maxHigh: (q: number) => string): string[] {
    return [
      ...this.#qs.flatMap((q) => [
        this.#L.set(
          `tq${q}l`,
          `(f64x2.sub (f64x2.add ${maxLow(q)} (local.get $lq${q}l)) ${promoteLow(`(local.get $al${q})`)})`,
        ),
        this.#L.set(
          `tq${q}h`,
          `(f64x2.sub (f64x2.add ${maxHigh(q)} (local.get $lq${q}h)) ${promoteHigh(`(local.get $al${q})`)})`,
        ),
      ]),
      ...addRows(this.#chains.map((ch) => `t${ch}`)),
    ];
  }

  #twoLoss(): string[] {
    return [
      ...this.#qs.flatMap((q) => this.#twoLoad(q)),
      ...this.#exps(),
      ...this.#chains.map((ch) => this.#L.set(`s${ch}`, `(f64x2.add ${f64x2(1)} (local.get $e${ch}))`)),
      ...this.#logs(),
      ...this.#lossTerms(
        (q) => promoteLow(`(local.get $max${q})`),
        (q) => promoteHigh(`(local.get $max${q})`),
      ),
    ];
  }

  #twoCount(): string[] {
    return this.#qs.map((q) =>
      this.#L.set(
        "cnt",
        `(i32x4.add (local.get $cnt) (v128.xor (v128.xor (i32x4.shr_u
        (f32x4.gt (v128.load${this.#at(q)} (local.get $p1)) (v128.load${this.#at(q)} (local.get $p0))) (i32.const 31))
        (v128.load${this.#at(q)} (local.get $yr))) ${i32x4(1)}))`,
      ),
    );
  }

  /** Any number of classes: argmax (first on ties) and the count of correct rows. */
  #argmax(): string[] {
    const L = this.#L;
    const qs = this.#qs;
    return [
      set("p0", logitAddress("(i32.const 0)")),
      ...qs.flatMap((q) => [
        L.set(`max${q}`, `(v128.load${this.#at(q)} (local.get $p0))`),
        L.set(`best${q}`, i32x4(0)),
      ]),
      set("c", "(i32.const 1)"),
      `(block $amax (loop $amaxc
      (br_if $amax (i32.ge_u (local.get $c) (local.get $classes)))
      ${set("p0", logitAddress("(local.get $c)"))}
      ${L.set("cs", "(i32x4.splat (local.get $c))")}
      ${qs
        .flatMap((q) => [
          L.set(`a${q}`, `(v128.load${this.#at(q)} (local.get $p0))`),
          L.set(`up${q}`, `(f32x4.gt (local.get $a${q}) (local.get $max${q}))`),
          L.set(`max${q}`, `(v128.bitselect (local.get $a${q}) (local.get $max${q}) (local.get $up${q}))`),
          L.set(`best${q}`, `(v128.bitselect (local.get $cs) (local.get $best${q}) (local.get $up${q}))`),
        ])
        .join("\n      ")}
      ${set("c", "(i32.add (local.get $c) (i32.const 1))")}
      (br $amaxc)))`,
      ...qs.flatMap((q) => [
        L.set(`lab${q}`, `(v128.load${this.#at(q)} (local.get $yr))`),
        L.set("cnt", `(i32x4.sub (local.get $cnt) (i32x4.eq (local.get $best${q}) (local.get $lab${q})))`),
      ]),
    ];
  }

  /** Any number of classes with the loss: the argmax, then Σ_c exp(a[c] − max) class by class. */
  #manyLoss(): string[] {
    const L = this.#L;
    const qs = this.#qs;
    return [
      ...this.#argmax(),
      ...qs.flatMap((q) => [
        L.set(`mq${q}l`, promoteLow(`(local.get $max${q})`)),
        L.set(`mq${q}h`, promoteHigh(`(local.get $max${q})`)),
        L.set(`al${q}`, i32x4(0)),
      ]),
      ...this.#chains.map((ch) => L.set(`s${ch}`, f64x2(0))),
      set("c", "(i32.const 0)"),
      `(block $sum (loop $sumc
      (br_if $sum (i32.ge_u (local.get $c) (local.get $classes)))
      ${set("p0", logitAddress("(local.get $c)"))}
      ${L.set("cs", "(i32x4.splat (local.get $c))")}
      ${qs
        .flatMap((q) => [
          L.set(`a${q}`, `(v128.load${this.#at(q)} (local.get $p0))`),
          L.set(
            `al${q}`,
            `(v128.bitselect (local.get $a${q}) (local.get $al${q}) (i32x4.eq (local.get $lab${q}) (local.get $cs)))`,
          ),
          L.set(`xq${q}l`, `(f64x2.sub ${promoteLow(`(local.get $a${q})`)} (local.get $mq${q}l))`),
          L.set(`xq${q}h`, `(f64x2.sub ${promoteHigh(`(local.get $a${q})`)} (local.get $mq${q}h))`),
        ])
        .join("\n      ")}
      ${this.#exps().join("\n      ")}
      ${this.#chains.map((ch) => L.set(`s${ch}`, `(f64x2.add (local.get $s${ch}) (local.get $e${ch}))`)).join("\n      ")}
      ${set("c", "(i32.add (local.get $c) (i32.const 1))")}
      (br $sumc)))`,
      ...this.#logs(),
      ...this.#lossTerms(
        (q) => `(local.get $mq${q}l)`,
        (q) => `(local.get $mq${q}h)`,
      ),
    ];
  }

  /** A vector loop over steps of 4·Q rows, from r = 0 while a whole step fits. */
  #vloop(name: string, body: string[], two: boolean): string {
    const ROWS = this.#rows;
    return `(block $${name}done (loop $${name}
        (br_if $${name}done (i32.gt_s (i32.add (local.get $r) (i32.const ${ROWS})) (local.get $len)))
        ${two ? `${set("p0", "(i32.shl (i32.add (local.get $c0) (local.get $r)) (i32.const 2))")} ${set("p1", "(i32.shl (i32.add (local.get $c1) (local.get $r)) (i32.const 2))")}` : ""}
        ${set("yr", "(i32.add (local.get $yp) (i32.shl (local.get $r) (i32.const 2)))")}
        ${body.join("\n        ")}
        ${set("r", `(i32.add (local.get $r) (i32.const ${ROWS}))`)}
        (br $${name})))`;
  }
}

/** Groups of four rows per vector step in the kernel: 16 rows, measured best (docs/performance.md). */
const SCORE_QUADS = 4;

/**
 * The module's text. `quads` groups of four rows per vector step (0: the scalar-only variant, kept
 * for comparison); each group is two f64x2 chains of exp and log, interleaved with the others'.
 */
export function scoreKernelWat(quads = SCORE_QUADS): string {
  const L = new V128Locals();
  // Q groups per step, then single groups, then single rows
  const steps =
    quads === 0
      ? ""
      : `${new VectorSteps(L, quads).text()}
    ${quads > 1 ? new VectorSteps(L, 1).text() : ""}
    ;; the vector steps' counts
    (local.set $n (i32.add (i32.add (i32x4.extract_lane 0 (local.get $cnt)) (i32x4.extract_lane 1 (local.get $cnt)))
      (i32.add (i32x4.extract_lane 2 (local.get $cnt)) (i32x4.extract_lane 3 (local.get $cnt)))))`;
  const scalarRows = `
    ;; the remaining rows one at a time, exactly as kernel.ts's scoreRows
    (block $sdone (loop $srow
      (br_if $sdone (i32.ge_s (local.get $r) (local.get $len)))
      (local.set $label (i32.load (i32.add (local.get $yp) (i32.shl (local.get $r) (i32.const 2)))))
      (if (i32.eq (local.get $classes) (i32.const 2))
        (then
          (local.set $x0 (f64.promote_f32 (f32.load (i32.shl (i32.add (local.get $c0) (local.get $r)) (i32.const 2)))))
          (local.set $x1 (f64.promote_f32 (f32.load (i32.shl (i32.add (local.get $c1) (local.get $r)) (i32.const 2)))))
          (local.set $n (i32.add (local.get $n) (i32.xor (i32.xor (f64.gt (local.get $x1) (local.get $x0)) (local.get $label)) (i32.const 1))))
          (if (local.get $withLoss) (then
            (local.set $loss (f64.add (local.get $loss) (f64.sub
              (f64.add (select (local.get $x1) (local.get $x0) (f64.gt (local.get $x1) (local.get $x0)))
                (call $log (f64.add (f64.const 1)
                  (call $exp (f64.neg (f64.abs (f64.sub (local.get $x1) (local.get $x0))))))))
              (select (local.get $x0) (local.get $x1) (i32.eqz (local.get $label)))))))))
        (else
          (local.set $bi (i32.const 0))
          (local.set $mx (f64.promote_f32 (f32.load ${logitAddress("(i32.const 0)")})))
          (local.set $c (i32.const 1))
          (block $smax (loop $smaxc
            (br_if $smax (i32.ge_u (local.get $c) (local.get $classes)))
            (local.set $x0 (f64.promote_f32 (f32.load ${logitAddress("(local.get $c)")})))
            (if (f64.gt (local.get $x0) (local.get $mx)) (then
              (local.set $mx (local.get $x0))
              (local.set $bi (local.get $c))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $smaxc)))
          (local.set $n (i32.add (local.get $n) (i32.eq (local.get $bi) (local.get $label))))
          (if (local.get $withLoss) (then
            (local.set $sum (f64.const 0))
            (local.set $c (i32.const 0))
            (block $ssum (loop $ssumc
              (br_if $ssum (i32.ge_u (local.get $c) (local.get $classes)))
              ;; exp(±0) is exactly 1: the reference's shortcut for the max's own term needs no branch
              (local.set $sum (f64.add (local.get $sum) (call $exp (f64.sub
                (f64.promote_f32 (f32.load ${logitAddress("(local.get $c)")})) (local.get $mx)))))
              (local.set $c (i32.add (local.get $c) (i32.const 1)))
              (br $ssumc)))
            (local.set $loss (f64.add (local.get $loss) (f64.sub
              (f64.add (local.get $mx) (call $log (local.get $sum)))
              (f64.promote_f32 (f32.load ${logitAddress("(local.get $label)")})))))))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $srow)))`;

  const score = poolConstants(`(func (export "score") (param $clsp i32) (param $classes i32) (param $yp i32)
      (param $len i32) (param $withLoss i32) (param $totp i32)
    (local $r i32) (local $c i32) (local $c0 i32) (local $c1 i32) (local $p0 i32) (local $p1 i32)
    (local $yr i32) (local $n i32) (local $label i32) (local $bi i32)
    (local $loss f64) (local $x0 f64) (local $x1 f64) (local $mx f64) (local $sum f64)
    ${L.declarations()}
    ;;consts
    (local.set $loss (f64.load offset=8 (local.get $totp)))
    (local.set $c0 (i32.load (local.get $clsp)))
    (local.set $c1 (i32.load offset=4 (local.get $clsp)))
    ${steps}
    ${scalarRows}
    (f64.store (local.get $totp) (f64.add (f64.load (local.get $totp)) (f64.convert_i32_s (local.get $n))))
    (f64.store offset=8 (local.get $totp) (local.get $loss)))`);

  /** exp or log of n doubles at src into dst (byte addresses): pairs through the vector code. */
  const mapFunction = (name: string, fn: "exp" | "log"): string => {
    const M = new V128Locals();
    const body =
      fn === "exp"
        ? [
            ...vexp(M, "y", "x", "m"),
            // lanes x > 0, which scoring never has: the scalar port
            `(if (v128.any_true (f64x2.gt (local.get $x) ${f64x2(0)})) (then ${set("y", lanes("$exp", "(local.get $x)"))}))`,
          ]
        : [...vlog(M, "y", "x", "m"), logGuard(["x"], ["y"])];
    return poolConstants(`(func (export "${name}") (param $src i32) (param $dst i32) (param $n i32)
    (local $i i32) (local $x v128) ${M.declarations()}
    ;;consts
    (block $done (loop $pairs
      (br_if $done (i32.gt_s (i32.add (local.get $i) (i32.const 2)) (local.get $n)))
      (local.set $x (v128.load (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 3)))))
      ${body.join("\n      ")}
      (v128.store (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 3))) (local.get $y))
      (local.set $i (i32.add (local.get $i) (i32.const 2)))
      (br $pairs)))
    (if (i32.lt_s (local.get $i) (local.get $n)) (then
      (f64.store (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 3)))
        (call $${fn} (f64.load (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 3)))))))))`);
  };

  return `(module
  (memory (import "env" "memory") 1 65536)
  ${scalarFunctions}
  (export "exp" (func $exp))
  (export "log" (func $log))
  ${quads > 0 ? mapFunction("expPairs", "exp") : ""}
  ${quads > 0 ? mapFunction("logPairs", "log") : ""}

  ;; score(clsp, classes, yp, len, withLoss, totp): kernel.ts's scoreRows on rows 0 .. len − 1, where
  ;; the logit of class c, row r is the f32 at byte (cls[c] + r)·4 with cls the i32 list at clsp, the
  ;; label of row r the i32 at yp + 4r, and totp holds two f64s, [correct, lossSum], read and updated.
  ${score})`;
}

// ---------------------------------------------------------------------------------------------------
// Assembly and instances.

/** The running totals the kernel reads and writes at `totp`: kernel.ts's Totals, as two doubles. */
export interface ScoreTotals {
  correct: number;
  lossSum: number;
}

/** Byte size of the totals area at `totp` (two f64: correct, lossSum); `totp` must be 8-aligned. */
export const SCORE_TOTALS_BYTES = 16;

export interface ScoreKernel {
  /** "simd" (16 rows per step in f64x2 pairs) or "scalar" (scalar WebAssembly only, for comparison). */
  readonly kind: "simd" | "scalar";
  /**
   * kernel.ts's `scoreRows(lg, cls, classes, y, yOff, len, loss, totals)` bit for bit, with lg the
   * memory's Float32 view from byte 0 (logit of class c, row r at float index cls[c] + r), `clsp` the
   * byte address of the `classes` Int32 column offsets, `yp` the byte address of the first row's Int32
   * label (y[yOff]), `loss` 1 or 0, and `totp` the 8-aligned byte address of two Float64s
   * [correct, lossSum] that are read and updated (`correct` as a double, exact below 2^53). Labels
   * must lie in 0 .. classes − 1; classes ≥ 1. Everything it reads must lie in the memory.
   */
  readonly score: (
    clsp: number,
    classes: number,
    yp: number,
    len: number,
    loss: number,
    totp: number,
  ) => void;
  /** `score` with the totals copied through the area at `totp` from and back to a JavaScript object. */
  scoreRows(
    clsp: number,
    classes: number,
    yp: number,
    len: number,
    loss: boolean,
    totp: number,
    totals: ScoreTotals,
  ): void;
  /** The WebAssembly exp/log ports (scalar), and over n doubles at byte addresses via the vector code. */
  readonly exp: (x: number) => number;
  readonly log: (x: number) => number;
  readonly expPairs: ((src: number, dst: number, n: number) => void) | null;
  readonly logPairs: ((src: number, dst: number, n: number) => void) | null;
}

function build(quads: number): WasmModule | null {
  return assembleWat("score.wat", scoreKernelWat(quads), { simd: quads > 0, sat_float_to_int: true });
}

/**
 * Why `module`'s exp and log (scalar and vector) are unusable here, or null when they give Math.exp's
 * and Math.log's doubles on 4096 seeded inputs of the ranges scoring uses. A guard for runtimes whose
 * Math functions are not fdlibm's (a newer V8, or a platform that fuses), which the tests on this
 * machine cannot see; the JavaScript scoring is used instead.
 */
export function scoreSelfCheck(module: WasmModule): string | null {
  if (wasmApi === undefined) return "this runtime has no WebAssembly";
  const memory = new wasmApi.Memory({ initial: 1, maximum: 1 });
  const e = instantiate(module, memory);
  const f64 = new Float64Array(memory.buffer);
  const rng = Rng.derive("score-kernel-self-check");
  const n = 2048;
  for (const [name, math] of [
    ["exp", Math.exp],
    ["log", Math.log],
  ] as const) {
    for (let i = 0; i < n; i++) {
      // exp: differences of logits, mostly small, some deep in underflow; log: sums in [1, classes]
      f64[i] = name === "log" ? 1 + rng.uniform(0, 20) : -rng.uniform(0, i % 8 === 0 ? 760 : 40);
    }
    (e[`${name}Pairs`] as (src: number, dst: number, n: number) => void)(0, 8 * n, n);
    const scalar = e[name] as (x: number) => number;
    for (let i = 0; i < n; i++) {
      const want = math(f64[i]);
      if (!Object.is(f64[n + i], want) || !Object.is(scalar(f64[i]), want))
        return `its ${name} differs from Math.${name}(${f64[i]}) on this runtime`;
    }
  }
  return null;
}

// The SIMD module is assembled and self-checked at import; the scalar one (for comparison) on first use.
const simdModule = build(SCORE_QUADS);
const simdUnusable =
  simdModule === null ? "wabt or WebAssembly SIMD is not available" : scoreSelfCheck(simdModule);
const modules: { simd: WasmModule | null; scalar?: WasmModule | null } = {
  simd: simdUnusable === null ? simdModule : null,
};

/** Why the SIMD scoring kernel is off (null when it is in use). */
export function scoreKernelUnavailableReason(): string | null {
  return simdUnusable;
}

/**
 * A scoring kernel on `memory` (a WebAssembly.Memory, e.g. a SimdKernel's; anything else fails to link),
 * the SIMD one unless `kind` asks for the scalar one; null when the runtime has no WebAssembly, wabt
 * cannot be loaded, or the module does not validate (no SIMD).
 */
export function createScoreKernel(
  memory: { buffer: ArrayBuffer },
  kind: "simd" | "scalar" = "simd",
): ScoreKernel | null {
  if (kind === "scalar" && modules.scalar === undefined) modules.scalar = build(0);
  const module = modules[kind];
  if (module == null || wasmApi === undefined) return null;
  const e = instantiate(module, memory);
  const score = e.score as ScoreKernel["score"];
  let view = new Float64Array(memory.buffer);
  return {
    kind,
    score,
    scoreRows(clsp, classes, yp, len, loss, totp, totals) {
      if (view.buffer !== memory.buffer) view = new Float64Array(memory.buffer);
      const at = totp >>> 3;
      view[at] = totals.correct;
      view[at + 1] = totals.lossSum;
      score(clsp, classes, yp, len, loss ? 1 : 0, totp);
      totals.correct = view[at];
      totals.lossSum = view[at + 1];
    },
    exp: e.exp as (x: number) => number,
    log: e.log as (x: number) => number,
    expPairs: (e.expPairs as ScoreKernel["expPairs"]) ?? null,
    logPairs: (e.logPairs as ScoreKernel["logPairs"]) ?? null,
  };
}
