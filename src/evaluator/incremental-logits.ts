// Incremental logits for the fast evaluator's deltas (fast-forward.ts § Delta evaluation). They live
// apart from the passes because they are a self-contained layer on top of a delta: which dirty logits
// to update rather than recompute, the update's terms, the parent columns it must hold for the pass,
// the drift bound of the result, and the margin scoring (with its exact recompute) that keeps accuracy
// the reference's. The evaluator owns the pass and its layout; it hands this class, once, the arrays
// that describe them (`LogitContext`) and calls it a few times per delta and once per block.
//
// Incremental logits (accuracy-only evaluators, `loss: false`). A recomputed logit is a sum over every
// kept input, so a child a few hidden units from its parent would still pay for whole logits, which on
// moons [2,75,2] is most of a pass. When only accuracy is read, a dirty logit is instead updated from
// the parent's stored one: Z' = fl32(Z + Σ (w·h' − w·h)) over the terms that differ (the unit kernel
// does it, with the parent's logit as a term of weight 1), so its cost follows the changed units. Z'
// is not the reference's value (its sum runs in another order) but is within a proven bound `drift` of
// it: every stored logit of an entry is within entry.drift of the reference's, 0 after a full pass, and
// each incremental step adds at most 4·2^-24·A (A: a mask-independent bound on |bias| + Σ|w·h| of any
// logit, from `activationBounds`; the reference itself is within ~2^-24·A of the exact sum, and so is
// the rounding of Z'). A row's prediction is then certain when its top stored logit beats every other
// by more than 2·drift (margin.ts); the other rows are recomputed exactly in the reference's order.
// Accuracy is therefore the reference's, bit for bit. A chain of such deltas is cut at DRIFT_STEPS
// steps (the dirty logits are then recomputed in full, drift 0), so uncertain rows stay rare.
import type { Mask } from "../core/mask.ts";
import type { Network } from "../core/network.ts";
import { type KernelArrays, type LayerRun, type Location, layerRun, updateTerms } from "./arena.ts";
import type { ColumnPool } from "./column-pool.ts";
import type { Totals } from "./kernel.ts";
import { marginScore } from "./margin.ts";
import type { CacheEntry } from "./parent-cache.ts";
import type { LayerPlan, Plan } from "./plan.ts";

/** incremental logit steps after which the dirty logits are recomputed in full (drift back to 0) */
const DRIFT_STEPS = 64;
/**
 * Incremental logits stop being chosen while the recent share of rows recomputed exactly (an average
 * over incremental passes) is above EXACT_SHARE_MAX, being tried again every EXACT_PROBE-th delta. On
 * the GA's networks the share is about 0.04% (moons); a contrived network whose logits all lie within the
 * bound of each other sent nearly every row to the exact recompute, 16× slower than without.
 */
const EXACT_SHARE_MAX = 0.02;
const EXACT_PROBE = 32;

/** The evaluator's state the incremental logits read: fixed arrays, rewritten by every pass. */
export interface LogitContext {
  readonly net: Network;
  /** the current mask's plan (compiled in place) */
  readonly plan: Plan;
  /** per weight layer: the current pass's run (the exact recompute reads the logits' terms) */
  readonly runs: readonly LayerRun[];
  /** per activation layer: where each unit lives in the current pass */
  readonly loc: readonly Location[];
  /** per activation layer: unit changed against the parent, and unit computed in the current pass */
  readonly changed: readonly Uint8Array[];
  readonly rec: readonly Uint8Array[];
  /** column index of each activation layer's first unit in an entry's column list */
  readonly aOff: readonly number[];
  readonly arena: Float32Array;
  /** where the column pool starts in the arena, and the rows per column */
  readonly poolBase: number;
  readonly n: number;
  /** the labels */
  readonly y: Int32Array;
  readonly pool: ColumnPool;
}

