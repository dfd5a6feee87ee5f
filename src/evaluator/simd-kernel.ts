// The unit-column kernel of kernel.ts in WebAssembly SIMD: the same sum, term by term in the
// reference's order, but two rows per 128-bit lane pair and 16 rows per step, so each term's column
// offset and weight are loaded once per 16 rows. Rows are independent, so vectorising across rows keeps
// every row's additions in the reference's order: results are bit for bit those of `unitColumn`.
//
// Relaxed SIMD's f64x2.relaxed_madd may or may not fuse the multiply-add; either way the result is the
// same here, because w·x of a Float32-valued weight and a Float32 input is exact in double (24 + 24
// significant bits ≤ 53), so fused and unfused round the same exact sum once. It is used only where the
// runtime validates it (measured faster on the output layer: docs/performance.md § Why the kernels are
// shaped so); plain SIMD otherwise, and the JavaScript kernels when the runtime has no SIMD at all or
// SLT_SIMD=0 is set.
//
// The module is written in the WebAssembly text format and assembled at start-up (wasm.ts). The kernel reads and writes one
// WebAssembly.Memory that the evaluator lays out: its arena of Float32 columns from byte 0, then the
// term lists (Int32 column offsets, Float64 weights) it hands over by byte address.
import {
  assembleWat,
  instantiate,
  type WasmMemory,
  type WasmModule,
  wasmApi,
  wasmUnavailableReason,
} from "./wasm.ts";

export type SimdKind = "relaxed-simd" | "simd";
/** What `kernel` may be set to: the best available ("auto"), a given one, or the JavaScript kernels. */
export type KernelChoice = "auto" | "js" | SimdKind;

/** Rows per step of the vector loop; the rest of a block is done a row at a time. */
const ROWS = 16;

/** The module's text: `unit(colp, wp, k, bias, dst, len, relu)` with byte addresses colp, wp, dst. */
export function unitKernelWat(relaxed: boolean): string {
  const acc = ROWS / 2;
  const locals: string[] = [];
  const init: string[] = [];
  const terms: string[] = [];
  const relu: string[] = [];
  const stores: string[] = [];
  for (let i = 0; i < acc; i++) {
    const a = `$a${i}`;
    locals.push(`(local ${a} v128)`);
    init.push(`(local.set ${a} (local.get $b))`);
    // two rows: their Float32 inputs loaded as 8 bytes and widened to two doubles
    const x = `(f64x2.promote_low_f32x4 (v128.load64_zero offset=${8 * i} (local.get $p)))`;
    terms.push(
      relaxed
        ? `(local.set ${a} (f64x2.relaxed_madd (local.get $w) ${x} (local.get ${a})))`
        : `(local.set ${a} (f64x2.add (local.get ${a}) (f64x2.mul (local.get $w) ${x})))`,
    );
    // ReLU as (a + |a|)·0.5, exactly kernel.ts's
    relu.push(
      `(local.set ${a} (f64x2.mul (f64x2.add (local.get ${a}) (f64x2.abs (local.get ${a}))) (local.get $half)))`,
    );
  }
  for (let j = 0; j < acc / 2; j++) {
    stores.push(
      `(v128.store offset=${16 * j} (local.get $p) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 ` +
        `(f32x4.demote_f64x2_zero (local.get $a${2 * j})) (f32x4.demote_f64x2_zero (local.get $a${2 * j + 1}))))`,
    );
  }
  // address of term t's input for row r: (col[t] + r) · 4
  const termAddress =
    "(i32.shl (i32.add (i32.load (i32.add (local.get $colp) (i32.shl (local.get $t) (i32.const 2)))) (local.get $r)) (i32.const 2))";
  const weightAddress = "(i32.add (local.get $wp) (i32.shl (local.get $t) (i32.const 3)))";
  return `(module
  (memory (import "env" "memory") 1 65536)
  (func (export "unit") (param $colp i32) (param $wp i32) (param $k i32) (param $bias f64)
      (param $dst i32) (param $len i32) (param $relu i32)
    (local $r i32) (local $t i32) (local $p i32) (local $end i32) (local $s f64)
    (local $w v128) (local $b v128) (local $half v128) ${locals.join(" ")}
    (local.set $b (f64x2.splat (local.get $bias)))
    (local.set $half (f64x2.splat (f64.const 0.5)))
    (local.set $end (i32.and (local.get $len) (i32.const ${-ROWS})))
    (block $vdone (loop $vrows
      (br_if $vdone (i32.ge_u (local.get $r) (local.get $end)))
      ${init.join(" ")}
      (local.set $t (i32.const 0))
      (block $tdone (loop $terms
        (br_if $tdone (i32.ge_u (local.get $t) (local.get $k)))
        (local.set $p ${termAddress})
        (local.set $w (v128.load64_splat ${weightAddress}))
        ${terms.join("\n        ")}
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $terms)))
      (if (local.get $relu) (then ${relu.join("\n        ")}))
      (local.set $p (i32.add (local.get $dst) (i32.shl (local.get $r) (i32.const 2))))
      ${stores.join("\n      ")}
      (local.set $r (i32.add (local.get $r) (i32.const ${ROWS})))
      (br $vrows)))
    (block $done (loop $rows
      (br_if $done (i32.ge_u (local.get $r) (local.get $len)))
      (local.set $s (local.get $bias))
      (local.set $t (i32.const 0))
      (block $sdone (loop $sterms
        (br_if $sdone (i32.ge_u (local.get $t) (local.get $k)))
        (local.set $s (f64.add (local.get $s)
          (f64.mul (f64.load ${weightAddress}) (f64.promote_f32 (f32.load ${termAddress})))))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $sterms)))
      (if (local.get $relu)
        (then (local.set $s (f64.mul (f64.add (local.get $s) (f64.abs (local.get $s))) (f64.const 0.5)))))
      (f32.store (i32.add (local.get $dst) (i32.shl (local.get $r) (i32.const 2))) (f32.demote_f64 (local.get $s)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rows)))))`;
}

