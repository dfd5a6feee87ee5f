// The fast evaluator's memory (fast-forward.ts): where every array the passes read and write lives, and
// how large each part is. It exists apart from the passes because it is decided once, at construction,
// from the network, the data and the byte budgets, and the SIMD kernel must find everything in one
// WebAssembly memory at the offsets computed here.
//
// Memory: the column pool (column-pool.ts) holds the memo's columns, one in-progress mask (units columns) and
// ⌊cacheBytes / (4·rows)⌋ more for entries; when it is full the least recently used entry is evicted
// (its columns freed once no other entry or the memo references them). Entries are also capped at
// twice the search window. Besides the columns each entry keeps its mask and a column list
// (genome/8 + 4·units bytes, counted against cacheBytes too). Untouched pages of the zero-filled pool
// cost no memory until used (their page faults are paid on first use).
//
// All numeric state lives in one Float32Array "arena" — [x feature-major | block buffer | column pool]
// — plus the network's weight arrays and the compiled plan, all plain typed arrays.
import type { Network } from "../core/network.ts";
import { EXACT_KEY_BITS } from "./column-memo.ts";
import type { LayerPlan } from "./plan.ts";
import { SCORE_TOTALS_BYTES } from "./score-kernel.ts";
import type { SimdKernel } from "./simd-kernel.ts";

const DEFAULT_COLUMN_CACHE_BYTES = 64 * 1024 * 1024;
const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;
/**
 * The default budget holds at least this many whole masks' columns (up to MAX_DEFAULT_CACHE_BYTES): on
 * MNIST [784,300,100,10] one mask's columns take 98 MB, so 64 MiB held no parent, and a one-bit mutant
 * of a mask evaluated two masks earlier was evaluated in full.
 */
const DEFAULT_CACHED_MASKS = 4;
const MAX_DEFAULT_CACHE_BYTES = 1024 * 1024 * 1024;
/** keeps the arena well inside V8's typed-array limits */
const MAX_ARENA_FLOATS = 2 ** 30;

/** A byte budget or fraction option: `value` (or `fallback`) if it is a number ≥ 0. */
export function budget(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!(v >= 0)) throw new RangeError(`${name} must be a number ≥ 0, got ${value}`);
  return v;
}

/** Per weight layer: where each term is read and each unit is written, for the current pass. */
export interface LayerRun {
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
 * pass — column start in the arena, and whether it shifts with the block (n-stride storage: the column
 * pool) or not (the block buffer).
 */
export interface Location {
  readonly base: Int32Array;
  readonly shift: Uint8Array;
}

/** Where the arena's parts start (in floats) and how many columns the memo and the entries get. */
export interface ArenaLayout {
  /** column index of each activation layer's first unit in the block / entry layout (logits last) */
  readonly aOff: number[];
  /** units over all activation layers */
  readonly units: number;
  readonly blockBase: number;
  readonly poolBase: number;
  readonly memoSlots: number;
  readonly maxEntries: number;
  /** entries that keep their columns */
  readonly slots: number;
  readonly poolCols: number;
  readonly arenaFloats: number;
}

/** The arena: x feature-major, the block buffer, then the column pool sized as "Memory" above says. */
export function arenaLayout(
  net: Network,
  n: number,
  F: number,
  blockRows: number,
  search: number,
  options: { readonly columnCacheBytes?: number; readonly cacheBytes?: number },
): ArenaLayout {
  const arch = net.architecture;
  const aOff: number[] = [];
  let cols = 0;
  for (let l = 1; l < arch.length; l++) {
    aOff.push(cols);
    cols += arch[l];
  }
  const blockBase = F * n;
  const poolBase = blockBase + cols * blockRows;
  const room = n > 0 ? Math.floor((MAX_ARENA_FLOATS - poolBase) / n) : 0;
  const memoSlots = memoSlotsFor(net, n, F, room, options.columnCacheBytes);
  // entries: the in-progress mask's columns plus the budget's
  const wholeMasks = Math.min(MAX_DEFAULT_CACHE_BYTES, DEFAULT_CACHED_MASKS * 4 * n * cols);
  const cacheBytes = budget("cacheBytes", options.cacheBytes, Math.max(DEFAULT_CACHE_BYTES, wholeMasks));
  let entryCols = 0;
  if (n > 0 && cols > 0) entryCols = Math.floor(cacheBytes / (4 * n));
  entryCols = Math.max(0, Math.min(entryCols, room - memoSlots - cols));
  // entries: at most twice the search window (older ones are found only by an exact repeat), and
  // their masks and column lists within the budget too
  const entryBytes = 4 * Math.ceil(net.genomeLength / 32) + 4 * cols + 128;
  const maxEntries =
    entryCols > 0 ? Math.max(1, Math.min(2 * search, entryCols, Math.floor(cacheBytes / entryBytes))) : 0;
  const slots = Math.min(maxEntries, Math.floor(entryCols / Math.max(1, cols)));
  const poolCols = memoSlots + (maxEntries > 0 ? cols + entryCols : 0);
  const arenaFloats = poolBase + poolCols * n;
  return { aOff, units: cols, blockBase, poolBase, memoSlots, maxEntries, slots, poolCols, arenaFloats };
}

/** Column memo slots: worth it only when the memo holds more columns than the first hidden layer has units. */
function memoSlotsFor(net: Network, n: number, F: number, room: number, bytes: number | undefined): number {
  const arch = net.architecture;
  if (net.layers.length < 2 || n === 0) return 0;
  let slots = Math.floor(budget("columnCacheBytes", bytes, DEFAULT_COLUMN_CACHE_BYTES) / (4 * n));
  slots = Math.min(slots, room);
  // narrow inputs have few distinct rows: at most 2^F per unit
  if (F <= EXACT_KEY_BITS) slots = Math.min(slots, arch[1] * 2 ** F);
  return slots <= arch[1] ? 0 : slots;
}

/**
 * The SIMD kernel's memory, in bytes: the arena from byte 0, then every layer's weights (Float64) and
 * column lists (Int32), the labels and the logit column list (Int32), and the scoring kernel's totals
 * (two Float64).
 */
export function kernelMemory(net: Network, n: number, arenaFloats: number) {
  const classes = net.architecture[net.architecture.length - 1];
  const terms = net.layers.reduce((sum, L) => sum + L.inputs * L.outputs, 0) + updateTerms(net);
  const weightsAt = 16 * Math.ceil((4 * arenaFloats) / 16);
  const columnsAt = weightsAt + 8 * terms;
  const labelsAt = weightsAt + 12 * terms;
  const clsAt = labelsAt + 4 * n;
  const totalsAt = 8 * Math.ceil((clsAt + 4 * classes) / 8);
  return { weightsAt, columnsAt, labelsAt, clsAt, totalsAt, bytes: totalsAt + SCORE_TOTALS_BYTES };
}

/**
 * The arrays the kernels read: views of the SIMD kernel's memory where `kernelMemory` puts them (the
 * weights and the column lists handed out one after the other), or plain arrays without SIMD.
 */
export class KernelArrays {
  readonly #simd: SimdKernel | null;
  #weightsNext: number;
  #columnsNext: number;

