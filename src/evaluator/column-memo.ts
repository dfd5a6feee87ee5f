// A memo of first-hidden-layer columns. Unit o of the first hidden layer computes
//   relu(bias_o + Σ kept w_oi · x_i)
// over the training rows, which depends only on which of its own input weights the mask keeps (its
// "row" of the first weight layer). So the column can be computed once per (unit, row pattern) and
// reused by every later mask with the same row: all masks of a [2,H,2] network draw from at most 3H
// columns, and a GA population shares most rows between parents, children and mutants.
// ColumnMemo keeps the bookkeeping (keys, LRU order, slot numbers); the columns themselves are n
// Float32 values each in the evaluator's column pool (column-pool.ts), where MemoColumns keeps each
// slot's column (holding one reference to it) and forgets the slots a failed pass filled.

import type { ColumnPool } from "./column-pool.ts";

/** Rows up to this many inputs are keyed exactly by (unit, bits); wider rows by a 52-bit hash + check. */
export const EXACT_KEY_BITS = 20;

export interface MemoStats {
  readonly slots: number;
  readonly used: number;
  readonly hits: number;
  readonly misses: number;
  readonly evictions: number;
}

export class ColumnMemo {
  readonly slots: number;
  readonly #inputs: number;
  readonly #rowWords: number;
  readonly #map = new Map<number, number>();
  readonly #keyOf: Float64Array;
  readonly #row: Uint32Array;
  readonly #stamp: Uint32Array;
  /** slots released by `drop` or a hash collision; slots ≥ #unused have never been used */
  readonly #free: number[] = [];
  #unused = 0;
  /** recency list of the slots in use: #head most recent, #tail least recent (−1: none) */
  readonly #prev: Int32Array;
  readonly #next: Int32Array;
  #head = -1;
  #tail = -1;
  readonly #buf: Uint32Array;
  #epoch = 0;
  #hits = 0;
  #misses = 0;
  #evictions = 0;
  /** set by `lookup`: whether the returned slot must be (re)computed */
  fresh = false;

  /** `slots` must exceed the first hidden layer's width (checked by the caller) */
  constructor(slots: number, inputs: number) {
    this.slots = slots;
    this.#inputs = inputs;
    this.#rowWords = Math.ceil(inputs / 32);
    this.#keyOf = new Float64Array(slots).fill(Number.NaN);
    this.#row = new Uint32Array(slots * this.#rowWords);
    this.#stamp = new Uint32Array(slots);
    this.#buf = new Uint32Array(this.#rowWords);
    this.#prev = new Int32Array(slots);
    this.#next = new Int32Array(slots);
  }

