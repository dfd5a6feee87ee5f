// The few statistics a comparison of runs needs: mean, median, sample standard deviation, Student's t
// quantile, the 95% confidence interval of a mean, and Welch's interval of a difference of two means.
// Pure. The t quantile is computed (from the regularised incomplete beta function), not tabulated,
// because Welch's degrees of freedom are not whole numbers and a sweep may have any number of seeds.

/** The arithmetic mean (NaN for no values). */
export function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** The median (NaN for no values). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** The sample variance, with n − 1 in the denominator (NaN below 2 values). */
export function sampleVariance(values: readonly number[]): number {
  const n = values.length;
  if (n < 2) return Number.NaN;
  const m = mean(values);
  return values.reduce((a, v) => a + (v - m) ** 2, 0) / (n - 1);
}

// ln Γ(x) for x > 0: Lanczos (g = 7, 9 coefficients), about 15 significant digits.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
function lnGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0];
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

// The continued fraction of the incomplete beta function (modified Lentz; Numerical Recipes' betacf).
function betaFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  d = 1 / (Math.abs(d) < tiny ? tiny : d);
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    for (const aa of [
      (m * (b - m) * x) / ((a + m2 - 1) * (a + m2)),
      (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1)),
    ]) {
      d = 1 + aa * d;
      d = 1 / (Math.abs(d) < tiny ? tiny : d);
      c = 1 + aa / c;
      if (Math.abs(c) < tiny) c = tiny;
      h *= d * c;
    }
    if (Math.abs(d * c - 1) < 1e-15) break;
  }
  return h;
}

/** The regularised incomplete beta function I_x(a, b), 0 ≤ x ≤ 1. */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  // the fraction converges fast only on this side of the mean; the other side by symmetry
  return x < (a + 1) / (a + b + 2)
    ? (front * betaFraction(a, b, x)) / a
    : 1 - (front * betaFraction(b, a, 1 - x)) / b;
}

/** P(T > t) for t ≥ 0 under Student's t with `df` degrees of freedom (df > 0, not necessarily whole). */
function tUpperTail(t: number, df: number): number {
  return 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
}

/**
 * Student's t quantile: the t with P(T ≤ t) = p, for 0.5 ≤ p < 1 and df > 0 (Welch's df need not be
 * whole). Bisection on the upper tail to 1e-12 relative; the normal quantile's limit for huge df.
 */
export function tQuantile(p: number, df: number): number {
  if (!(p >= 0.5 && p < 1) || !(df > 0))
    throw new RangeError(`tQuantile(${p}, ${df}): need 0.5 ≤ p < 1, df > 0`);
  const tail = 1 - p;
  let lo = 0;
  let hi = 1;
  while (tUpperTail(hi, df) > tail) hi *= 2;
  while (hi - lo > 1e-12 * hi) {
    const mid = (lo + hi) / 2;
    if (tUpperTail(mid, df) > tail) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** A mean with its 95% confidence interval; lower and upper are null below 2 values. */
export interface MeanCi {
  readonly n: number;
  readonly mean: number | null;
  readonly lower: number | null;
  readonly upper: number | null;
}

/** The 95% confidence interval of the mean: mean ± t(0.975, n − 1) · s / √n. */
export function meanCi(values: readonly number[]): MeanCi {
  const n = values.length;
  if (n === 0) return { n, mean: null, lower: null, upper: null };
  const m = mean(values);
  if (n < 2) return { n, mean: m, lower: null, upper: null };
  const half = (tQuantile(0.975, n - 1) * Math.sqrt(sampleVariance(values))) / Math.sqrt(n);
  return { n, mean: m, lower: m - half, upper: m + half };
}

/** A difference of two means (a − b) with Welch's 95% interval; null bounds when either has < 2 values. */
export interface Difference {
  readonly difference: number | null;
  readonly lower: number | null;
  readonly upper: number | null;
  /** Welch–Satterthwaite degrees of freedom (null: no interval) */
  readonly df: number | null;
}

/** Welch's interval of mean(a) − mean(b): unequal variances, Welch–Satterthwaite degrees of freedom. */
export function welchDifference(a: readonly number[], b: readonly number[]): Difference {
  if (a.length === 0 || b.length === 0) return { difference: null, lower: null, upper: null, df: null };
  const d = mean(a) - mean(b);
  if (a.length < 2 || b.length < 2) return { difference: d, lower: null, upper: null, df: null };
  const va = sampleVariance(a) / a.length;
  const vb = sampleVariance(b) / b.length;
  const se2 = va + vb;
  // every run of both settings gave the same figure: the difference is exact
  if (se2 === 0) return { difference: d, lower: d, upper: d, df: null };
  const df = se2 ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1));
  const half = tQuantile(0.975, df) * Math.sqrt(se2);
  return { difference: d, lower: d - half, upper: d + half, df };
}

export type Verdict = "better" | "worse" | "tie" | "unknown";

/**
 * better: the interval lies above 0 (below 0 when lower is better, a loss); worse: on the other side;
 * tie: it contains 0; unknown: no interval.
 */
export function verdictOf(d: Difference, better: "higher" | "lower" = "higher"): Verdict {
  if (d.lower === null || d.upper === null) return "unknown";
  const sign = better === "higher" ? 1 : -1;
  if (d.lower > 0) return sign > 0 ? "better" : "worse";
  if (d.upper < 0) return sign > 0 ? "worse" : "better";
  return "tie";
}
