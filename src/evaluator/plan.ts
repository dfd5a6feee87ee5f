// Compiled masks ("plans"): for every weight layer, the units to compute and, per unit, the kept
// input indices in ascending order with their weights. Plain typed arrays only, so that a plan (like
// the weights and the data) can later live in a SharedArrayBuffer and be read by worker threads.
//
// Why skipping is exact. The reference adds every term w·x in ascending input order, with w = +0 for
// pruned weights. Given finite activations, a pruned term is ±0, and acc + (±0) equals acc except that
// -0 + +0 = +0; so skipping a pruned term changes at most the sign of a zero. A zero's sign never
// changes a magnitude further on (a product or sum with a signed zero only differs again in the sign of
// a zero), never changes an argmax (comparisons treat ±0 as equal) and never changes a row's loss
// (exp(±0) = 1 and x − (±0) = x). The same argument covers hidden units whose activation is identically
// zero (no effective inputs and bias ≤ 0): their outgoing terms are ±0 and are skipped too, and units
// that feed nothing (no kept outgoing weight to a computed unit) are not computed at all.
// The argument needs finite activations (0·∞ is NaN): `activationBounds` checks that once per network and
// split; when it cannot guarantee them the evaluator hands every mask to the reference evaluator.
import type { Mask } from "../core/mask.ts";
import type { Network } from "../core/network.ts";

export interface LayerPlan {
  /** number of units of this layer that are computed */
  count: number;
  /** computed unit ids, ascending; the first `count` entries are used */
  readonly units: Int32Array;
  /** terms of the u-th computed unit are start[u] .. start[u+1] − 1 */
  readonly start: Int32Array;
  /** input index (unit of the previous activation layer, or feature) of each term, ascending per unit */
  readonly idx: Int32Array;
  /** weight of each term */
  readonly w: Float64Array;
  /** bias of each computed unit */
  readonly bias: Float64Array;
}

export interface Plan {
  readonly layers: LayerPlan[];
  /** unit u of hidden activation layer l (0-based among hidden layers) is identically zero */
  readonly zero: Uint8Array[];
  /** unit u of hidden activation layer l is computed */
  readonly live: Uint8Array[];
}

export type PlanMode =
  /** skip pruned terms, identically-zero inputs and units that feed nothing (exact for finite activations) */
  | "sparse"
  /** like sparse but compute every hidden unit (for cached activations that later masks reuse) */
  | "all-units";

/** `weights` allocates each layer's term weights (the SIMD kernel's live in its WebAssembly memory). */
export function allocPlan(
  net: Network,
  weights: (length: number) => Float64Array = (length) => new Float64Array(length),
): Plan {
  const layers = net.layers.map((L) => ({
    count: 0,
    units: new Int32Array(L.outputs),
    start: new Int32Array(L.outputs + 1),
    idx: new Int32Array(L.inputs * L.outputs),
    w: weights(L.inputs * L.outputs),
    bias: new Float64Array(L.outputs),
  }));
  const hidden = net.architecture.slice(1, -1);
  return {
    layers,
    zero: hidden.map((w) => new Uint8Array(w)),
    live: hidden.map((w) => new Uint8Array(w)),
  };
}

/** Compiles `mask` into `plan` (allocated by allocPlan for the same network). */
export function compilePlan(net: Network, mask: Mask, plan: Plan, mode: PlanMode): Plan {
  const words = mask.words;
  const last = net.layers.length - 1;
  // forward: which hidden units are identically zero (no effective inputs and bias ≤ 0)
  for (let l = 0; l < last; l++) {
    const L = net.layers[l];
    const zero = plan.zero[l];
    const prevZero = l > 0 ? plan.zero[l - 1] : null;
    for (let o = 0; o < L.outputs; o++) {
      let any = false;
      const row = L.offset + o * L.inputs;
      for (let i = 0; i < L.inputs && !any; i++) {
        const g = row + i;
        if ((words[g >>> 5] >>> (g & 31)) & 1 && (prevZero === null || prevZero[i] === 0)) any = true;
      }
      zero[o] = !any && L.bias[o] <= 0 ? 1 : 0;
    }
  }
  // backward: which hidden units feed a computed unit of the next layer
  for (let l = last; l >= 1; l--) {
    const L = net.layers[l];
    const live = plan.live[l - 1];
    const zero = plan.zero[l - 1];
    if (mode !== "sparse") {
      live.fill(1);
      continue;
    }
    live.fill(0);
    const nextLive = l < last ? plan.live[l] : null;
    for (let o = 0; o < L.outputs; o++) {
      if (nextLive !== null && nextLive[o] === 0) continue;
      const row = L.offset + o * L.inputs;
      for (let i = 0; i < L.inputs; i++) {
        const g = row + i;
        if ((words[g >>> 5] >>> (g & 31)) & 1 && zero[i] === 0) live[i] = 1;
      }
    }
  }
  // emit
  for (let l = 0; l <= last; l++) {
    const L = net.layers[l];
    const P = plan.layers[l];
    const live = l < last ? plan.live[l] : null;
    const prevZero = l > 0 ? plan.zero[l - 1] : null;
    let count = 0;
    let t = 0;
    for (let o = 0; o < L.outputs; o++) {
      if (live !== null && live[o] === 0) continue;
      P.units[count] = o;
      P.bias[count] = L.bias[o];
      P.start[count] = t;
      const row = o * L.inputs;
      for (let i = 0; i < L.inputs; i++) {
        const g = L.offset + row + i;
        if ((words[g >>> 5] >>> (g & 31)) & 1 && (prevZero === null || prevZero[i] === 0)) {
          P.idx[t] = i;
          P.w[t++] = L.weight[row + i];
        }
      }
      count++;
    }
    P.start[count] = t;
    P.count = count;
  }
  return plan;
}

/** Largest finite Float32 value. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * A mask-independent bound on every unit's |pre-activation| (and so on its activation), per weight
 * layer, for any mask on this data: |bias| + Σ |weight| · (bound of the input), every weight kept. Null
 * when the data, weights or biases are not finite or a bound comes near the largest Float32 (then an
 * activation or logit could overflow to ±∞, and 0·∞ could occur).
 */
export function activationBounds(
  net: Network,
  xT: Float32Array,
  n: number,
  features: number,
): Float64Array[] | null {
  let bound = new Float64Array(features);
  for (let f = 0; f < features; f++) {
    let m = 0;
    for (let r = 0; r < n; r++) {
      const v = Math.abs(xT[f * n + r]);
      if (!(v <= FLOAT32_MAX)) return null;
      if (v > m) m = v;
    }
    bound[f] = m;
  }
  const bounds: Float64Array[] = [];
  for (const L of net.layers) {
    const next = new Float64Array(L.outputs);
    for (let o = 0; o < L.outputs; o++) {
      let b = Math.abs(L.bias[o]);
      for (let i = 0; i < L.inputs; i++) b += Math.abs(L.weight[o * L.inputs + i]) * bound[i];
      // 1e-3 relative headroom covers Float32 rounding of stored activations and double summation error
      if (!(b * 1.001 < FLOAT32_MAX)) return null;
      next[o] = b * (1 + 2 ** -20);
    }
    bounds.push(next);
    bound = next;
  }
  return bounds;
}
