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
//
// Delta evaluation. Activation columns (n Float32 rows each) live in a reference-counted column pool
// (column-pool.ts). A cache entry (parent-cache.ts) is a mask, its metrics and, per unit, the pool
// column holding that unit's activations (−1: not known, e.g. a unit the mask's plan did not compute).
// Entries share columns: a memoised first-layer column is referenced, not copied, and a child's entry
// references every column of its parent that it did not recompute — so a one-bit mutant's entry costs
// only the few columns it changed.
// A child is evaluated from a parent entry by recomputing only
//   R = the units of the child's plan that are "changed" or unknown in the parent, where a unit is
//   changed when its own row of the mask differs or one of the inputs the child keeps is changed
//   (propagated layer by layer, so a changed hidden unit dirties only the next-layer units that keep a
//   weight from it, and a flip in the output layer only its logit; delta-analysis.ts),
// reading every other column from the parent. Unchanged units compute exactly the parent's values (same
// row, same input values, same order; at most the sign of a zero differs, which plan.ts shows never
// matters), and each recomputed unit is summed in full in the reference's order: results are identical.
//
// Nearest parent (`evaluateNearest`, and `evaluateBatch` / `batch` with `delta`, the default — the GA's
// path: src/evaluator/index.ts and the island pool): every mask evaluated this way becomes an entry (LRU).
// A new mask is first looked up exactly (a repeat costs nothing); otherwise the `deltaSearch` most
// recently used entries are scanned for the smallest Hamming distance (XOR and popcount over the words,
// abandoning a candidate once it is no closer than the best or than the adaptive cut-off `#reach`,
// stopping at distance 1). If the delta's estimated work (delta-analysis.ts) is below DELTA_MAX_WORK of
// a full pass's, the mask is evaluated from that parent, else in full (and cached either way).
//
// What it buys (measured on the GA's own mask sequences and runs, docs/performance.md § Why the kernels
// are shaped so; shared-pool.ts for the pool): one-bit mutants (a quarter of a generation's evaluations) become deltas — moons [2,75,2]: one
// logit of two (scoring stays); digits [64,75,10]: the logits that keep a weight from the changed unit;
// deep networks: a flip in a later layer recomputes one unit and what it feeds. Crossover children do
// not: even a child a few bits from its parent changes several first-layer units, and each dirties most
// of the next layer (the memo already makes the first layer itself cheap). So the GA phase gains little
// on the papers' shapes, while post-evolutionary pruning (one-bit removals from one mask) gains clearly;
// the cost of caching every mask (its columns written to the pool, page faults on first use of the
// pool) is paid by the mutants.
//
// Incremental logits (accuracy-only evaluators, `loss: false`): a dirty logit of a delta is updated from
// the parent's stored one over the terms that differ, within a proven drift of the reference's value,
// and scored by margin; incremental-logits.ts says how and why accuracy stays the reference's.
//
// Memory: one arena [x feature-major | block buffer | column pool] and the pool's sizes, arena.ts.
import type { Split } from "../core/dataset.ts";
import { type BatchEvaluator, evaluate, type Metrics } from "../core/evaluate.ts";
import { cloneMask, type Mask, maskHash, masksEqual, withFlipped } from "../core/mask.ts";
import type { Network } from "../core/network.ts";
import {
  arenaLayout,
  budget,
  KernelArrays,
  kernelMemory,
  type LayerRun,
  type Location,
  layerRun,
  setTerms,
  setUnits,
} from "./arena.ts";
import { ColumnMemo, MemoColumns, type MemoStats } from "./column-memo.ts";
import { ColumnPool } from "./column-pool.ts";
import { DELTA_MAX_WORK, DeltaAnalysis } from "./delta-analysis.ts";
import { IncrementalLogits } from "./incremental-logits.ts";
import { scoreRows, type Totals, unitColumn } from "./kernel.ts";
import { CacheEntry, type ParentCache, ParentLru } from "./parent-cache.ts";
import {
  activationBounds,
  allocPlan,
  compilePlan,
  type LayerPlan,
  type Plan,
  type PlanMode,
} from "./plan.ts";
import { createScoreKernel, type ScoreKernel } from "./score-kernel.ts";
import {
  createSimdKernel,
  type KernelChoice,
  kernelChoiceFromEnv,
  type SimdKernel,
  type SimdKind,
} from "./simd-kernel.ts";

