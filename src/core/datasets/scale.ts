// Input scaling. "paper": the reference's scaling, one global min and max over a whole split (all
// features pooled) mapped linearly to [−0.7, 0.7], train and test each with their own min and max.
// "standard": per-feature z-score with the TRAINING mean and (population) std, applied to both splits.
// "none": values unchanged. All arithmetic in Float64; the result is the Float32 Split.
// Byte data (MNIST pixels) goes through the same formulas; "paper" then maps each of the 256 byte values
// once (a lookup table holding exactly the values the per-element formula gives).
import type { DatasetDescription, Split } from "../dataset.ts";
import type { ByteSplit } from "./idx.ts";
import { type RawSplit, toSplit } from "./raw.ts";

/** Unscaled rows: Float64 values (generators, CSV) or bytes (IDX images). */
export type UnscaledSplit = RawSplit | ByteSplit;

export type ScaleKind = DatasetDescription["scale"];

export const SCALE_KINDS: readonly ScaleKind[] = ["none", "paper", "standard"];

export const PAPER_LOW = -0.7;
export const PAPER_HIGH = 0.7;

export function isScaleKind(s: unknown): s is ScaleKind {
  return typeof s === "string" && (SCALE_KINDS as readonly string[]).includes(s);
}

/** Global min and max over all values of a split ([+∞, −∞] when empty). */
export function globalRange(s: UnscaledSplit): { min: number; max: number } {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  const x = s.x;
  if (x instanceof Uint8Array) {
    // bytes: done as soon as both ends of 0..255 are seen
    for (let k = 0; k < x.length; k++) {
      const v = x[k];
      if (v < min) min = v;
      if (v > max) max = v;
      if (min === 0 && max === 255) break;
    }
    return { min, max };
  }
  for (let k = 0; k < x.length; k++) {
    const v = x[k];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

/**
 * The paper's scaling of one split: (v − min) / (max − min) · 1.4 − 0.7 with the split's own global
 * min and max; a constant split (max = min) maps to 0.
 */
export function scalePaper(s: UnscaledSplit): Split {
  const { min, max } = globalRange(s);
  const out = new Float32Array(s.x.length);
  if (max > min) {
    // halve everything when max − min overflows; divide (not multiply by 1.4 / span) so that a
    // subnormal span does not overflow
    const h = Number.isFinite(max - min) ? 1 : 0.5;
    const lo = min * h;
    const span = max * h - lo;
    const f = (v: number) => ((v * h - lo) / span) * (PAPER_HIGH - PAPER_LOW) + PAPER_LOW;
    const x = s.x;
    if (x instanceof Uint8Array) {
      const table = new Float32Array(256);
      for (let v = 0; v < 256; v++) table[v] = f(v);
      for (let i = 0; i < out.length; i++) out[i] = table[x[i]];
    } else {
      for (let i = 0; i < out.length; i++) out[i] = f(x[i]);
    }
  }
  return { n: s.n, features: s.features, x: out, y: Int32Array.from(s.y) };
}

export interface StandardStats {
  readonly mean: Float64Array;
  /** population standard deviation (ddof = 0, as sklearn's StandardScaler); 0 for a constant feature */
  readonly std: Float64Array;
}

/** Per-feature mean and population std of a split. */
export function standardStats(s: UnscaledSplit): StandardStats {
  const f = s.features;
  const mean = new Float64Array(f);
  const std = new Float64Array(f);
  if (s.n === 0) return { mean, std };
  for (let i = 0; i < s.n; i++) for (let j = 0; j < f; j++) mean[j] += s.x[i * f + j];
  for (let j = 0; j < f; j++) mean[j] /= s.n;
  for (let i = 0; i < s.n; i++)
    for (let j = 0; j < f; j++) {
      const d = s.x[i * f + j] - mean[j];
      std[j] += d * d;
    }
  for (let j = 0; j < f; j++) std[j] = Math.sqrt(std[j] / s.n);
  return { mean, std };
}

/** (v − mean) / std per feature with the given statistics; a feature with std 0 is only centred. */
export function applyStandard(s: UnscaledSplit, stats: StandardStats): Split {
  const f = s.features;
  const out = new Float32Array(s.x.length);
  for (let i = 0; i < s.n; i++)
    for (let j = 0; j < f; j++) {
      const sd = stats.std[j] > 0 ? stats.std[j] : 1;
      out[i * f + j] = (s.x[i * f + j] - stats.mean[j]) / sd;
    }
  return { n: s.n, features: f, x: out, y: Int32Array.from(s.y) };
}

/** Scale a train/test pair as `kind` says (see the module comment). */
export function scaleSplits(
  train: UnscaledSplit,
  test: UnscaledSplit,
  kind: ScaleKind,
): { train: Split; test: Split } {
  switch (kind) {
    case "none":
      return { train: toSplit(train), test: toSplit(test) };
    case "paper":
      return { train: scalePaper(train), test: scalePaper(test) };
    case "standard": {
      const stats = standardStats(train);
      return { train: applyStandard(train, stats), test: applyStandard(test, stats) };
    }
    default:
      throw new RangeError(`unknown scaling ${JSON.stringify(kind)}; allowed: ${SCALE_KINDS.join(", ")}`);
  }
}