export class IncrementalLogits {
  /** whether dirty logits may be updated at all */
  readonly enabled: boolean;
  /** per class: updated incrementally in the current delta, and that update's term count */
  readonly incr: Uint8Array;
  readonly incrTerms: Int32Array;
  /** the update's terms as a plan layer (start, weights, zero biases) and its run */
  readonly update: LayerPlan;
  readonly updateRun: LayerRun;
  readonly #ctx: LogitContext;
  readonly #last: number;
  readonly #classes: number;
  /** the most one incremental step adds to a logit's drift, and the drift beyond which it is not taken */
  readonly #driftStep: number;
  readonly #driftCap: number;
  /** the dirty logits computed in full in the current delta */
  readonly #fullLogits: Uint8Array;
  /** parent columns the update reads, referenced for the pass */
  readonly #held: Int32Array;
  #heldCount = 0;
  /** rows of the current block whose prediction the margin leaves uncertain */
  readonly #uncertain: Int32Array;
  /** drift of the logits of the current pass (0: exact) */
  #passDrift = 0;
  #deltas = 0;
  #exactRows = 0;
  /** rows recomputed exactly in the current pass, and their recent share per incremental pass (EMA) */
  #passExact = 0;
  #exactShare = 0;
  /** deltas since incremental logits were last tried while the exact share was too high */
  #sinceProbe = 0;

  /**
   * `bound`: A, the bound on any logit's |bias| + Σ|w·h|; `wanted`: the evaluator takes deltas, scores
   * accuracy only and has a hidden layer, and the option is on; `spareColumns`: pool columns beyond the
   * memo's and one mask's, of which the held parent columns need room. `arrays` hands out the update's
   * weights and column list (after the plan's and the runs').
   */
  constructor(
    ctx: LogitContext,
    arrays: KernelArrays,
    bound: number,
    blockRows: number,
    wanted: boolean,
    spareColumns: number,
  ) {
    const net = ctx.net;
    this.#ctx = ctx;
    this.#last = net.layers.length - 1;
    const classes = net.architecture[net.architecture.length - 1];
    this.#classes = classes;
    // 2^-140 covers the absolute error of a subnormal rounding
    this.#driftStep = 4 * 2 ** -24 * bound + 2 ** -140;
    this.#driftCap = DRIFT_STEPS * this.#driftStep;
    this.#held = new Int32Array(classes + net.layers[this.#last].inputs);
    // the pass holds the parent's changed columns besides the child's: the pool must have room for them
    this.enabled = wanted && spareColumns - this.#held.length >= 0;
    this.incr = new Uint8Array(classes);
    this.incrTerms = new Int32Array(classes);
    this.#fullLogits = new Uint8Array(classes);
    const cap = updateTerms(net);
    this.update = {
      count: 0,
      units: new Int32Array(classes),
      start: new Int32Array(classes + 1),
      idx: new Int32Array(0),
      w: arrays.weights(cap),
      bias: new Float64Array(classes),
    };
    this.updateRun = layerRun(cap, classes, arrays);
    this.#uncertain = new Int32Array(blockRows);
  }

  /** drift of the logits of the current pass (0: exact; then the block is scored exactly) */
  get passDrift(): number {
    return this.#passDrift;
  }