export type { ParentCache } from "./parent-cache.ts";

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
   * byte budget of the columns of cached masks (default: 64 MiB, or room for the columns of
   * DEFAULT_CACHED_MASKS whole masks when that is more, up to 1 GiB; 0 disables caching and every delta
   * path: `evaluateMutant` / `evaluateChild` then evaluate the child in full). One column takes
   * rows · 4 bytes; a mask evaluated in full owns at most (hidden units + classes) of them, a delta
   * only the units it recomputed.
   */
  readonly cacheBytes?: number;
  /**
   * nearest-parent delta evaluation in `evaluateBatch` / `batch` / `evaluateNearest` (default true).
   * False makes them plain full passes (`evaluate`) that cache nothing. `evaluatorOptionsFromEnv()`
   * reads SLT_DELTA and SLT_DELTA_CACHE_MB from the environment for the CLI and the island pool.
   */
  readonly delta?: boolean;
  /** how many of the most recently used entries the nearest-parent search compares (default 256) */
  readonly deltaSearch?: number;
  /**
   * a delta is taken when its estimated work is below this fraction of a full pass's (default 0.85;
   * Infinity: whenever there is a cached parent, 0: never)
   */
  readonly deltaMaxWork?: number;
  /**
   * compute the loss (default true). False skips the exp/log per row and reports loss NaN, for runs
   * whose fitness is accuracy only.
   */
  readonly loss?: boolean;
  /**
   * incremental logits in deltas when the loss is off (default true; incremental-logits.ts).
   * False recomputes every dirty logit in full, for comparison. Results are identical either way.
   */
  readonly incrementalLogits?: boolean;
  /**
   * the unit-column kernel (default "auto": WebAssembly relaxed SIMD, else SIMD, else JavaScript; see
   * simd-kernel.ts). Every kernel gives the same results; an explicit kind the runtime lacks is an error.
   */
  readonly kernel?: KernelChoice;
}

export interface CacheStats {
  /** cached masks (parents) */
  readonly parents: {
    /** entries guaranteed to fit together even if each owned all its columns */
    readonly slots: number;
    /** the cap on entries */
    readonly maxEntries: number;
    readonly used: number;
    /** bytes of all of one mask's columns: (hidden units + classes) · rows · 4 */
    readonly bytesPerSlot: number;
    /** `parentCache` calls that found their mask cached, and those that did not */
    readonly hits: number;
    readonly misses: number;
    readonly evictions: number;
  };
  /** the column pool shared by the memo and the entries */
  readonly pool: { readonly columns: number; readonly used: number; readonly bytesPerColumn: number };
  /** first-hidden-layer column memo (slots 0 when disabled) */
  readonly columns: MemoStats & { readonly bytesPerColumn: number };
  /** nearest-parent path (`evaluateNearest`, `evaluateBatch` with delta) */
  readonly nearest: {
    /** masks found cached exactly (no work) */
    readonly exact: number;
    /** evaluated from their nearest parent */
    readonly delta: number;
    /** evaluated in full: no entry to start from, or the delta would not have been cheaper */
    readonly full: number;
    /** of `full`: a parent was found but the delta was estimated too costly */
    readonly tooCostly: number;
    /** sum of the Hamming distances to the parent over `delta` */
    readonly distanceSum: number;
  };
  /** incremental logits: deltas that updated a logit from the parent's, and rows recomputed exactly */
  readonly incremental: { readonly deltas: number; readonly exactRows: number };
  /** full passes, and delta passes (nearest-parent and explicit), including no-work deltas */
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
  /** the unit-column kernel in use */
  readonly kernel: "js" | SimdKind;
  /** whether `evaluateBatch` / `batch` / `evaluateNearest` use nearest-parent delta evaluation */
  readonly delta: boolean;
  /** rows per block */
  readonly blockRows: number;
  /** Accuracy and mean cross-entropy of one mask, by a full pass that caches nothing. */
  evaluate(mask: Mask): Metrics;
  /**
   * The same, from the nearest cached mask when that is cheaper, caching the mask for later ones
   * (with `delta`; else `evaluate`). Identical results either way.
   */
  evaluateNearest(mask: Mask): Metrics;
  /** `evaluateNearest` for each mask, in order. */
  evaluateBatch(masks: readonly Mask[]): Metrics[];
  /** `evaluateBatch` as a free function, usable wherever a `BatchEvaluator` is expected. */
  readonly batch: BatchEvaluator;
  /** The cache entry of `mask`: a hit returns it, a miss evaluates the mask into a new entry. */
  parentCache(mask: Mask): ParentCache;
  /** The cache entry of `mask` if it is cached, without computing anything. */
  cachedParent(mask: Mask): ParentCache | undefined;
  /** Metrics of `parentMask` with bit `bit` flipped, from the parent's cached activations. */
  evaluateMutant(parentMask: Mask, parent: ParentCache, bit: number): Metrics;
  /** Metrics of `child`, recomputing only what differs from the cached parent. */
  evaluateChild(parentMask: Mask, parent: ParentCache, child: Mask): Metrics;
  cacheStats(): CacheStats;
  /** Drops every cached mask and memoised column. */
  clearCache(): void;
}

