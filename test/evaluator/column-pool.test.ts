// The column pool (column-pool.ts): columns handed out once each until freed, shared by references and
// free again only after the last release, −1 when exhausted, and a clear that frees everything.
import { describe, expect, it } from "vitest";
import { ColumnPool } from "../../src/evaluator/column-pool.ts";

describe("ColumnPool", () => {
  it("hands out every column once, then −1", () => {
    const pool = new ColumnPool(3);
    expect([pool.take(), pool.take(), pool.take()]).toEqual([0, 1, 2]);
    expect(pool.take()).toBe(-1);
    expect(pool.used).toBe(3);
  });

  it("frees a shared column only after its last reference, and reuses freed columns first", () => {
    const pool = new ColumnPool(4);
    const a = pool.take();
    const b = pool.take();
    pool.retain(a);
    pool.release(a);
    expect(pool.used).toBe(2);
    pool.release(a);
    pool.release(b);
    expect(pool.used).toBe(0);
    // the most recently freed first, then never used ones
    expect([pool.take(), pool.take(), pool.take()]).toEqual([b, a, 2]);
  });

  it("releaseAll skips unknown columns; clear frees everything", () => {
    const pool = new ColumnPool(3);
    const cols = Int32Array.of(pool.take(), -1, pool.take());
    pool.releaseAll(cols);
    expect(pool.used).toBe(0);
    pool.take();
    pool.retain(0);
    pool.clear();
    expect(pool.used).toBe(0);
    expect([pool.take(), pool.take(), pool.take(), pool.take()]).toEqual([0, 1, 2, -1]);
  });
});
