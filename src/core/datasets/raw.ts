// Unscaled data as produced by the generators and the CSV parser: Float64 values so that scaling is
// computed at full precision; `toSplit` makes the Float32 `Split` the evaluators use.
import type { Split } from "../dataset.ts";

/** n rows of `features` Float64 values, row-major, and a non-negative integer label per row. */
export interface RawSplit {
  readonly n: number;
  readonly features: number;
  readonly x: Float64Array;
  readonly y: Int32Array;
}

/** Rows [start, end) of a split, copied. */
export function sliceRows(s: RawSplit, start: number, end: number): RawSplit {
  const f = s.features;
  return { n: end - start, features: f, x: s.x.slice(start * f, end * f), y: s.y.slice(start, end) };
}

/** The given rows of a split, in the given order, copied. */
export function pickRows(s: RawSplit, rows: ArrayLike<number>): RawSplit {
  const f = s.features;
  const n = rows.length;
  const x = new Float64Array(n * f);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    x.set(s.x.subarray(r * f, r * f + f), i * f);
    y[i] = s.y[r];
  }
  return { n, features: f, x, y };
}

/** The same rows with Float32 values (Float64 or byte values). */
export function toSplit(s: {
  n: number;
  features: number;
  x: Float64Array | Uint8Array;
  y: Int32Array;
}): Split {
  return { n: s.n, features: s.features, x: new Float32Array(s.x), y: Int32Array.from(s.y) };
}

/** Largest label + 1 over the given splits (0 when all are empty). */
export function classCount(...splits: RawSplit[]): number {
  let max = -1;
  for (const s of splits) for (let i = 0; i < s.n; i++) if (s.y[i] > max) max = s.y[i];
  return max + 1;
}
