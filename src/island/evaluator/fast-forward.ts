// The fast evaluator: the reference evaluator's results (src/core/evaluate.ts), much faster.
//
// - Layer-major over row blocks: for each block of rows, every computed unit's column is produced by a
//   tight loop over the block (kernel.ts), the next layer reads those columns, and the block's logits are
//   scored at once. Intermediate columns stay in a small, cache-resident block buffer.
// - Inputs are stored feature-major (x as [feature][row]) so every inner loop reads contiguous memory.
// - A compiled plan (plan.ts) skips pruned weights, identically-zero units and units that feed nothing;
//   every kept term is still added in the reference's order, in double, and stored as Float32.
// - Column memo (column-memo.ts): a first-hidden-layer column depends only on its unit's own row of the
//   mask, so it is computed once per (unit, row) and reused by later masks (LRU within a byte budget).
// - Delta evaluation: a parent's activations can be cached whole (an LRU of fixed-size slots within a
//   byte budget). A child that differs from the parent in a few bits then recomputes only the units
//   whose incoming weights changed and every layer after them (a flip in the output layer: only the
//   affected logits), reading everything else from the parent's cached columns. Each recomputed unit is
//   summed in full, in the reference's order, so results stay identical.
//
// All numeric state lives in one Float32Array "arena" — [x feature-major | block buffer | column memo |
// parent slots] — plus the network's weight arrays and the compiled plan, all plain typed arrays, so a
// later version can place them in SharedArrayBuffers for worker threads.
import type { Split } from "../../core/dataset.ts";
import { type BatchEvaluator, evaluate, type Metrics } from "../../core/evaluate.ts";
import { cloneMask, type Mask, maskHash, masksEqual, withFlipped } from "../../core/mask.ts";
import type { Network } from "../../core/network.ts";
import { ColumnMemo, EXACT_KEY_BITS, type MemoStats } from "./column-memo.ts";
import { scoreRows, type Totals, unitColumn } from "./kernel.ts";
import { allocPlan, compilePlan, finiteBound, type Plan, type PlanMode } from "./plan.ts";

export interface FastEvaluatorOptions {
  /** rows per block of the layer-major pass (default 512) */
  readonly blockRows?: number;
  /**
   * byte budget of the first-hidden-layer column memo (default 64 MiB; 0 disables it). One column
   * takes rows · 4 bytes; the memo is used only if it holds more columns than the layer has units, and
   * never takes more than (units · 2^inputs) columns for inputs ≤ 20 (all of [2,75,2]: 300 · 200 kB).
   */
  readonly columnCacheBytes?: number;
  /**
   * byte budget for whole cached parents used by `evaluateMutant` / `evaluateChild` (default 128 MiB;
   * 0 disables them: those calls then evaluate the child in full). One parent takes
   * (hidden units + classes) · rows · 4 bytes.
   */
  readonly cacheBytes?: number;
  /**
   * compute the loss (default true). False skips the exp/log per row and reports loss NaN, for runs
   * whose fitness is accuracy only.
   */
  readonly loss?: boolean;
}

/** A parent's cached activations, returned by `parentCache`; valid while `cached` is true. */
export interface ParentCache {
  /** a copy of the parent's mask */
  readonly mask: Mask;
  readonly hash: string;
  readonly metrics: Metrics;
  /** false once the LRU has evicted the entry (delta calls then fall back to a full evaluation) */
  readonly cached: boolean;
}

export interface CacheStats {
  /** whole-parent cache */
  readonly parents: {
    readonly slots: number;
    readonly used: number;
    readonly bytesPerSlot: number;
    readonly hits: number;
    readonly misses: number;
    readonly evictions: number;
  };
  /** first-hidden-layer column memo (slots 0 when disabled) */
  readonly columns: MemoStats & { readonly bytesPerColumn: number };
  readonly fullEvaluations: number;
  readonly deltaEvaluations: number;
}