export type UnitFunction = (
  colp: number,
  wp: number,
  k: number,
  bias: number,
  dst: number,
  len: number,
  relu: number,
) => void;

/** One evaluator's kernel instance and the memory it works on. */
export interface SimdKernel {
  readonly kind: SimdKind;
  readonly memory: WasmMemory;
  /**
   * dst[r] = act(bias + Σ_t w[t]·arena[col[t] + r]) for r < len, as kernel.ts's unitColumn; colp and
   * wp are the byte addresses of k Int32 column offsets and k Float64 weights, dst a byte address.
   */
  readonly unit: UnitFunction;
}

interface Modules {
  readonly "relaxed-simd": WasmModule | null;
  readonly simd: WasmModule | null;
  /** why there is no SIMD kernel at all, when there is none */
  readonly reason: string | null;
}

function assemble(): Modules {
  const build = (relaxed: boolean) =>
    assembleWat("unit.wat", unitKernelWat(relaxed), { simd: true, relaxed_simd: relaxed });
  const plain = build(false);
  return {
    "relaxed-simd": build(true),
    simd: plain,
    reason:
      plain !== null ? null : (wasmUnavailableReason() ?? "this runtime does not validate WebAssembly SIMD"),
  };
}

// Assembled once per process (and once per worker thread), when this module is first imported.
const modules: Modules = assemble();

/** The kernels this runtime has, best first. */
export function simdKinds(): SimdKind[] {
  const kinds: SimdKind[] = [];
  if (modules["relaxed-simd"]) kinds.push("relaxed-simd");
  if (modules.simd) kinds.push("simd");
  return kinds;
}

/** Why no SIMD kernel is available (null when one is). */
export function simdUnavailableReason(): string | null {
  return modules.reason;
}

/** `auto` as the environment asks: SLT_SIMD=0 means the JavaScript kernels. */
export function kernelChoiceFromEnv(env: NodeJS.ProcessEnv = process.env): KernelChoice {
  const v = env.SLT_SIMD;
  if (v === undefined || v === "" || v === "1" || v === "auto") return "auto";
  if (v === "0" || v === "js") return "js";
  if (v === "simd" || v === "relaxed-simd") return v;
  throw new RangeError(`SLT_SIMD must be 0, 1, auto, js, simd or relaxed-simd, got ${JSON.stringify(v)}`);
}

/** The largest memory a kernel can address (wasm32: 65536 pages of 64 KiB). */
export const MAX_SIMD_BYTES = 65536 * 65536;

/**
 * A kernel of the chosen kind over a fresh memory of at least `bytes` bytes, or null for "js", when
 * the runtime lacks it under "auto", or when the memory cannot be had. An explicit kind the runtime
 * lacks is an error, so a test or benchmark that asks for one never silently measures another.
 */
export function createSimdKernel(choice: KernelChoice, bytes: number): SimdKernel | null {
  if (choice === "js") return null;
  const kind = choice === "auto" ? simdKinds()[0] : choice;
  if (kind === undefined) return null;
  const module = modules[kind];
  if (module === null) throw new RangeError(`this runtime has no ${kind} kernel`);
  if (bytes > MAX_SIMD_BYTES) {
    if (choice === "auto") return null;
    throw new RangeError(`the ${kind} kernel addresses at most 4 GiB; this evaluator needs ${bytes} bytes`);
  }
  const pages = Math.max(1, Math.ceil(bytes / 65536));
  let memory: WasmMemory;
  try {
    memory = new (wasmApi as NonNullable<typeof wasmApi>).Memory({ initial: pages, maximum: pages });
  } catch (e) {
    if (choice === "auto") return null;
    throw e;
  }
  return { kind, memory, unit: instantiate(module, memory).unit as UnitFunction };
}
