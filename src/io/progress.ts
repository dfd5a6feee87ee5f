// Progress lines on stderr while a search runs: at most one per interval (default 1 s), plus the final
// one, so long runs stay readable and short runs stay quiet.
//
// Rates come from a sliding window of samples (time, generation, evaluations), not from the run's totals
// over its whole time: a total divided by the time since some clock started counts whatever was evaluated
// before that clock started (the initial population) over an almost empty interval, which is how the first
// figures used to read 31 711 evals/s. Every sample here is taken by the code that did the work, starting
// with one before any evaluation. The pure parts (window, ETA, formatting) take explicit timestamps.

/** One observation of a search: when (ms on any monotonic clock) and how far it had got. */
export interface ProgressSample {
  readonly at: number;
  readonly generation: number;
  readonly evaluations: number;
}

export interface Rates {
  readonly evaluationsPerSecond: number;
  readonly generationsPerSecond: number;
}

/** how far back rates look */
export const RATE_WINDOW_MS = 10_000;

/**
 * The samples of the last `spanMs`, plus the newest sample older than that as the window's base, so a
 * window of sparse samples (one report every few slow generations) still spans two of them.
 */
export class RateWindow {
  private samples: ProgressSample[] = [];
  private readonly spanMs: number;
  constructor(spanMs = RATE_WINDOW_MS) {
    this.spanMs = spanMs;
  }

  add(sample: ProgressSample): void {
    const s = this.samples;
    s.push(sample);
    let drop = 0;
    while (drop + 2 < s.length && sample.at - s[drop + 1].at >= this.spanMs) drop++;
    if (drop > 0) s.splice(0, drop);
  }

  /** null until two samples lie apart in time */
  rates(): Rates | null {
    return windowRates(this.samples);
  }
}

/** Rates between the first and the last sample; null when there are fewer than two or no time passed. */
export function windowRates(samples: readonly ProgressSample[]): Rates | null {
  if (samples.length < 2) return null;
  const first = samples[0];
  const last = samples[samples.length - 1];
  const seconds = (last.at - first.at) / 1000;
  if (!(seconds > 0)) return null;
  return {
    evaluationsPerSecond: (last.evaluations - first.evaluations) / seconds,
    generationsPerSecond: (last.generation - first.generation) / seconds,
  };
}

/** The limits a run may stop at; an absent one is null or undefined. */
export interface RunLimits {
  readonly maxGenerations?: number | null;
  readonly maxEvaluations?: number | null;
  readonly timeLimitSeconds?: number | null;
}

export type LimitName = "generation cap" | "evaluation budget" | "time limit";

/** Time left until a limit is reached, and which limit. */
export interface Eta {
  readonly seconds: number;
  readonly by: LimitName;
}

const known = (v: number | null | undefined): v is number =>
  v !== null && v !== undefined && Number.isFinite(v);

/** The soonest of the candidates, null when there are none. */
export function soonest(candidates: readonly (Eta | null)[]): Eta | null {
  let best: Eta | null = null;
  for (const c of candidates) if (c !== null && (best === null || c.seconds < best.seconds)) best = c;
  return best;
}

/**
 * When one search reaches its generation cap or evaluation budget at its current rates, the soonest of
 * them; null when neither is known or there is no rate yet. (A termination rule may stop it earlier.)
 */
export function searchEta(
  at: { generation: number; evaluations: number },
  rates: Rates | null,
  limits: RunLimits,
): Eta | null {
  const candidates: Eta[] = [];
  if (known(limits.maxGenerations) && rates !== null && rates.generationsPerSecond > 0)
    candidates.push({
      seconds: Math.max(0, limits.maxGenerations - at.generation) / rates.generationsPerSecond,
      by: "generation cap",
    });
  if (known(limits.maxEvaluations) && rates !== null && rates.evaluationsPerSecond > 0)
    candidates.push({
      seconds: Math.max(0, limits.maxEvaluations - at.evaluations) / rates.evaluationsPerSecond,
      by: "evaluation budget",
    });
  return soonest(candidates);
}

/**
 * A run of several searches ends when the last of them does (`searches`: each one's ETA, null where
 * unknown, which makes the run's unknown too), or at the time limit if that comes first.
 */
export function runEta(
  searches: readonly (Eta | null)[],
  timeLimit: { limitSeconds?: number | null; elapsedSeconds: number },
): Eta | null {
  let last: Eta | null = null;
  if (searches.length > 0 && searches.every((e) => e !== null))
    for (const e of searches as Eta[]) if (last === null || e.seconds > last.seconds) last = e;
  const limit = timeLimit.limitSeconds;
  const byTime: Eta | null = known(limit)
    ? { seconds: Math.max(0, limit - timeLimit.elapsedSeconds), by: "time limit" }
    : null;
  return soonest([last, byTime]);
}