  #unlink(slot: number): void {
    const p = this.#prev[slot];
    const n = this.#next[slot];
    if (p >= 0) this.#next[p] = n;
    else this.#head = n;
    if (n >= 0) this.#prev[n] = p;
    else this.#tail = p;
  }

  #pushFront(slot: number): void {
    this.#prev[slot] = -1;
    this.#next[slot] = this.#head;
    if (this.#head >= 0) this.#prev[this.#head] = slot;
    else this.#tail = slot;
    this.#head = slot;
  }

  /** Starts the lookups of one mask: slots returned from now on are not evicted until the next `begin`. */
  begin(): void {
    this.#epoch = (this.#epoch + 1) >>> 0 || 1;
  }

  /**
   * The slot of unit o's column for a mask with these words (the first weight layer starts at bit 0).
   * Sets `fresh` when the slot is new and its column must be computed. Returns −1 (and fresh) in the
   * unlikely case that a hash collision hits a slot already in use by this mask: compute elsewhere.
   */
  lookup(words: Uint32Array, o: number): number {
    const F = this.#inputs;
    const W = this.#rowWords;
    const buf = this.#buf;
    const g0 = o * F;
    for (let k = 0; k < W; k++) {
      const pos = g0 + 32 * k;
      const q = pos >>> 5;
      const b = pos & 31;
      let v = words[q] >>> b;
      if (b !== 0 && q + 1 < words.length) v |= words[q + 1] << (32 - b);
      const rest = F - 32 * k;
      if (rest < 32) v &= (1 << rest) - 1;
      buf[k] = v >>> 0;
    }
    let key: number;
    if (F <= EXACT_KEY_BITS) {
      key = o * 2 ** F + buf[0];
    } else {
      let h1 = 0x9747b28c ^ o;
      let h2 = Math.imul(o ^ 0x5bd1e995, 0x27d4eb2d);
      for (let k = 0; k < W; k++) {
        h1 = Math.imul(h1 ^ buf[k], 0xcc9e2d51);
        h1 = (h1 << 15) | (h1 >>> 17);
        h2 = Math.imul(h2 ^ buf[k], 0x85ebca6b);
        h2 ^= h2 >>> 13;
      }
      h1 = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b);
      h1 ^= h1 >>> 13;
      h2 = Math.imul(h2 ^ h1, 0xc2b2ae35);
      h2 ^= h2 >>> 16;
      key = (h1 >>> 0) * 2 ** 20 + (h2 >>> 12);
    }
    const hit = this.#map.get(key);
    if (hit !== undefined) {
      let same = true;
      for (let k = 0; k < W && same; k++) same = this.#row[hit * W + k] === buf[k];
      if (same) {
        if (this.#head !== hit) {
          this.#unlink(hit);
          this.#pushFront(hit);
        }
        this.#stamp[hit] = this.#epoch;
        this.#hits++;
        this.fresh = false;
        return hit;
      }
      this.fresh = true;
      if (this.#stamp[hit] === this.#epoch) return -1;
      // a collision with an entry this mask does not use: replace it
      this.#map.delete(key);
      this.#unlink(hit);
      this.#free.push(hit);
    }
    this.#misses++;
    this.fresh = true;
    let slot = this.#free.pop();
    if (slot === undefined && this.#unused < this.slots) slot = this.#unused++;
    if (slot === undefined) {
      // the least recently used; this mask's entries are at the front, and slots > units per mask
      slot = this.#tail;
      this.#unlink(slot);
      this.#map.delete(this.#keyOf[slot]);
      this.#evictions++;
    }
    this.#map.set(key, slot);
    this.#pushFront(slot);
    this.#keyOf[slot] = key;
    this.#row.set(buf, slot * W);
    this.#stamp[slot] = this.#epoch;
    return slot;
  }

  /** Forgets slot (its column was not completed). */
  drop(slot: number): void {
    const key = this.#keyOf[slot];
    if (this.#map.get(key) === slot) this.#map.delete(key);
    this.#unlink(slot);
    this.#keyOf[slot] = Number.NaN;
    this.#free.push(slot);
  }

  clear(): void {
    this.#map.clear();
    this.#keyOf.fill(Number.NaN);
    this.#free.length = 0;
    this.#unused = 0;
    this.#head = -1;
    this.#tail = -1;
  }

  stats(): MemoStats {
    return {
      slots: this.slots,
      used: this.#map.size,
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#evictions,
    };
  }
}

/** The memo's slots bound to pool columns: slot → column, one reference each, held by the memo. */
export class MemoColumns {
  readonly #memo: ColumnMemo;
  readonly #pool: ColumnPool;
  /** a new pool column with one reference (the evaluator's, which may evict cached parents) */
  readonly #alloc: () => number;
  /** pool column of each slot (−1: none) */
  readonly #col: Int32Array;
  /** slots filled in the current pass */
  readonly #fresh: number[] = [];
  /** whether the last `column` found a slot filled just now: its column must be computed */
  fresh = false;

  constructor(memo: ColumnMemo, pool: ColumnPool, alloc: () => number) {
    this.#memo = memo;
    this.#pool = pool;
    this.#alloc = alloc;
    this.#col = new Int32Array(memo.slots).fill(-1);
  }

  /** Starts a pass (see ColumnMemo.begin). */
  begin(): void {
    this.#fresh.length = 0;
    this.#memo.begin();
  }

  /**
   * The pool column of unit o's row of `words`, or −1 when the memo does not take it; a slot
   * (re)assigned to this row gets a new column (`fresh`).
   */
  column(words: Uint32Array, o: number): number {
    const slot = this.#memo.lookup(words, o);
    if (slot < 0) return -1;
    this.fresh = this.#memo.fresh;
    if (!this.fresh) return this.#col[slot];
    this.#fresh.push(slot);
    const old = this.#col[slot];
    this.#col[slot] = -1;
    if (old >= 0) this.#pool.release(old);
    const c = this.#alloc();
    this.#col[slot] = c;
    return c;
  }

  /** Forgets the slots filled by a pass that failed. */
  dropFresh(): void {
    for (const slot of this.#fresh) {
      this.#memo.drop(slot);
      const c = this.#col[slot];
      this.#col[slot] = -1;
      if (c >= 0) this.#pool.release(c);
    }
    this.#fresh.length = 0;
  }

  /** Forgets every slot (the pool is cleared by its owner). */
  clear(): void {
    this.#memo.clear();
    this.#col.fill(-1);
  }

  stats(): MemoStats {
    return this.#memo.stats();
  }
}