const DEFAULT_BLOCK_ROWS = 512;
const DEFAULT_DELTA_SEARCH = 256;
/**
 * The search's distance cut-off adapts: a candidate is abandoned once it is REACH_FACTOR times (plus
 * REACH_SLACK) the largest distance of the last REACH_MEMORY accepted deltas away, so that far
 * candidates cost a word or two each. Every REACH_PROBE-th search (and every search before the first
 * accepted delta) uses the full cut-off — as many bits as the network has units, beyond which every
 * unit could be changed — so that larger useful distances are found when the population allows them.
 */
const REACH_MEMORY = 64;
const REACH_FACTOR = 2;
const REACH_SLACK = 2;
const REACH_PROBE = 16;

/**
 * The evaluator options the CLI and the island pool take from the environment: SLT_DELTA=0 (or false,
 * off, no) turns nearest-parent delta evaluation off; SLT_INCREMENTAL=0 turns incremental logits off;
 * SLT_DELTA_CACHE_MB sets each evaluator's `cacheBytes` in MiB (each worker thread of a pool has its
 * own); SLT_SIMD=0 selects the JavaScript kernels (simd-kernel.ts).
 */
export function evaluatorOptionsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): Pick<FastEvaluatorOptions, "delta" | "cacheBytes" | "kernel" | "incrementalLogits"> {
  const off = (name: string) => {
    const v = env[name]?.trim().toLowerCase();
    return v === "0" || v === "false" || v === "off" || v === "no";
  };
  const delta = !off("SLT_DELTA");
  const incrementalLogits = !off("SLT_INCREMENTAL");
  const kernel = kernelChoiceFromEnv(env);
  const mb = env.SLT_DELTA_CACHE_MB?.trim();
  if (mb === undefined || mb === "") return { delta, kernel, incrementalLogits };
  const cacheBytes = Number(mb) * 1024 * 1024;
  if (!(cacheBytes >= 0 && Number.isFinite(cacheBytes))) {
    throw new RangeError(`SLT_DELTA_CACHE_MB must be a number of MiB ≥ 0, got "${mb}"`);
  }
  return { delta, kernel, incrementalLogits, cacheBytes: Math.floor(cacheBytes) };
}