  stats(): { readonly deltas: number; readonly exactRows: number } {
    return { deltas: this.#deltas, exactRows: this.#exactRows };
  }

  /** A full pass: exact logits, no update. */
  exact(): void {
    this.#passDrift = 0;
    this.updateRun.uc = 0;
  }

  /**
   * In the delta analysis, after the changed units are marked: which dirty logits of `child` are updated
   * from the parent's (#incr, with their term counts in #incrTerms), those whose update has fewer terms
   * than the logit itself. A parent whose logits drifted too far has every logit marked changed instead:
   * they are recomputed in full (the child's drift is 0).
   */
  choose(child: Mask, parent: CacheEntry, pcols: Int32Array): void {
    this.incr.fill(0);
    if (!this.enabled) return;
    if (parent.drift > this.#driftCap) {
      this.#ctx.changed[this.#last].fill(1);
      return;
    }
    // when the margin leaves many rows uncertain (logits close together against the bound A), their
    // exact recompute costs more than recomputing the logits: try again only every EXACT_PROBE deltas
    if (this.#exactShare > EXACT_SHARE_MAX && ++this.#sinceProbe < EXACT_PROBE) return;
    this.#sinceProbe = 0;
    const last = this.#last;
    const P = this.#ctx.plan.layers[last];
    const dirty = this.#ctx.changed[last];
    const zOff = this.#ctx.aOff[last];
    for (let u = 0; u < P.count; u++) {
      const c = P.units[u];
      if (dirty[c] === 0 || pcols[zOff + c] < 0) continue;
      // the locations are not set yet: the terms written are scratch, only their count is used
      const terms = this.#updateTerms(c, child, parent, pcols, 0);
      if (terms < P.start[u + 1] - P.start[u]) {
        this.incr[c] = 1;
        this.incrTerms[c] = terms;
      }
    }
  }

  /** References, for the pass, the parent's columns an update reads that the child does not inherit. */
  hold(pcols: Int32Array): void {
    this.#heldCount = 0;
    const last = this.#last;
    const zOff = this.#ctx.aOff[last];
    const hOff = this.#ctx.aOff[last - 1];
    const hidden = this.#ctx.changed[last - 1];
    const pool = this.#ctx.pool;
    for (let c = 0; c < this.#classes; c++)
      if (this.incr[c] === 1) this.#held[this.#heldCount++] = pcols[zOff + c];
    if (this.#heldCount === 0) return;
    for (let j = 0; j < hidden.length; j++) {
      if (hidden[j] === 1 && pcols[hOff + j] >= 0) this.#held[this.#heldCount++] = pcols[hOff + j];
    }
    for (let k = 0; k < this.#heldCount; k++) pool.retain(this.#held[k]);
  }

  unhold(): void {
    const pool = this.#ctx.pool;
    for (let k = 0; k < this.#heldCount; k++) pool.release(this.#held[k]);
    this.#heldCount = 0;
  }

  /** The dirty logits computed in full: recomputed and not incremental. */
  fullOnly(): Uint8Array {
    const rec = this.#ctx.rec[this.#last];
    const only = this.#fullLogits;
    for (let c = 0; c < only.length; c++) only[c] = rec[c] === 1 && this.incr[c] === 0 ? 1 : 0;
    return only;
  }

  /** Once the delta's locations are set: its drift, and the update run of the logits in #incr. */
  begin(child: Mask, parent: CacheEntry, pcols: Int32Array): void {
    this.#passDrift = this.#childDrift(parent);
    if (this.#heldCount > 0) this.#buildUpdate(child, parent, pcols);
    else this.updateRun.uc = 0;
    this.#passExact = 0;
  }

  /** After the delta's pass: the recent share of exactly recomputed rows. */
  end(): void {
    if (this.updateRun.uc > 0)
      this.#exactShare = 0.9 * this.#exactShare + (0.1 * this.#passExact) / this.#ctx.n;
  }

  /** Scores a block whose logits may have drifted: by margin, the uncertain rows recomputed exactly. */
  scoreByMargin(cls: Int32Array, s: number, len: number, totals: Totals): void {
    const ctx = this.#ctx;
    // the difference of two stored logits is exact in double up to a relative 2^-53: 2^-30 covers it
    const gap = 2 * this.#passDrift * (1 + 2 ** -30) + 2 ** -140;
    const m = marginScore(ctx.arena, cls, this.#classes, ctx.y, s, len, gap, this.#uncertain, totals);
    for (let k = 0; k < m; k++) this.#exactRow(s, this.#uncertain[k], totals);
    this.#exactRows += m;
    this.#passExact += m;
  }

  /** Row s + r's logits summed in the reference's order (the child's plan), and its prediction scored. */
  #exactRow(s: number, r: number, totals: Totals): void {
    const P = this.#ctx.plan.layers[this.#last];
    const { cb, cs } = this.#ctx.runs[this.#last];
    const arena = this.#ctx.arena;
    let best = -1;
    let max = 0;
    for (let u = 0; u < P.count; u++) {
      let acc = P.bias[u];
      for (let t = P.start[u]; t < P.start[u + 1]; t++)
        acc += P.w[t] * arena[(cs[t] === 1 ? cb[t] + s : cb[t]) + r];
      const v = Math.fround(acc);
      if (best < 0 || v > max) {
        max = v;
        best = P.units[u];
      }
    }
    if (best === this.#ctx.y[s + r]) totals.correct++;
  }

  /**
   * The terms updating logit c from the parent's: the parent's logit (weight 1), then for every input
   * unit j whose term differs (its bit flipped, or its activation changed) −w·h (the parent's, if the
   * parent kept it) and +w·h' (the child's, if the child keeps it), written to the update run from term
   * `at`; returns the end.
   */
  #updateTerms(c: number, child: Mask, parent: CacheEntry, pcols: Int32Array, at: number): number {
    const ctx = this.#ctx;
    const last = this.#last;
    const L = ctx.net.layers[last];
    const hidden = ctx.changed[last - 1];
    const zero = ctx.plan.zero[last - 1];
    const { base, shift } = ctx.loc[last - 1];
    const hOff = ctx.aOff[last - 1];
    const cw = child.words;
    const pw = parent.mask.words;
    const R = this.updateRun;
    const w = this.update.w;
    const colBase = ctx.poolBase;
    const n = ctx.n;
    let t = at;
    R.cb[t] = colBase + pcols[ctx.aOff[last] + c] * n;
    R.cs[t] = 1;
    w[t++] = 1;
    const row = L.offset + c * L.inputs;
    for (let j = 0; j < L.inputs; j++) {
      const g = row + j;
      const bNew = (cw[g >>> 5] >>> (g & 31)) & 1;
      const bOld = (pw[g >>> 5] >>> (g & 31)) & 1;
      if (bNew === bOld && hidden[j] === 0) continue;
      const weight = L.weight[c * L.inputs + j];
      const pc = pcols[hOff + j];
      if (bOld === 1 && pc >= 0) {
        R.cb[t] = colBase + pc * n;
        R.cs[t] = 1;
        w[t++] = -weight;
      }
      if (bNew === 1 && zero[j] === 0) {
        R.cb[t] = base[j];
        R.cs[t] = shift[j];
        w[t++] = weight;
      }
    }
    return t;
  }

  /** The update run of the logits in #incr, into their locations (the logits' `loc`). */
  #buildUpdate(child: Mask, parent: CacheEntry, pcols: Int32Array): void {
    const U = this.update;
    const R = this.updateRun;
    const { base, shift } = this.#ctx.loc[this.#last];
    let t = 0;
    let q = 0;
    for (let c = 0; c < this.#classes; c++) {
      if (this.incr[c] === 0) continue;
      U.start[q] = t;
      t = this.#updateTerms(c, child, parent, pcols, t);
      R.us[q] = q;
      R.db[q] = base[c];
      R.ds[q] = shift[c];
      q++;
    }
    U.start[q] = t;
    U.count = q;
    R.uc = q;
    if (q > 0) this.#deltas++;
  }

  /** The drift of the child's logits: the parent's, one step more if any is updated, 0 if all are recomputed. */
  #childDrift(parent: CacheEntry): number {
    const rec = this.#ctx.rec[this.#last];
    let incremental = false;
    let all = true;
    for (let c = 0; c < this.#classes; c++) {
      if (this.incr[c] === 1) incremental = true;
      else if (rec[c] === 0) all = false;
    }
    if (incremental) return parent.drift * (1 + 2 ** -23) + this.#driftStep;
    return all ? 0 : parent.drift;
  }
}