export interface FastEvaluator {
  readonly net: Network;
  readonly split: Split;
  /**
   * true when the fast kernels are in use: the network and data guarantee finite activations. False
   * (non-finite data or weights, or magnitudes that could overflow Float32): every mask goes to the
   * reference evaluator, whose handling of ∞ and NaN the fast kernels do not reproduce.
   */
  readonly fast: boolean;
  /** whether the loss is computed (else it is NaN) */
  readonly loss: boolean;
  /** rows per block */
  readonly blockRows: number;
  /** Accuracy and mean cross-entropy of one mask; identical to the reference `evaluate`. */
  evaluate(mask: Mask): Metrics;
  /** The same for each mask, in order. */
  evaluateBatch(masks: readonly Mask[]): Metrics[];
  /** `evaluateBatch` as a free function, usable wherever a `BatchEvaluator` is expected. */
  readonly batch: BatchEvaluator;
  /** The cache entry of `mask`: a hit returns it, a miss evaluates the mask into a cache slot. */
  parentCache(mask: Mask): ParentCache;
  /** The cache entry of `mask` if it is cached, without computing anything. */
  cachedParent(mask: Mask): ParentCache | undefined;
  /** Metrics of `parentMask` with bit `bit` flipped, from the parent's cached activations. */
  evaluateMutant(parentMask: Mask, parent: ParentCache, bit: number): Metrics;
  /** Metrics of `child`, recomputing only what differs from the cached parent. */
  evaluateChild(parentMask: Mask, parent: ParentCache, child: Mask): Metrics;
  cacheStats(): CacheStats;
  /** Drops every cached parent and memoised column. */
  clearCache(): void;
}

const DEFAULT_BLOCK_ROWS = 512;
const DEFAULT_COLUMN_CACHE_BYTES = 64 * 1024 * 1024;
const DEFAULT_CACHE_BYTES = 128 * 1024 * 1024;
/** keeps the arena well inside V8's typed-array limits */
const MAX_ARENA_FLOATS = 2 ** 30;

class CacheEntry implements ParentCache {
  readonly mask: Mask;
  readonly hash: string;
  readonly metrics: Metrics;
  slot: number;

  constructor(mask: Mask, hash: string, metrics: Metrics, slot: number) {
    this.mask = mask;
    this.hash = hash;
    this.metrics = metrics;
    this.slot = slot;
  }

  get cached(): boolean {
    return this.slot >= 0;
  }
}

/** Per weight layer: where each term is read and each unit is written, for the current pass. */
interface LayerRun {
  /** term t reads arena[cb[t] + (cs[t] ? s : 0) + r] in the block starting at row s */
  readonly cb: Int32Array;
  readonly cs: Uint8Array;
  /** per block: cb + shift */
  readonly col: Int32Array;
  /** plan unit positions to compute, `uc` of them */
  readonly us: Int32Array;
  uc: number;
  /** per plan unit position: destination column start and whether it shifts with the block */
  readonly db: Int32Array;
  readonly ds: Uint8Array;
}

/**
 * Per activation layer (hidden layers, then the logits): where each unit's column lives for the current
 * pass — column start in the arena, and whether it shifts with the block (n-stride storage: memo, slots)
 * or not (the block buffer).
 */
interface Location {
  readonly base: Int32Array;
  readonly shift: Uint8Array;
}

function checkSplit(net: Network, split: Split): void {
  if (split.features !== net.architecture[0]) {
    throw new RangeError(
      `data has ${split.features} features but the network expects ${net.architecture[0]} inputs`,
    );
  }
  if (split.x.length !== split.n * split.features || split.y.length !== split.n) {
    throw new RangeError(`split arrays do not match n = ${split.n} rows of ${split.features} features`);
  }
  const classes = net.architecture[net.architecture.length - 1];
  for (let r = 0; r < split.n; r++) {
    const label = split.y[r];
    if (!(label >= 0 && label < classes)) {
      throw new RangeError(`row ${r} has label ${label}, outside 0..${classes - 1}`);
    }
  }
}

function budget(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!(v >= 0)) throw new RangeError(`${name} must be a number ≥ 0, got ${value}`);
  return v;
}

class Fast implements FastEvaluator {
  readonly net: Network;
  readonly split: Split;
  readonly fast: boolean;
  readonly loss: boolean;
  readonly blockRows: number;
  readonly batch: BatchEvaluator;