  constructor(simd: SimdKernel | null, weightsAt: number, columnsAt: number) {
    this.#simd = simd;
    this.#weightsNext = weightsAt;
    this.#columnsNext = columnsAt;
  }

  arena(floats: number): Float32Array {
    return this.#simd === null
      ? new Float32Array(floats)
      : new Float32Array(this.#simd.memory.buffer, 0, floats);
  }

  weights(length: number): Float64Array {
    if (this.#simd === null) return new Float64Array(length);
    const a = new Float64Array(this.#simd.memory.buffer, this.#weightsNext, length);
    this.#weightsNext += 8 * length;
    return a;
  }

  columns(length: number): Int32Array {
    if (this.#simd === null) return new Int32Array(length);
    const a = new Int32Array(this.#simd.memory.buffer, this.#columnsNext, length);
    this.#columnsNext += 4 * length;
    return a;
  }

  /** The logit column list: at `clsAt` of the SIMD memory when the scoring kernel reads it there. */
  logitColumns(classes: number, clsAt: number, scored: boolean): Int32Array {
    if (this.#simd === null || !scored) return new Int32Array(classes);
    return new Int32Array(this.#simd.memory.buffer, clsAt, classes);
  }
}

/** Terms of the incremental-logit run: per class its parent's logit and two per input unit. */
export function updateTerms(net: Network): number {
  const L = net.layers[net.layers.length - 1];
  return L.outputs * (2 * L.inputs + 1);
}

export function layerRun(terms: number, outputs: number, arrays: KernelArrays): LayerRun {
  return {
    cb: new Int32Array(terms),
    cs: new Uint8Array(terms),
    col: arrays.columns(terms),
    us: new Int32Array(outputs),
    uc: 0,
    db: new Int32Array(outputs),
    ds: new Uint8Array(outputs),
  };
}

/** Plan layer P's terms read x (`input` null: feature-major, n rows a feature) or the locations `input`. */
export function setTerms(P: LayerPlan, R: LayerRun, input: Location | null, n: number): void {
  const end = P.start[P.count];
  if (input === null) {
    for (let t = 0; t < end; t++) {
      R.cb[t] = P.idx[t] * n;
      R.cs[t] = 1;
    }
    return;
  }
  const { base, shift } = input;
  for (let t = 0; t < end; t++) {
    const i = P.idx[t];
    R.cb[t] = base[i];
    R.cs[t] = shift[i];
  }
}

/** Plan layer P computes its units with only[unit] = 1 into their locations `loc`. */
export function setUnits(P: LayerPlan, R: LayerRun, loc: Location, only: Uint8Array): void {
  const { base, shift } = loc;
  let uc = 0;
  for (let u = 0; u < P.count; u++) {
    const o = P.units[u];
    if (only[o] === 0) continue;
    R.us[uc++] = u;
    R.db[u] = base[o];
    R.ds[u] = shift[o];
  }
  R.uc = uc;
}
