// Curves of a run and of a setting against search evaluations. Pure.
//
// A run's curve is its best-so-far training fitness (accuracy, or loss: lower is better, core/ga
// isBetterFitness) against its search evaluations, a step function known at the points its events give:
// one population: each `generation` event (evaluations, bestFitness); islands: each `report` event, where
// the run's evaluations are the sum of every island's latest reported evaluations and its best is the best
// of the islands' bests. An island restarted from a snapshot, or a run resumed from a checkpoint, reports
// fewer evaluations than before: what it did after the snapshot is lost, so its points from there on are
// dropped (as are the run's).
//
// A setting's curve: every run resampled on one grid of evaluations (the value at x is the run's last
// point at or before x, carried forward), from the latest first point to the smallest final count among
// its runs, so that every run counts at every grid point; then the mean and its 95% confidence interval
// (Student t, stats.ts) at each point.
import { type FitnessMode, isBetterFitness } from "../core/ga/index.ts";
import type { RunEvent } from "./read-run.ts";
import { meanCi } from "./stats.ts";

/** A step function: xs ascending, ys[k] holds from xs[k] until xs[k + 1]. */
export interface Curve {
  readonly xs: number[];
  readonly ys: number[];
}

/**
 * Adds a point to a best-so-far curve: a point at or before earlier ones first drops them (work lost to a
 * restart or a resume), and the value is the better of y and the best before it.
 */
function append(curve: Curve, x: number, y: number, fitness: FitnessMode): void {
  while (curve.xs.length > 0 && curve.xs[curve.xs.length - 1] >= x) {
    curve.xs.pop();
    curve.ys.pop();
  }
  const before = curve.ys[curve.ys.length - 1];
  curve.xs.push(x);
  curve.ys.push(before !== undefined && !isBetterFitness(y, before, fitness) ? before : y);
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** The best-so-far training fitness against search evaluations of one run (see the file comment). */
export function runCurve(events: readonly RunEvent[], fitness: FitnessMode): Curve {
  const curve: Curve = { xs: [], ys: [] };
  if (events.some((e) => e.type === "generation")) {
    for (const e of events) {
      const x = num(e.evaluations);
      const y = num(e.bestFitness);
      if (e.type === "generation" && x !== null && y !== null) append(curve, x, y, fitness);
    }
    return curve;
  }
  const islands = new Map<number, Curve>();
  for (const e of events) {
    const island = num(e.island);
    const x = num(e.evaluations);
    const y = num(e.bestFitness);
    if (e.type !== "report" || island === null || x === null || y === null) continue;
    const own = islands.get(island) ?? { xs: [], ys: [] };
    append(own, x, y, fitness);
    islands.set(island, own);
    let total = 0;
    let best = Number.NaN;
    for (const c of islands.values()) {
      total += c.xs[c.xs.length - 1];
      const b = c.ys[c.ys.length - 1];
      if (Number.isNaN(best) || isBetterFitness(b, best, fitness)) best = b;
    }
    append(curve, total, best, fitness);
  }
  return curve;
}

/** The curve's value at x: its last point at or before x; null before its first point. */
export function valueAt(curve: Curve, x: number): number | null {
  let lo = 0;
  let hi = curve.xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (curve.xs[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? null : curve.ys[lo - 1];
}

/** Where every run of a setting has a value: from the latest first point to the smallest last one. */
export function commonRange(curves: readonly Curve[]): { from: number; to: number } | null {
  const used = curves.filter((c) => c.xs.length > 0);
  if (used.length === 0) return null;
  const from = Math.max(...used.map((c) => c.xs[0]));
  const to = Math.min(...used.map((c) => c.xs[c.xs.length - 1]));
  return { from: Math.min(from, to), to };
}

/** `points` evenly spaced whole numbers from `from` to `to` (fewer when they would repeat). */
export function evenGrid(from: number, to: number, points: number): number[] {
  if (to <= from || points < 2) return [Math.round(to)];
  const grid: number[] = [];
  for (let k = 0; k < points; k++) grid.push(Math.round(from + ((to - from) * k) / (points - 1)));
  return [...new Set(grid)];
}

/** A setting's mean curve with its 95% band; null where the grid leaves the setting's common range. */
export interface SettingCurve {
  readonly evaluations: number[];
  readonly mean: (number | null)[];
  readonly lower: (number | null)[];
  readonly upper: (number | null)[];
  /** runs counted at each point */
  readonly n: number[];
}

/**
 * The runs' curves resampled on `grid` (default: `points` evenly spaced over their common range) with the
 * mean and 95% confidence interval at each grid point. Points outside the common range are null, so that
 * every point that has a value counts every run.
 */
export function settingCurve(curves: readonly Curve[], grid?: readonly number[], points = 50): SettingCurve {
  const range = commonRange(curves);
  const xs = grid ?? (range ? evenGrid(range.from, range.to, points) : []);
  const out: SettingCurve = { evaluations: [...xs], mean: [], lower: [], upper: [], n: [] };
  for (const x of xs) {
    const inside = range !== null && x >= range.from && x <= range.to;
    const values = inside ? curves.map((c) => valueAt(c, x)).filter((v): v is number => v !== null) : [];
    const ci = meanCi(values);
    out.mean.push(ci.mean);
    out.lower.push(ci.lower);
    out.upper.push(ci.upper);
    out.n.push(ci.n);
  }
  return out;
}
