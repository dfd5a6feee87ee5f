// Seeded row subsets of a split (mini-batch fitness, a non-paper mode; see src/core/ga/subset.ts).
import type { Split } from "../dataset.ts";
import type { Rng } from "../rng.ts";

/**
 * `size` distinct row indices of 0 … n−1, drawn uniformly without replacement by `rng` (partial
 * Fisher–Yates) and returned in ascending order, so a subset keeps the split's row order.
 */
export function sampleRows(n: number, size: number, rng: Rng): Int32Array {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`sampleRows: n must be a whole number, got ${n}`);
  if (!Number.isInteger(size) || size < 1 || size > n) {
    throw new RangeError(`sampleRows: size must be a whole number in 1..${n}, got ${size}`);
  }
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = 0; i < size; i++) {
    const j = i + rng.int(n - i);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order.slice(0, size).sort();
}

/** The given rows of a split, in the given order, copied. */
export function selectRows(split: Split, rows: ArrayLike<number>): Split {
  const f = split.features;
  const n = rows.length;
  const x = new Float32Array(n * f);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    if (!(r >= 0 && r < split.n) || !Number.isInteger(r)) {
      throw new RangeError(`selectRows: row ${r} is not a row of a split of ${split.n} rows`);
    }
    x.set(split.x.subarray(r * f, r * f + f), i * f);
    y[i] = split.y[r];
  }
  return { n, features: f, x, y };
}
