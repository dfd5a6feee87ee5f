// The parent LRU (parent-cache.ts): recency order, eviction of the least recent at the cap and on demand,
// the column lists of evicted entries handed back, same-hash replacement, and its counters.
import { describe, expect, it } from "vitest";
import { emptyMask, type Mask, maskHash, setBit } from "../../src/core/mask.ts";
import { CacheEntry, ParentLru } from "../../src/evaluator/parent-cache.ts";

function maskWith(bit: number): Mask {
  const m = emptyMask(64);
  setBit(m, bit, true);
  return m;
}

function entry(bit: number, hash = maskHash(maskWith(bit))): CacheEntry {
  return new CacheEntry(maskWith(bit), hash, { accuracy: bit / 64, loss: 0 }, Int32Array.of(bit, -1));
}

function order(lru: ParentLru): number[] {
  const bits: number[] = [];
  for (let e = lru.newest; e !== null; e = e.next) bits.push(e.cols?.[0] ?? -1);
  return bits;
}

function setupLru(maxEntries: number) {
  const released: number[] = [];
  const lru = new ParentLru(maxEntries, (cols) => released.push(cols[0]));
  return { lru, released };
}

describe("ParentLru", () => {
  it("keeps the most recent first and evicts the least recent at the cap, releasing its columns", () => {
    const { lru, released } = setupLru(3);
    const es = [1, 2, 3].map((b) => entry(b));
    for (const e of es) lru.insert(e);
    expect(order(lru)).toEqual([3, 2, 1]);
    // a lookup makes its entry the most recent
    expect(lru.lookup(maskWith(1), es[0].hash)).toBe(es[0]);
    expect(order(lru)).toEqual([1, 3, 2]);
    lru.insert(entry(4));
    expect(order(lru)).toEqual([4, 1, 3]);
    expect(released).toEqual([2]);
    expect(es[1].cached).toBe(false);
    expect(lru.holds(es[1])).toBe(false);
    expect(lru.holds(es[0])).toBe(true);
    expect(lru.lookup(maskWith(2), es[1].hash)).toBeUndefined();
    expect(lru.stats()).toEqual({ used: 3, hits: 0, misses: 0, evictions: 1 });
  });

  it("touch reorders; evictOldest evicts from the tail until empty", () => {
    const { lru, released } = setupLru(4);
    for (const b of [1, 2, 3]) lru.insert(entry(b));
    const last = lru.newest?.next?.next as CacheEntry;
    lru.touch(last);
    expect(order(lru)).toEqual([1, 3, 2]);
    expect(lru.evictOldest()).toBe(true);
    expect(lru.evictOldest()).toBe(true);
    expect(released).toEqual([2, 3]);
    expect(order(lru)).toEqual([1]);
    expect(lru.evictOldest()).toBe(true);
    expect(lru.evictOldest()).toBe(false);
    expect(lru.newest).toBeNull();
    expect(lru.stats().evictions).toBe(3);
  });

  it("replaces an entry of the same hash without counting an eviction; clear evicts all uncounted", () => {
    const { lru, released } = setupLru(4);
    const a = entry(1, "h");
    const b = entry(2, "h");
    lru.insert(a);
    lru.insert(b);
    expect(lru.size).toBe(1);
    expect(a.cached).toBe(false);
    expect(released).toEqual([1]);
    // same hash, different mask: not found
    expect(lru.lookup(maskWith(1), "h")).toBeUndefined();
    expect(lru.lookup(maskWith(2), "h")).toBe(b);
    lru.insert(entry(3));
    lru.clear();
    expect(lru.size).toBe(0);
    expect(released.sort()).toEqual([1, 2, 3]);
    expect(lru.stats().evictions).toBe(0);
  });

  it("counts hits and misses of counted lookups only", () => {
    const { lru } = setupLru(2);
    const e = entry(5);
    lru.insert(e);
    expect(lru.lookupCounted(maskWith(5), e.hash)).toBe(e);
    expect(lru.lookupCounted(maskWith(6), maskHash(maskWith(6)))).toBeUndefined();
    lru.lookup(maskWith(5), e.hash);
    expect(lru.stats()).toMatchObject({ hits: 1, misses: 1 });
  });
});
