// The delta analysis of the fast evaluator (fast-forward.ts § Delta evaluation): which units of a child
// mask are changed against its parent — a unit whose own row of the mask differs, or one that keeps a
// weight from a changed unit of the layer below, propagated layer by layer — which of the child's plan
// must be recomputed (changed, or unknown in the parent), and whether that delta pays against a full
// pass. It stands apart from the passes because it reads only the network, the child's plan and the
// parent's column list, and decides; the evaluator then runs the delta pass it chose.
//
// A delta is taken when its estimated work is below DELTA_MAX_WORK of a full pass's; else the mask is
// evaluated in full. The estimate counts, per row, the kept terms of each computed unit plus UNIT_COST,
// plus SCORE_COST per class for scoring (the softmax loss's exp and log per row are a large part of a
// small network's pass); first-layer units are left out of both sides when the memo is on, since both
// paths take them from the memo.
// Calibrated on GA mask sequences (moons [2,75,2], digits [64,75,10]) so that the estimate tracks the
// measured time ratio of a delta to a full pass; DELTA_MAX_WORK is where a delta stops paying. The
// measurements are in docs/performance.md § Why the kernels are shaped so.
import type { Network } from "../core/network.ts";
import type { Plan } from "./plan.ts";

/**
 * Cost model of a pass, in kept terms per row: each computed unit costs its terms plus UNIT_COST (the
 * store and the ReLU), scoring costs SCORE_COST per class (SCORE_COST_ACCURACY without the loss), both
 * from CPU profiles. A delta is taken when its estimate is below DELTA_MAX_WORK times the full pass's:
 * measured per mask on the GA's mutants and children, a delta estimated above that costs as much as a
 * full pass or more (the delta's bookkeeping and the parent's columns read from memory). The figures:
 * docs/performance.md § Why the kernels are shaped so.
 */
const UNIT_COST = 2;
const SCORE_COST = 40;
const SCORE_COST_ACCURACY = 3;
export const DELTA_MAX_WORK = 0.85;

/**
 * Sets changed[l][o] = 1 for every unit o of activation layer l (weight layer l's outputs, logits last)
 * that is changed in `child` against `parent` (mask words), 0 for the others. `list` is scratch of at
 * least the widest layer's length.
 */
export function markChanged(
  net: Network,
  child: Uint32Array,
  parent: Uint32Array,
  changed: readonly Uint8Array[],
  list: Int32Array,
): void {
  const last = net.layers.length - 1;
  for (const c of changed) c.fill(0);
  // rows whose bits differ
  for (let k = 0; k < child.length; k++) {
    let x = child[k] ^ parent[k];
    while (x !== 0) {
      const g = k * 32 + 31 - Math.clz32(x & -x);
      x &= x - 1;
      let l = last;
      while (g < net.layers[l].offset) l--;
      const L = net.layers[l];
      changed[l][Math.floor((g - L.offset) / L.inputs)] = 1;
    }
  }
  // a changed unit dirties the next layer's units that keep a weight from it
  for (let l = 1; l <= last; l++) {
    const prev = changed[l - 1];
    let m = 0;
    for (let i = 0; i < prev.length; i++) if (prev[i] === 1) list[m++] = i;
    if (m === 0) continue;
    const L = net.layers[l];
    const cur = changed[l];
    for (let o = 0; o < L.outputs; o++) {
      if (cur[o] === 1) continue;
      const row = L.offset + o * L.inputs;
      for (let j = 0; j < m; j++) {
        const g = row + list[j];
        if ((child[g >>> 5] >>> (g & 31)) & 1) {
          cur[o] = 1;
          break;
        }
      }
    }
  }
}

/** The cost model's settings: the memo on (first-layer units cost nothing), the loss scored, the cut. */
export interface DeltaCost {
  readonly memoed: boolean;
  readonly loss: boolean;
  readonly maxWork: number;
}

/**
 * The analysis over the evaluator's arrays: `changed` and `rec` (per activation layer: unit changed
 * against the parent; unit to compute in the pass) it writes, the plan (the child's, compiled in place)
 * and the column offsets of each activation layer in an entry's column list it reads.
 */
export class DeltaAnalysis {
  readonly #net: Network;
  readonly #plan: Plan;
  readonly #changed: readonly Uint8Array[];
  readonly #rec: readonly Uint8Array[];
  readonly #aOff: readonly number[];
  readonly #list: Int32Array;
  readonly #memoed: boolean;
  /** scoring's cost per row */
  readonly #score: number;
  readonly #maxWork: number;

  constructor(
    net: Network,
    plan: Plan,
    changed: readonly Uint8Array[],
    rec: readonly Uint8Array[],
    aOff: readonly number[],
    cost: DeltaCost,
  ) {
    this.#net = net;
    this.#plan = plan;
    this.#changed = changed;
    this.#rec = rec;
    this.#aOff = aOff;
    this.#list = new Int32Array(Math.max(0, ...net.architecture.slice(1)));
    this.#memoed = cost.memoed;
    const classes = net.architecture[net.architecture.length - 1];
    this.#score = classes * (cost.loss ? SCORE_COST : SCORE_COST_ACCURACY);
    this.#maxWork = cost.maxWork;
  }

  /** Marks `changed` for the child's mask words against the parent's. */
  mark(child: Uint32Array, parent: Uint32Array): void {
    markChanged(this.#net, child, parent, this.#changed, this.#list);
  }

  /**
   * Marks in `rec` the units of the child's plan to recompute: changed, or unknown in the parent's column
   * list `pcols`; the logits in `incr` cost their update's `incrTerms` instead of their terms. Returns
   * the first layer with a unit to recompute (last + 1: none, the child's metrics are the parent's), or
   * −1 when a full pass is estimated cheaper.
   */
  recompute(pcols: Int32Array, incr: Uint8Array, incrTerms: Int32Array): number {
    const last = this.#net.layers.length - 1;
    const changed = this.#changed;
    const memoed = this.#memoed;
    let lmin = last + 1;
    let work = 0;
    let full = 0;
    for (let l = 0; l <= last; l++) {
      const P = this.#plan.layers[l];
      const rec = this.#rec[l];
      rec.fill(0);
      const off = this.#aOff[l];
      const cur = changed[l];
      const counted = l > 0 || !memoed;
      for (let u = 0; u < P.count; u++) {
        const o = P.units[u];
        const cost = P.start[u + 1] - P.start[u] + UNIT_COST;
        if (counted) full += cost;
        if (cur[o] === 1 || pcols[off + o] < 0) {
          rec[o] = 1;
          const incremental = l === last && incr[o] === 1;
          if (counted) work += incremental ? incrTerms[o] + UNIT_COST : cost;
          if (l < lmin) lmin = l;
        }
      }
    }
    if (lmin > last) return lmin;
    const score = this.#score;
    if (!(work + score < this.#maxWork * (full + score))) return -1;
    return lmin;
  }
}