  readonly #n: number;
  readonly #classes: number;
  /** index of the output weight layer (= number of hidden layers) */
  readonly #last: number;
  /** column index of each activation layer's first unit in the block / slot layout (logits last) */
  readonly #aOff: number[];
  readonly #arena: Float32Array;
  readonly #blockBase: number;
  readonly #memoBase: number;
  readonly #memo: ColumnMemo | null;
  readonly #fresh: number[] = [];
  readonly #slotBase: number;
  readonly #slotFloats: number;
  readonly #slots: number;
  readonly #acc: Float64Array;
  readonly #plan: Plan;
  readonly #runs: LayerRun[];
  readonly #loc: Location[];
  readonly #cls: Int32Array;
  readonly #changed: Uint8Array[];
  readonly #lru = new Map<string, CacheEntry>();
  /** parent slots released by replacement or clearCache; slots ≥ #unused have never been used */
  readonly #free: number[] = [];
  #unused = 0;
  #hits = 0;
  #misses = 0;
  #evictions = 0;
  #deltas = 0;
  #fulls = 0;

  constructor(net: Network, split: Split, options: FastEvaluatorOptions = {}) {
    checkSplit(net, split);
    this.net = net;
    this.split = split;
    const n = split.n;
    const F = split.features;
    this.#n = n;
    const arch = net.architecture;
    this.#classes = arch[arch.length - 1];
    this.#last = net.layers.length - 1;
    const B = options.blockRows ?? DEFAULT_BLOCK_ROWS;
    if (!Number.isInteger(B) || B < 1) {
      throw new RangeError(`blockRows must be a positive integer, got ${options.blockRows}`);
    }
    this.blockRows = Math.min(B, Math.max(1, n));
    this.#aOff = [];
    let cols = 0;
    for (let l = 1; l < arch.length; l++) {
      this.#aOff.push(cols);
      cols += arch[l];
    }
    this.#blockBase = F * n;
    this.#memoBase = this.#blockBase + cols * this.blockRows;
    let room = MAX_ARENA_FLOATS - this.#memoBase;
    // column memo: worth it only when it holds more columns than the first hidden layer has units
    let memoSlots = 0;
    if (this.#last > 0 && n > 0) {
      memoSlots = Math.floor(
        budget("columnCacheBytes", options.columnCacheBytes, DEFAULT_COLUMN_CACHE_BYTES) / (4 * n),
      );
      memoSlots = Math.min(memoSlots, Math.floor(room / n));
      // narrow inputs have few distinct rows: at most 2^F per unit
      if (F <= EXACT_KEY_BITS) memoSlots = Math.min(memoSlots, arch[1] * 2 ** F);
      if (memoSlots <= arch[1]) memoSlots = 0;
    }
    this.#slotBase = this.#memoBase + memoSlots * n;
    room -= memoSlots * n;
    this.#slotFloats = cols * n;
    let slots = 0;
    if (this.#slotFloats > 0) {
      slots = Math.floor(
        budget("cacheBytes", options.cacheBytes, DEFAULT_CACHE_BYTES) / (4 * this.#slotFloats),
      );
      slots = Math.max(0, Math.min(slots, Math.floor(room / this.#slotFloats)));
    }
    this.#slots = slots;
    // untouched pages of a large zero-filled buffer cost no memory until they are used
    this.#arena = new Float32Array(this.#slotBase + slots * this.#slotFloats);
    const x = split.x;
    const xT = this.#arena;
    for (let r = 0; r < n; r++) for (let f = 0; f < F; f++) xT[f * n + r] = x[r * F + f];
    this.fast = finiteBound(net, xT, n, F);
    this.loss = options.loss ?? true;
    this.#memo = memoSlots > 0 && this.fast ? new ColumnMemo(memoSlots, F) : null;
    this.#acc = new Float64Array(this.blockRows);
    this.#plan = allocPlan(net);
    this.#runs = net.layers.map((L) => ({
      cb: new Int32Array(L.inputs * L.outputs),
      cs: new Uint8Array(L.inputs * L.outputs),
      col: new Int32Array(L.inputs * L.outputs),
      us: new Int32Array(L.outputs),
      uc: 0,
      db: new Int32Array(L.outputs),
      ds: new Uint8Array(L.outputs),
    }));
    this.#loc = net.layers.map((L) => ({
      base: new Int32Array(L.outputs),
      shift: new Uint8Array(L.outputs),
    }));
    this.#cls = new Int32Array(this.#classes);
    this.#changed = net.layers.map((L) => new Uint8Array(L.outputs));
    this.batch = (masks) => this.evaluateBatch(masks);
  }

  #checkMask(mask: Mask): void {
    if (mask.length !== this.net.genomeLength) {
      throw new RangeError(
        `mask has ${mask.length} bits but the network has ${this.net.genomeLength} weights`,
      );
    }
  }

  #compile(mask: Mask, mode: PlanMode): Plan {
    return compilePlan(this.net, mask, this.#plan, mode);
  }

  #reference(mask: Mask): Metrics {
    const m = evaluate(this.net, mask, this.split);
    return this.loss ? m : { accuracy: m.accuracy, loss: Number.NaN };
  }

  /** Unit o of activation layer a lives in the block buffer (stride = block rows, no shift). */
  #toBlock(a: number, o: number): void {
    this.#loc[a].base[o] = this.#blockBase + (this.#aOff[a] + o) * this.blockRows;
    this.#loc[a].shift[o] = 0;
  }

  /** Unit o of activation layer a lives in parent slot `slot` (stride n, shifts with the block). */
  #toSlot(a: number, o: number, slot: number): void {
    this.#loc[a].base[o] = this.#slotBase + slot * this.#slotFloats + (this.#aOff[a] + o) * this.#n;
    this.#loc[a].shift[o] = 1;
  }

  #allToBlock(a: number): void {
    for (let o = 0; o < this.#loc[a].base.length; o++) this.#toBlock(a, o);
  }

  #allToSlot(a: number, slot: number): void {
    for (let o = 0; o < this.#loc[a].base.length; o++) this.#toSlot(a, o, slot);
  }

  /** Layer l's terms read x (l = 0) or the locations of activation layer l − 1. */
  #setTerms(l: number): void {
    const P = this.#plan.layers[l];
    const R = this.#runs[l];
    const end = P.start[P.count];
    if (l === 0) {
      const n = this.#n;
      for (let t = 0; t < end; t++) {
        R.cb[t] = P.idx[t] * n;
        R.cs[t] = 1;
      }
      return;
    }
    const { base, shift } = this.#loc[l - 1];
    for (let t = 0; t < end; t++) {
      const i = P.idx[t];
      R.cb[t] = base[i];
      R.cs[t] = shift[i];
    }
  }

  /** Layer l computes its plan units (those with only[unit] = 1 if given) into their locations. */
  #setUnits(l: number, only: Uint8Array | null): void {
    const P = this.#plan.layers[l];
    const R = this.#runs[l];
    const { base, shift } = this.#loc[l];
    let uc = 0;
    for (let u = 0; u < P.count; u++) {
      const o = P.units[u];
      if (only !== null && only[o] === 0) continue;
      R.us[uc++] = u;
      R.db[u] = base[o];
      R.ds[u] = shift[o];
    }
    R.uc = uc;
  }

  /** Runs layers `from` .. last over all rows, block by block, and scores the logits. */
  #run(from: number): Metrics {
    const n = this.#n;
    if (n === 0) return { accuracy: 0, loss: this.loss ? 0 : Number.NaN };
    const B = this.blockRows;
    const arena = this.#arena;
    const acc = this.#acc;
    const last = this.#last;
    const layers = this.#plan.layers;
    const runs = this.#runs;
    const cls = this.#cls;
    const { base: lgBase, shift: lgShift } = this.#loc[last];
    const classes = this.#classes;
    const y = this.split.y;
    const loss = this.loss;
    const totals: Totals = { correct: 0, lossSum: 0 };
    for (let s = 0; s < n; s += B) {
      const len = Math.min(B, n - s);
      for (let l = from; l <= last; l++) {
        const P = layers[l];
        const R = runs[l];
        const relu = l < last;
        const { cb, cs, col, us, db, ds, uc } = R;
        const start = P.start;
        for (let q = 0; q < uc; q++) {
          const u = us[q];
          const k0 = start[u];
          const k1 = start[u + 1];
          for (let t = k0; t < k1; t++) col[t] = cs[t] === 1 ? cb[t] + s : cb[t];
          const d = ds[u] === 1 ? db[u] + s : db[u];
          unitColumn(arena, col, P.w, k0, k1, P.bias[u], arena, d, len, relu, acc);
        }
      }
      for (let c = 0; c < classes; c++) cls[c] = lgShift[c] === 1 ? lgBase[c] + s : lgBase[c];
      scoreRows(arena, cls, classes, y, s, len, loss, totals);
    }
    return { accuracy: totals.correct / n, loss: loss ? totals.lossSum / n : Number.NaN };
  }

  evaluate(mask: Mask): Metrics {
    this.#checkMask(mask);
    this.#fulls++;
    if (!this.fast) return this.#reference(mask);
    this.#compile(mask, "sparse");
    for (let a = 0; a <= this.#last; a++) this.#allToBlock(a);
    const memo = this.#memo;
    const fresh = this.#fresh;
    fresh.length = 0;
    if (memo !== null) {
      // first hidden layer: memoised columns are read, missing ones computed into new memo slots
      memo.begin();
      const P = this.#plan.layers[0];
      const { base, shift } = this.#loc[0];
      const only = this.#changed[0];
      only.fill(0);
      const n = this.#n;
      for (let u = 0; u < P.count; u++) {
        const o = P.units[u];
        const slot = memo.lookup(mask.words, o);
        if (slot >= 0) {
          base[o] = this.#memoBase + slot * n;
          shift[o] = 1;
          if (memo.fresh) fresh.push(slot);
        }
        if (memo.fresh) only[o] = 1;
      }
      this.#setTerms(0);
      this.#setUnits(0, only);
    } else {
      this.#setTerms(0);
      this.#setUnits(0, null);
    }
    for (let l = 1; l <= this.#last; l++) {
      this.#setTerms(l);
      this.#setUnits(l, null);
    }
    try {
      return this.#run(0);
    } catch (e) {
      for (const slot of fresh) memo?.drop(slot);
      throw e;
    }
  }

  evaluateBatch(masks: readonly Mask[]): Metrics[] {
    return masks.map((m) => this.evaluate(m));
  }

  /** Evaluates `mask` with every unit's column written to parent slot `slot`. */
  #materialize(mask: Mask, slot: number): Metrics {
    this.#fulls++;
    this.#compile(mask, "all-units");
    for (let a = 0; a <= this.#last; a++) this.#allToSlot(a, slot);
    for (let l = 0; l <= this.#last; l++) {
      this.#setTerms(l);
      this.#setUnits(l, null);
    }
    return this.#run(0);
  }

  #lookup(mask: Mask, hash: string): CacheEntry | undefined {
    const e = this.#lru.get(hash);
    if (e === undefined || !masksEqual(e.mask, mask)) return undefined;
    this.#lru.delete(hash);
    this.#lru.set(hash, e);
    return e;
  }

  cachedParent(mask: Mask): ParentCache | undefined {
    this.#checkMask(mask);
    return this.#lookup(mask, maskHash(mask));
  }

  parentCache(mask: Mask): ParentCache {
    this.#checkMask(mask);
    const hash = maskHash(mask);
    const hit = this.#lookup(mask, hash);
    if (hit !== undefined) {
      this.#hits++;
      return hit;
    }
    this.#misses++;
    if (this.#slots === 0 || !this.fast)
      return new CacheEntry(cloneMask(mask), hash, this.evaluate(mask), -1);
    const same = this.#lru.get(hash);
    if (same !== undefined) {
      // a different mask with the same hash: replace it
      this.#lru.delete(hash);
      this.#free.push(same.slot);
      same.slot = -1;
    }
    let slot = this.#free.pop();
    if (slot === undefined && this.#unused < this.#slots) slot = this.#unused++;
    if (slot === undefined) {
      const [oldHash, old] = this.#lru.entries().next().value as [string, CacheEntry];
      this.#lru.delete(oldHash);
      slot = old.slot;
      old.slot = -1;
      this.#evictions++;
    }
    let metrics: Metrics;
    try {
      metrics = this.#materialize(mask, slot);
    } catch (e) {
      this.#free.push(slot);
      throw e;
    }
    const entry = new CacheEntry(cloneMask(mask), hash, metrics, slot);
    this.#lru.set(hash, entry);
    return entry;
  }

  /** Checks the arguments; true when the parent's activations are still cached. */
  #validParent(parentMask: Mask, parent: ParentCache): parent is CacheEntry {
    this.#checkMask(parentMask);
    if (!(parent instanceof CacheEntry)) throw new TypeError("parent is not a cache entry of this evaluator");
    if (!masksEqual(parentMask, parent.mask)) {
      throw new RangeError("parentMask is not the mask of the parent cache entry");
    }
    return parent.slot >= 0 && this.#lru.get(parent.hash) === parent;
  }

  evaluateMutant(parentMask: Mask, parent: ParentCache, bit: number): Metrics {
    if (!Number.isInteger(bit) || bit < 0 || bit >= parentMask.length) {
      throw new RangeError(`bit index ${bit} outside mask of length ${parentMask.length}`);
    }
    const child = withFlipped(parentMask, bit);
    if (!this.#validParent(parentMask, parent)) return this.evaluate(child);
    return this.#delta(child, parent);
  }

  evaluateChild(parentMask: Mask, parent: ParentCache, child: Mask): Metrics {
    this.#checkMask(child);
    if (!this.#validParent(parentMask, parent)) return this.evaluate(child);
    return this.#delta(child, parent);
  }

  /** Delta evaluation of `child` against a cached parent. */
  #delta(child: Mask, parent: CacheEntry): Metrics {
    const net = this.net;
    const last = this.#last;
    const slot = parent.slot;
    const parentWords = parent.mask.words;
    const words = child.words;
    const changed = this.#changed;
    for (const c of changed) c.fill(0);
    // the units whose incoming weights differ, and the first layer that has any
    let lmin = last + 1;
    let units = 0;
    for (let k = 0; k < words.length; k++) {
      let x = words[k] ^ parentWords[k];
      while (x !== 0) {
        const g = k * 32 + 31 - Math.clz32(x & -x);
        x &= x - 1;
        let l = last;
        while (g < net.layers[l].offset) l--;
        const L = net.layers[l];
        const o = Math.floor((g - L.offset) / L.inputs);
        if (changed[l][o] === 0) {
          changed[l][o] = 1;
          if (l < lmin) {
            lmin = l;
            units = 0;
          }
          if (l === lmin) units++;
        }
      }
    }
    if (lmin > last) return parent.metrics;
    // recomputing most of a hidden layer from the cache gains little over the full pass
    if (lmin < last && units * 2 > net.layers[lmin].outputs) return this.evaluate(child);
    this.#deltas++;
    this.#compile(child, "sparse");
    // activation layers before lmin are the parent's; in layer lmin the changed units are recomputed
    // into the block, the others are the parent's; everything after lmin is recomputed into the block
    for (let a = 0; a <= last; a++) {
      if (a < lmin) this.#allToSlot(a, slot);
      else if (a > lmin) this.#allToBlock(a);
      else {
        for (let o = 0; o < changed[a].length; o++) {
          if (changed[a][o] === 1) this.#toBlock(a, o);
          else this.#toSlot(a, o, slot);
        }
      }
    }
    this.#setTerms(lmin);
    this.#setUnits(lmin, changed[lmin]);
    for (let l = lmin + 1; l <= last; l++) {
      this.#setTerms(l);
      this.#setUnits(l, null);
    }
    return this.#run(lmin);
  }

  cacheStats(): CacheStats {
    const memo = this.#memo?.stats() ?? { slots: 0, used: 0, hits: 0, misses: 0, evictions: 0 };
    return {
      parents: {
        slots: this.#slots,
        used: this.#lru.size,
        bytesPerSlot: this.#slotFloats * 4,
        hits: this.#hits,
        misses: this.#misses,
        evictions: this.#evictions,
      },
      columns: { ...memo, bytesPerColumn: this.#n * 4 },
      fullEvaluations: this.#fulls,
      deltaEvaluations: this.#deltas,
    };
  }

  clearCache(): void {
    for (const e of this.#lru.values()) {
      this.#free.push(e.slot);
      e.slot = -1;
    }
    this.#lru.clear();
    this.#memo?.clear();
  }
}

/** A fast evaluator of masks of `net` on `split`, giving the reference evaluator's results. */
export function createFastEvaluator(
  net: Network,
  split: Split,
  options?: FastEvaluatorOptions,
): FastEvaluator {
  return new Fast(net, split, options);
}
