// The memo's pool columns (column-memo.ts MemoColumns): a memoised row keeps its column across passes, a
// slot reassigned to a new row gets a new column and lets the old one go, and the slots a failed pass
// filled are forgotten with their columns. (ColumnMemo itself is checked through the evaluator's tests.)
import { describe, expect, it } from "vitest";
import { ColumnMemo, MemoColumns } from "../../src/evaluator/column-memo.ts";
import { ColumnPool } from "../../src/evaluator/column-pool.ts";

/** Two inputs: unit 0's row is the mask's bits 0–1. */
const row = (bits: number) => Uint32Array.of(bits);

function setupMemo(slots: number) {
  const pool = new ColumnPool(8);
  const memo = new MemoColumns(new ColumnMemo(slots, 2), pool, () => pool.take());
  return { pool, memo };
}

describe("MemoColumns", () => {
  it("gives a new row a fresh column and the same row its column again", () => {
    const { pool, memo } = setupMemo(3);
    memo.begin();
    const c = memo.column(row(1), 0);
    expect(c).toBeGreaterThanOrEqual(0);
    expect(memo.fresh).toBe(true);
    memo.begin();
    expect(memo.column(row(1), 0)).toBe(c);
    expect(memo.fresh).toBe(false);
    expect(memo.column(row(2), 0)).not.toBe(c);
    expect(memo.fresh).toBe(true);
    expect(pool.used).toBe(2);
    expect(memo.stats()).toMatchObject({ used: 2, hits: 1, misses: 2 });
  });

  it("releases the column of a slot reassigned to another row", () => {
    const { pool, memo } = setupMemo(2);
    for (const bits of [1, 2, 3]) {
      memo.begin();
      memo.column(row(bits), 0);
    }
    // two slots: row 1's was taken over by row 3, and its column freed
    expect(pool.used).toBe(2);
    memo.begin();
    memo.column(row(1), 0);
    expect(memo.fresh).toBe(true);
  });

  it("forgets the slots a failed pass filled, with their columns; clear forgets all", () => {
    const { pool, memo } = setupMemo(3);
    memo.begin();
    const kept = memo.column(row(1), 0);
    memo.begin();
    memo.column(row(1), 0);
    memo.column(row(2), 0);
    memo.dropFresh();
    expect(pool.used).toBe(1);
    memo.begin();
    expect(memo.column(row(1), 0)).toBe(kept);
    expect(memo.fresh).toBe(false);
    memo.column(row(2), 0);
    expect(memo.fresh).toBe(true);
    memo.clear();
    memo.begin();
    memo.column(row(1), 0);
    expect(memo.fresh).toBe(true);
  });
});
