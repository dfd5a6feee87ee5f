// The fast evaluator's column pool (fast-forward.ts § Delta evaluation): the arena's columns of n rows
// after the block buffer (arena.ts), handed out and reference-counted. It exists apart from the passes
// because the columns are shared — a memoised first-layer column by the memo and every entry that uses
// it, a parent's unchanged columns by each child's entry — and a column is free again only when its
// last holder lets it go. Column c starts at the pool's base + c · n floats of the arena; this class
// holds only the counts. When `take` finds no free column the caller evicts a parent (parent-cache.ts)
// and tries again.

export class ColumnPool {
  /** columns in the pool */
  readonly columns: number;
  /** references per column (0: free) */
  readonly #ref: Int32Array;
  /** freed columns (a stack), then the never used ones from #unused on */
  readonly #free: Int32Array;
  #freeTop = 0;
  #unused = 0;
  #used = 0;

  constructor(columns: number) {
    this.columns = columns;
    this.#ref = new Int32Array(columns);
    this.#free = new Int32Array(columns);
  }

  /** columns with a reference */
  get used(): number {
    return this.#used;
  }

  /** A free column with one reference (the caller's), or −1 when every column is in use. */
  take(): number {
    let c = -1;
    if (this.#freeTop > 0) c = this.#free[--this.#freeTop];
    else if (this.#unused < this.columns) c = this.#unused++;
    if (c >= 0) {
      this.#ref[c] = 1;
      this.#used++;
    }
    return c;
  }

  /** One more reference to column c. */
  retain(c: number): void {
    this.#ref[c]++;
  }

  /** Drops a reference to column c; the last one frees it. */
  release(c: number): void {
    if (--this.#ref[c] === 0) {
      this.#free[this.#freeTop++] = c;
      this.#used--;
    }
  }

  /** Releases the columns of a list (−1 entries skipped). */
  releaseAll(cols: Int32Array): void {
    for (let u = 0; u < cols.length; u++) if (cols[u] >= 0) this.release(cols[u]);
  }

  /** Every column free, whatever its references. */
  clear(): void {
    this.#ref.fill(0);
    this.#freeTop = 0;
    this.#unused = 0;
    this.#used = 0;
  }
}