/** 45s, 2m05s, 1h02m */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** `140/300`, or `140` when there is no limit */
export function ofLimit(value: number, limit: number | null | undefined, width = 0): string {
  return `${String(value).padStart(width)}${known(limit) ? `/${limit}` : ""}`;
}

/** the islands' generations: `15–20/300` (slowest to furthest), `20/300` when they agree */
export function rangeOfLimit(values: readonly number[], limit: number | null | undefined): string {
  const low = Math.min(...values);
  const high = Math.max(...values);
  return low === high ? ofLimit(high, limit) : `${low}–${ofLimit(high, limit)}`;
}

/** `450 evals/s`, or `- evals/s` before there is a rate */
export function formatRate(rates: Rates | null): string {
  return `${rates === null ? "-" : rates.evaluationsPerSecond.toFixed(0)} evals/s`;
}

/** `  eta 2m05s (generation cap)`, or nothing */
export function formatEta(eta: Eta | null): string {
  return eta === null ? "" : `  eta ${formatDuration(eta.seconds)} (${eta.by})`;
}

/**
 * The printer of counted work (epochs, individuals): at most one line per `intervalMs` (default 1 s) on
 * `stream`, none without one, the last (`done` = `total`) always. Each call gives the count and the line,
 * formatted from the seconds since `startedAt` (default: when the printer is made).
 */
export function countProgress(
  stream: NodeJS.WritableStream | undefined,
  total: number,
  options: { readonly intervalMs?: number; readonly startedAt?: number; readonly now?: () => number } = {},
): (done: number, line: (elapsedSeconds: number) => string) => void {
  const now = options.now ?? (() => performance.now());
  const intervalMs = options.intervalMs ?? 1000;
  const started = options.startedAt ?? now();
  let last = Number.NEGATIVE_INFINITY;
  return (done, line) => {
    const t = now();
    if (stream === undefined || (t - last < intervalMs && done < total)) return;
    last = t;
    stream.write(`${line((t - started) / 1000)}\n`);
  };
}

export interface ProgressLine {
  generation: number;
  bestFitness: number;
  fitness: "accuracy" | "loss";
  bestAccuracy: number;
  sparsity: number;
  evaluations: number;
}

/** One population's progress line; its ETA is the soonest of the cap, the budget and the time limit. */
export function formatProgressLine(
  p: ProgressLine,
  limits: RunLimits,
  rates: Rates | null,
  elapsedSeconds: number,
): string {
  const fit =
    p.fitness === "loss"
      ? `loss ${p.bestFitness.toFixed(5)}  acc ${p.bestAccuracy.toFixed(4)}`
      : `acc ${p.bestAccuracy.toFixed(4)}`;
  const eta = runEta([searchEta(p, rates, limits)], {
    limitSeconds: limits.timeLimitSeconds,
    elapsedSeconds,
  });
  return `gen ${ofLimit(p.generation, limits.maxGenerations, 5)}  best ${fit}  sparsity ${p.sparsity.toFixed(3)}  evals ${ofLimit(p.evaluations, limits.maxEvaluations)}  ${formatRate(rates)}  ${elapsedSeconds.toFixed(1)}s${formatEta(eta)}`;
}

export interface ProgressOptions {
  readonly enabled: boolean;
  /** at most one line per this many ms, besides forced ones; 0: every report */
  readonly intervalMs?: number;
  readonly limits?: RunLimits;
  /** ms on a monotonic clock (default performance.now) */
  readonly now?: () => number;
  /**
   * when the run started on that clock, for the elapsed time and the time limit's ETA (default: when the
   * printer is made); the rates start from when the printer is made, after the data is loaded
   */
  readonly startedAt?: number;
}

/**
 * The sample a search starts from, taken before its initial population is evaluated: generation −1, so
 * that evaluating that population counts as a generation's work in the generation rate.
 */
export const startSample = (at: number): ProgressSample => ({ at, generation: -1, evaluations: 0 });

/**
 * The progress printer of one population: call it after every generation (it samples every call and
 * prints at most once per interval); it takes its start sample when made.
 */
export function createProgress(stream: NodeJS.WritableStream, options: ProgressOptions) {
  const now = options.now ?? (() => performance.now());
  const intervalMs = options.intervalMs ?? 1000;
  const start = options.startedAt ?? now();
  const window = new RateWindow();
  window.add(startSample(now()));
  let last = Number.NEGATIVE_INFINITY;
  let sampled = -1;
  let printed = -1;
  return (p: ProgressLine, force = false): void => {
    if (!options.enabled) return;
    const t = now();
    if (p.generation !== sampled) window.add({ at: t, generation: p.generation, evaluations: p.evaluations });
    sampled = p.generation;
    if ((!force && t - last < intervalMs) || p.generation === printed) return;
    last = t;
    printed = p.generation;
    stream.write(`${formatProgressLine(p, options.limits ?? {}, window.rates(), (t - start) / 1000)}\n`);
  };
}
