// The fast evaluator's cache of parents (fast-forward.ts § Delta evaluation): the masks it has evaluated,
// each with its metrics and the pool columns holding its activations, in least-recently-used order. It
// exists apart from the passes because its only concern is which entries stay: a lookup makes an entry
// the most recent, an insert beyond the cap evicts the least recent, and an evicted entry hands its
// column list back (`release`, which drops the column pool's references) and reads as no longer cached.
// The nearest-parent search walks the entries from `newest` along `next`.
import type { Metrics } from "../core/evaluate.ts";
import { type Mask, masksEqual } from "../core/mask.ts";

/** A cached mask, returned by `parentCache`; its activations are usable while `cached` is true. */
export interface ParentCache {
  /** a copy of the parent's mask */
  readonly mask: Mask;
  readonly hash: string;
  readonly metrics: Metrics;
  /** false once the LRU has evicted the entry (delta calls then fall back to a full evaluation) */
  readonly cached: boolean;
}

export class CacheEntry implements ParentCache {
  readonly mask: Mask;
  readonly hash: string;
  readonly metrics: Metrics;
  /** every stored logit is within this of the reference's (incremental logits; 0: exact) */
  readonly drift: number;
  /** per unit (activation layers in order, logits last): its pool column, −1 unknown; null: evicted */
  cols: Int32Array | null;
  /** recency list: prev is more recent */
  prev: CacheEntry | null = null;
  next: CacheEntry | null = null;

  constructor(mask: Mask, hash: string, metrics: Metrics, cols: Int32Array | null, drift = 0) {
    this.mask = mask;
    this.hash = hash;
    this.metrics = metrics;
    this.cols = cols;
    this.drift = drift;
  }

  get cached(): boolean {
    return this.cols !== null;
  }
}

/** The entries by hash, most recent first, at most `maxEntries` of them. */
export class ParentLru {
  readonly maxEntries: number;
  readonly #release: (cols: Int32Array) => void;
  readonly #entries = new Map<string, CacheEntry>();
  #head: CacheEntry | null = null;
  #tail: CacheEntry | null = null;
  #hits = 0;
  #misses = 0;
  #evictions = 0;

  /** `release` takes back the column list of an evicted entry. */
  constructor(maxEntries: number, release: (cols: Int32Array) => void) {
    this.maxEntries = maxEntries;
    this.#release = release;
  }

  /** the most recently used entry (follow `next` for older ones) */
  get newest(): CacheEntry | null {
    return this.#head;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The entry of `mask` (now the most recent), if cached. */
  lookup(mask: Mask, hash: string): CacheEntry | undefined {
    const e = this.#entries.get(hash);
    if (e === undefined || !masksEqual(e.mask, mask)) return undefined;
    this.touch(e);
    return e;
  }

  /** `lookup`, counted as a hit or a miss (the statistics of `parentCache` requests). */
  lookupCounted(mask: Mask, hash: string): CacheEntry | undefined {
    const e = this.lookup(mask, hash);
    if (e === undefined) this.#misses++;
    else this.#hits++;
    return e;
  }

  /** Whether `e` is the live entry of its hash. */
  holds(e: CacheEntry): boolean {
    return e.cols !== null && this.#entries.get(e.hash) === e;
  }

  /** Makes `e` the most recent. */
  touch(e: CacheEntry): void {
    if (this.#head === e) return;
    this.#unlink(e);
    this.#pushFront(e);
  }

  /** Adds `e` as the most recent, replacing an entry of the same hash and evicting beyond the cap. */
  insert(e: CacheEntry): void {
    const same = this.#entries.get(e.hash);
    // a different mask with the same hash (or the same mask, when a caller raced): replace it
    if (same !== undefined) this.#evict(same);
    while (this.#entries.size >= this.maxEntries && this.#tail !== null) this.evictOldest();
    this.#entries.set(e.hash, e);
    this.#pushFront(e);
  }

  /** Evicts the least recently used entry (counted); false when there is none. */
  evictOldest(): boolean {
    const victim = this.#tail;
    if (victim === null) return false;
    this.#evict(victim);
    this.#evictions++;
    return true;
  }

  /** Evicts every entry (not counted as evictions). */
  clear(): void {
    while (this.#tail !== null) this.#evict(this.#tail);
  }

  stats(): {
    readonly used: number;
    readonly hits: number;
    readonly misses: number;
    readonly evictions: number;
  } {
    return { used: this.#entries.size, hits: this.#hits, misses: this.#misses, evictions: this.#evictions };
  }

  #unlink(e: CacheEntry): void {
    if (e.prev !== null) e.prev.next = e.next;
    else this.#head = e.next;
    if (e.next !== null) e.next.prev = e.prev;
    else this.#tail = e.prev;
    e.prev = null;
    e.next = null;
  }

  #pushFront(e: CacheEntry): void {
    e.next = this.#head;
    if (this.#head !== null) this.#head.prev = e;
    else this.#tail = e;
    this.#head = e;
  }

  #evict(e: CacheEntry): void {
    this.#unlink(e);
    if (this.#entries.get(e.hash) === e) this.#entries.delete(e.hash);
    const cols = e.cols;
    e.cols = null;
    if (cols !== null) this.#release(cols);
  }
}