/** Checks a data split against the network (features, array sizes, labels); shared with the worker pool. */
export function checkSplit(net: Network, split: Split): void {
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

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return v;
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

class Fast implements FastEvaluator {
  readonly net: Network;
  readonly split: Split;
  readonly fast: boolean;
  readonly loss: boolean;
  readonly kernel: "js" | SimdKind;
  readonly delta: boolean;
  readonly blockRows: number;
  readonly batch: BatchEvaluator;

  readonly #n: number;
  readonly #classes: number;
  /** index of the output weight layer (= number of hidden layers) */
  readonly #last: number;
  /** column index of each activation layer's first unit in the block / entry layout (logits last) */
  readonly #aOff: number[];
  /** units over all activation layers */
  readonly #units: number;
  readonly #arena: Float32Array;
  readonly #blockBase: number;
  /** the first-layer column memo and its pool columns (null: off) */
  readonly #memo: MemoColumns | null;
  readonly #acc: Float64Array;
  /** the SIMD kernel, whose memory holds the arena, the plan's weights and the runs' column lists */
  readonly #simd: SimdKernel | null;
  /** the scoring kernel on the same memory (with the SIMD kernel only), and where its inputs live */
  readonly #score: ScoreKernel | null;
  readonly #labelsAt: number;
  readonly #totalsAt: number;
  readonly #plan: Plan;
  readonly #runs: LayerRun[];
  readonly #loc: Location[];
  readonly #cls: Int32Array;
  /** per activation layer: unit changed against the parent (delta analysis) */
  readonly #changed: Uint8Array[];
  /** per activation layer: unit computed in the current pass */
  readonly #rec: Uint8Array[];
  /** which units a delta recomputes, and whether it pays */
  readonly #analysis: DeltaAnalysis;
  /** incremental logits of deltas (accuracy only) */
  readonly #inc: IncrementalLogits;
  /** where the column pool starts in the arena, its columns' counts, and the cached parents */
  readonly #poolBase: number;
  readonly #pool: ColumnPool;
  readonly #parents: ParentLru;
  readonly #slots: number;
  readonly #search: number;
  /** distances of the last accepted deltas (ring), and the searches made, for `#reach` */
  readonly #useful = new Int32Array(REACH_MEMORY);
  #usefulAt = 0;
  #searches = 0;

  #deltas = 0;
  #fulls = 0;
  #nExact = 0;
  #nDelta = 0;
  #nFull = 0;
  #nCostly = 0;
  #distanceSum = 0;

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
    const B = positiveInteger("blockRows", options.blockRows, DEFAULT_BLOCK_ROWS);
    this.#search = positiveInteger("deltaSearch", options.deltaSearch, DEFAULT_DELTA_SEARCH);
    this.blockRows = Math.min(B, Math.max(1, n));
    const layout = arenaLayout(net, n, F, this.blockRows, this.#search, options);
    this.#aOff = layout.aOff;
    this.#units = layout.units;
    this.#blockBase = layout.blockBase;
    this.#poolBase = layout.poolBase;
    this.#pool = new ColumnPool(layout.poolCols);
    this.#parents = new ParentLru(layout.maxEntries, (cols) => this.#pool.releaseAll(cols));
    this.#slots = layout.slots;
    const memory = kernelMemory(net, n, layout.arenaFloats);
    const simd = createSimdKernel(options.kernel ?? "auto", memory.bytes);
    this.#simd = simd;
    this.kernel = simd === null ? "js" : simd.kind;
    this.#score = simd === null ? null : createScoreKernel(simd.memory);
    this.#labelsAt = memory.labelsAt;
    this.#totalsAt = memory.totalsAt;
    if (simd !== null && this.#score !== null)
      new Int32Array(simd.memory.buffer, memory.labelsAt, n).set(split.y);
    const arrays = new KernelArrays(simd, memory.weightsAt, memory.columnsAt);
    // untouched pages of a large zero-filled buffer cost no memory until they are used
    this.#arena = arrays.arena(layout.arenaFloats);
    const x = split.x;
    const xT = this.#arena;
    for (let r = 0; r < n; r++) for (let f = 0; f < F; f++) xT[f * n + r] = x[r * F + f];
    const bounds = activationBounds(net, xT, n, F);
    this.fast = bounds !== null;
    this.loss = options.loss ?? true;
    this.delta = (options.delta ?? true) && layout.maxEntries > 0 && this.fast;
    this.#memo =
      layout.memoSlots > 0 && this.fast
        ? new MemoColumns(new ColumnMemo(layout.memoSlots, F), this.#pool, () => this.#alloc())
        : null;
    this.#acc = new Float64Array(this.blockRows);
    this.#plan = allocPlan(net, (length) => arrays.weights(length));
    this.#runs = net.layers.map((L) => layerRun(L.inputs * L.outputs, L.outputs, arrays));
    this.#loc = net.layers.map((L) => ({
      base: new Int32Array(L.outputs),
      shift: new Uint8Array(L.outputs),
    }));
    this.#cls = arrays.logitColumns(this.#classes, memory.clsAt, this.#score !== null);
    this.#changed = net.layers.map((L) => new Uint8Array(L.outputs));
    this.#rec = net.layers.map((L) => new Uint8Array(L.outputs));
    this.#analysis = new DeltaAnalysis(net, this.#plan, this.#changed, this.#rec, this.#aOff, {
      memoed: this.#memo !== null && this.#last > 0,
      loss: this.loss,
      maxWork: budget("deltaMaxWork", options.deltaMaxWork, DELTA_MAX_WORK),
    });
    const A = bounds === null ? 0 : Math.max(0, ...bounds[this.#last]);
    const wanted = this.delta && !this.loss && this.#last > 0 && (options.incrementalLogits ?? true);
    const spare = layout.poolCols - layout.memoSlots - this.#units;
    const context = {
      net,
      plan: this.#plan,
      runs: this.#runs,
      loc: this.#loc,
      changed: this.#changed,
      rec: this.#rec,
      aOff: this.#aOff,
      arena: this.#arena,
      poolBase: this.#poolBase,
      n,
      y: split.y,
      pool: this.#pool,
    };
    this.#inc = new IncrementalLogits(context, arrays, A, this.blockRows, wanted, spare);
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

  // ---- column pool ----

  /** A free pool column with one reference (the caller's); evicts LRU entries when the pool is full. */
  #alloc(): number {
    for (;;) {
      const c = this.#pool.take();
      if (c >= 0) return c;
      // cannot happen: the pool has room for the memo's columns and one whole mask besides the entries
      if (!this.#parents.evictOldest()) throw new Error("fast evaluator: column pool exhausted");
    }
  }

  // ---- locations ----

  /** Unit o of activation layer a lives in the block buffer (stride = block rows, no shift). */
  #toBlock(a: number, o: number): void {
    this.#loc[a].base[o] = this.#blockBase + (this.#aOff[a] + o) * this.blockRows;
    this.#loc[a].shift[o] = 0;
  }

  /** Unit o of activation layer a lives in pool column c (stride n, shifts with the block). */
  #toColumn(a: number, o: number, c: number): void {
    this.#loc[a].base[o] = this.#poolBase + c * this.#n;
    this.#loc[a].shift[o] = 1;
  }

  /** Layer l's run: its terms read x (l = 0) or layer l − 1's locations; its units with only[unit] = 1. */
  #locate(l: number, only: Uint8Array): void {
    const P = this.#plan.layers[l];
    const R = this.#runs[l];
    setTerms(P, R, l === 0 ? null : this.#loc[l - 1], this.#n);
    setUnits(P, R, this.#loc[l], only);
  }

  /** Runs layers `from` .. last over all rows, block by block, and scores the logits. */
  #run(from: number): Metrics {
    const n = this.#n;
    if (n === 0) return { accuracy: 0, loss: this.loss ? 0 : Number.NaN };
    const last = this.#last;
    const totals: Totals = { correct: 0, lossSum: 0 };
    const { update, updateRun } = this.#inc;
    for (let s = 0; s < n; s += this.blockRows) {
      const len = Math.min(this.blockRows, n - s);
      for (let l = from; l <= last; l++)
        this.#computeUnits(this.#plan.layers[l], this.#runs[l], l < last, s, len);
      if (updateRun.uc > 0) this.#computeUnits(update, updateRun, false, s, len);
      this.#scoreBlock(s, len, totals);
    }
    return { accuracy: totals.correct / n, loss: this.loss ? totals.lossSum / n : Number.NaN };
  }

  /** The units R lists, of plan layer P, on the block of `len` rows from row s. */
  #computeUnits(P: LayerPlan, R: LayerRun, relu: boolean, s: number, len: number): void {
    const simd = this.#simd;
    const { cb, cs, col, us, db, ds, uc } = R;
    const colAt = col.byteOffset;
    const start = P.start;
    for (let q = 0; q < uc; q++) {
      const u = us[q];
      const k0 = start[u];
      const k1 = start[u + 1];
      for (let t = k0; t < k1; t++) col[t] = cs[t] === 1 ? cb[t] + s : cb[t];
      const d = ds[u] === 1 ? db[u] + s : db[u];
      if (simd !== null && k1 > k0) {
        simd.unit(colAt + 4 * k0, P.w.byteOffset + 8 * k0, k1 - k0, P.bias[u], 4 * d, len, relu ? 1 : 0);
      } else {
        unitColumn(this.#arena, col, P.w, k0, k1, P.bias[u], this.#arena, d, len, relu, this.#acc);
      }
    }
  }

  /** Scores the block's logits: exactly, or by margin when they may have drifted. */
  #scoreBlock(s: number, len: number, totals: Totals): void {
    const cls = this.#cls;
    const classes = this.#classes;
    const { base, shift } = this.#loc[this.#last];
    for (let c = 0; c < classes; c++) cls[c] = shift[c] === 1 ? base[c] + s : base[c];
    if (this.#inc.passDrift > 0) {
      this.#inc.scoreByMargin(cls, s, len, totals);
      return;
    }
    const score = this.#score;
    if (score !== null) {
      score.scoreRows(
        cls.byteOffset,
        classes,
        this.#labelsAt + 4 * s,
        len,
        this.loss,
        this.#totalsAt,
        totals,
      );
    } else scoreRows(this.#arena, cls, classes, this.split.y, s, len, this.loss, totals);
  }

  /**
   * Where a computed first-layer unit o goes: the memo (a hit needs no computing), else a new column
   * (when recording into `cols`), else the block. Marks #rec[0][o] when it must be computed; records
   * the column (with a reference) in `cols`.
   */
  #placeFirst(words: Uint32Array, o: number, cols: Int32Array | null): void {
    const memo = this.#memo;
    if (memo !== null) {
      const c = memo.column(words, o);
      if (c >= 0) {
        this.#rec[0][o] = memo.fresh ? 1 : 0;
        this.#toColumn(0, o, c);
        if (cols !== null) {
          this.#pool.retain(c);
          cols[o] = c;
        }
        return;
      }
    }
    this.#rec[0][o] = 1;
    this.#placeComputed(0, o, cols);
  }

  /** A computed unit goes to a new column when recording into `cols`, else to the block. */
  #placeComputed(a: number, o: number, cols: Int32Array | null): void {
    if (cols === null) {
      this.#toBlock(a, o);
      return;
    }
    const c = this.#alloc();
    cols[this.#aOff[a] + o] = c;
    this.#toColumn(a, o, c);
  }

  /**
   * Full pass over the compiled plan of `mask`. With `cols` (all −1 on entry), every computed column
   * goes to the pool and is recorded there.
   */
  #full(mask: Mask, cols: Int32Array | null): Metrics {
    this.#fulls++;
    this.#inc.exact();
    const last = this.#last;
    const P0 = this.#plan.layers[0];
    this.#memo?.begin();
    try {
      for (let l = 0; l <= last; l++) {
        const P = this.#plan.layers[l];
        const rec = this.#rec[l];
        rec.fill(0);
        if (l === 0 && last > 0) {
          for (let u = 0; u < P0.count; u++) this.#placeFirst(mask.words, P0.units[u], cols);
        } else {
          for (let u = 0; u < P.count; u++) {
            const o = P.units[u];
            rec[o] = 1;
            this.#placeComputed(l, o, cols);
          }
        }
      }
      for (let l = 0; l <= last; l++) {
        this.#locate(l, this.#rec[l]);
      }
      return this.#run(0);
    } catch (e) {
      this.#memo?.dropFresh();
      throw e;
    }
  }

  /**
   * Marks in #changed the units of `child` changed against `parent`, and in #rec the units of the
   * child's (compiled) plan to recompute. Returns the first layer with a unit to recompute (last + 1:
   * none, the child's metrics are the parent's), or −1 when a full pass is estimated cheaper.
   */
  #analyse(child: Mask, parent: CacheEntry, pcols: Int32Array): number {
    this.#analysis.mark(child.words, parent.mask.words);
    this.#inc.choose(child, parent, pcols);
    return this.#analysis.recompute(pcols, this.#inc.incr, this.#inc.incrTerms);
  }

  /**
   * Delta pass of `child` (compiled, analysed: #changed, #rec, #inc.incr, first layer `lmin` ≤ last) from
   * the cached `parent`. With `cols`, the child's columns are recorded there: the parent's unchanged
   * known columns (with a reference each) and new columns for the recomputed units.
   */
  #deltaPass(child: Mask, parent: CacheEntry, lmin: number, cols: Int32Array | null): Metrics {
    this.#deltas++;
    const last = this.#last;
    const pcols = parent.cols as Int32Array;
    // references first: allocating below may evict the parent
    if (cols !== null) this.#inherit(pcols, cols);
    this.#inc.hold(pcols);
    this.#memo?.begin();
    try {
      for (let l = Math.max(0, lmin - 1); l <= last; l++) {
        const P = this.#plan.layers[l];
        const rec = this.#rec[l];
        const off = this.#aOff[l];
        for (let u = 0; u < P.count; u++) {
          const o = P.units[u];
          if (rec[o] === 0) this.#toColumn(l, o, pcols[off + o]);
          else if (l === 0 && last > 0) this.#placeFirst(child.words, o, cols);
          else this.#placeComputed(l, o, cols);
        }
      }
      for (let l = lmin; l <= last; l++) {
        this.#locate(l, l < last ? this.#rec[l] : this.#inc.fullOnly());
      }
      this.#inc.begin(child, parent, pcols);
      const metrics = this.#run(lmin);
      this.#inc.end();
      return metrics;
    } catch (e) {
      this.#memo?.dropFresh();
      throw e;
    } finally {
      this.#inc.unhold();
    }
  }

  /**
   * The child's column list takes (with a reference each) every parent column that stays valid: known,
   * unchanged and not recomputed; the others are −1.
   */
  #inherit(pcols: Int32Array, cols: Int32Array): void {
    for (let l = 0; l <= this.#last; l++) {
      const off = this.#aOff[l];
      const cur = this.#changed[l];
      const rec = this.#rec[l];
      for (let o = 0; o < cur.length; o++) {
        const c = pcols[off + o];
        if (c >= 0 && cur[o] === 0 && rec[o] === 0) {
          this.#pool.retain(c);
          cols[off + o] = c;
        } else cols[off + o] = -1;
      }
    }
  }

  /** The search's distance cut-off (see REACH_MEMORY). */
  #reach(): number {
    const full = this.#units;
    if (this.#usefulAt === 0 || this.#searches++ % REACH_PROBE === 0) return full;
    const ring = this.#useful;
    const filled = Math.min(this.#usefulAt, ring.length);
    let max = 0;
    for (let k = 0; k < filled; k++) if (ring[k] > max) max = ring[k];
    return Math.min(full, REACH_FACTOR * max + REACH_SLACK + 1);
  }

  /** The cached entry nearest to `mask` in Hamming distance among the most recent; null if none. */
  #nearest(mask: Mask): { entry: CacheEntry; distance: number } | null {
    const words = mask.words;
    const W = words.length;
    let best: CacheEntry | null = null;
    let bestD = this.#reach();
    let e = this.#parents.newest;
    for (let k = 0; k < this.#search && e !== null; k++, e = e.next) {
      const other = e.mask.words;
      let d = 0;
      for (let i = 0; i < W && d < bestD; i++) {
        const x = words[i] ^ other[i];
        if (x !== 0) d += popcount32(x);
      }
      if (d < bestD) {
        bestD = d;
        best = e;
        if (d <= 1) break;
      }
    }
    return best === null ? null : { entry: best, distance: bestD };
  }

  evaluate(mask: Mask): Metrics {
    this.#checkMask(mask);
    if (!this.fast) {
      this.#fulls++;
      return this.#reference(mask);
    }
    this.#compile(mask, "sparse");
    return this.#full(mask, null);
  }

  evaluateNearest(mask: Mask): Metrics {
    if (!this.delta) return this.evaluate(mask);
    this.#checkMask(mask);
    const hash = maskHash(mask);
    const hit = this.#parents.lookup(mask, hash);
    if (hit !== undefined) {
      this.#nExact++;
      return hit.metrics;
    }
    const near = this.#nearest(mask);
    this.#compile(mask, "sparse");
    const cols = new Int32Array(this.#units).fill(-1);
    let metrics: Metrics | null = null;
    let drift = 0;
    try {
      if (near !== null) {
        const parent = near.entry;
        const pcols = parent.cols as Int32Array;
        const lmin = this.#analyse(mask, parent, pcols);
        if (lmin >= 0) {
          this.#nDelta++;
          this.#useful[this.#usefulAt++ % this.#useful.length] = near.distance;
          this.#distanceSum += near.distance;
          if (lmin > this.#last) {
            this.#deltas++;
            this.#inherit(pcols, cols);
            metrics = parent.metrics;
            drift = parent.drift;
          } else {
            metrics = this.#deltaPass(mask, parent, lmin, cols);
            drift = this.#inc.passDrift;
          }
        } else this.#nCostly++;
        // the nearest entry stays near the front: later masks are likely near it too
        if (parent.cols !== null) this.#parents.touch(parent);
      }
      if (metrics === null) {
        this.#nFull++;
        metrics = this.#full(mask, cols);
      }
    } catch (e) {
      this.#pool.releaseAll(cols);
      throw e;
    }
    this.#parents.insert(new CacheEntry(cloneMask(mask), hash, metrics, cols, drift));
    return metrics;
  }

  evaluateBatch(masks: readonly Mask[]): Metrics[] {
    return masks.map((m) => this.evaluateNearest(m));
  }

  cachedParent(mask: Mask): ParentCache | undefined {
    this.#checkMask(mask);
    return this.#parents.lookup(mask, maskHash(mask));
  }

  parentCache(mask: Mask): ParentCache {
    this.#checkMask(mask);
    const hash = maskHash(mask);
    const hit = this.#parents.lookupCounted(mask, hash);
    if (hit !== undefined) return hit;
    if (this.#parents.maxEntries === 0 || !this.fast) {
      return new CacheEntry(cloneMask(mask), hash, this.evaluate(mask), null);
    }
    this.#compile(mask, "sparse");
    const cols = new Int32Array(this.#units).fill(-1);
    let metrics: Metrics;
    try {
      metrics = this.#full(mask, cols);
    } catch (e) {
      this.#pool.releaseAll(cols);
      throw e;
    }
    const entry = new CacheEntry(cloneMask(mask), hash, metrics, cols);
    this.#parents.insert(entry);
    return entry;
  }

  /** Checks the arguments; true when the parent's activations are still cached. */
  #validParent(parentMask: Mask, parent: ParentCache): parent is CacheEntry {
    this.#checkMask(parentMask);
    if (!(parent instanceof CacheEntry)) throw new TypeError("parent is not a cache entry of this evaluator");
    if (!masksEqual(parentMask, parent.mask)) {
      throw new RangeError("parentMask is not the mask of the parent cache entry");
    }
    return this.#parents.holds(parent);
  }

  evaluateMutant(parentMask: Mask, parent: ParentCache, bit: number): Metrics {
    if (!Number.isInteger(bit) || bit < 0 || bit >= parentMask.length) {
      throw new RangeError(`bit index ${bit} outside mask of length ${parentMask.length}`);
    }
    const child = withFlipped(parentMask, bit);
    if (!this.#validParent(parentMask, parent)) return this.evaluate(child);
    return this.#childOf(child, parent);
  }

  evaluateChild(parentMask: Mask, parent: ParentCache, child: Mask): Metrics {
    this.#checkMask(child);
    if (!this.#validParent(parentMask, parent)) return this.evaluate(child);
    return this.#childOf(child, parent);
  }

  /** Delta evaluation of `child` against a cached parent, caching nothing. */
  #childOf(child: Mask, parent: CacheEntry): Metrics {
    const pcols = parent.cols as Int32Array;
    // most recent: column allocations of the memo below evict every other entry before this one
    this.#parents.touch(parent);
    this.#compile(child, "sparse");
    const lmin = this.#analyse(child, parent, pcols);
    if (lmin < 0) return this.#full(child, null);
    if (lmin > this.#last) {
      this.#deltas++;
      return parent.metrics;
    }
    return this.#deltaPass(child, parent, lmin, null);
  }

  cacheStats(): CacheStats {
    const memo = this.#memo?.stats() ?? { slots: 0, used: 0, hits: 0, misses: 0, evictions: 0 };
    const lru = this.#parents.stats();
    return {
      parents: {
        slots: this.#slots,
        maxEntries: this.#parents.maxEntries,
        used: lru.used,
        bytesPerSlot: this.#units * this.#n * 4,
        hits: lru.hits,
        misses: lru.misses,
        evictions: lru.evictions,
      },
      pool: { columns: this.#pool.columns, used: this.#pool.used, bytesPerColumn: this.#n * 4 },
      columns: { ...memo, bytesPerColumn: this.#n * 4 },
      incremental: this.#inc.stats(),
      nearest: {
        exact: this.#nExact,
        delta: this.#nDelta,
        full: this.#nFull,
        tooCostly: this.#nCostly,
        distanceSum: this.#distanceSum,
      },
      fullEvaluations: this.#fulls,
      deltaEvaluations: this.#deltas,
    };
  }

  clearCache(): void {
    this.#parents.clear();
    this.#memo?.clear();
    this.#pool.clear();
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
