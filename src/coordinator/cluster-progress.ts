// The island cluster's progress block on stderr, as a pure function of what the coordinator knows: one
// line for the run (live islands, generations against the cap, the best island, evaluations against the
// budget, the summed rate, migrants, ETA), then one line per island. The coordinator (cluster.ts) only
// gathers the view and decides when to print; this file decides what a line says, and is tested alone.
import type { FitnessMode } from "../core/ga/index.ts";
import type { ReportBody } from "../core/protocol/index.ts";
import { type Eta, formatEta, ofLimit, type Rates, rangeOfLimit, runEta, searchEta } from "../io/progress.ts";

export type FinishedBy = "generation cap" | "evaluation budget";

/**
 * What ended an island that finished its own search: it stops below the cap (or with no cap at all) only
 * at its share of the evaluation budget.
 */
export function finishedBy(ticketGeneration: number, cap: number | null): FinishedBy {
  return ticketGeneration < (cap ?? Number.POSITIVE_INFINITY) ? "evaluation budget" : "generation cap";
}

/** One island as the progress block sees it. */
export interface IslandView {
  readonly id: number;
  readonly host: string;
  readonly lost: boolean;
  /** what ended its search, null while it runs */
  readonly finished: FinishedBy | null;
  readonly report: ReportBody | null;
  /** its generation and evaluation rates over its recent reports (null before two) */
  readonly rates: Rates | null;
  /** its share of the run's evaluation budget */
  readonly maxEvaluations?: number;
}

export interface ClusterView {
  readonly elapsedSeconds: number;
  readonly fitness: FitnessMode;
  readonly maxGenerations: number | null;
  readonly maxEvaluations?: number;
  /** the time limit and the time since it started counting (the islands' assignment); absent: none yet */
  readonly timeLimit?: { readonly limitSeconds?: number; readonly elapsedSeconds: number };
  readonly migrants: { readonly sent: number; readonly accepted: number };
  /** the stop reason once the run is stopping */
  readonly stopping: string | null;
  /** the current islands, in id order */
  readonly islands: readonly IslandView[];
}

/** When the run reaches a limit: the last live island at its cap or budget share, or the time limit. */
export function clusterEta(view: ClusterView, live: readonly IslandView[]): Eta | null {
  return runEta(
    live.map((m): Eta | null => {
      if (m.finished !== null) return { seconds: 0, by: m.finished };
      // an island with no report yet has no rate: the run's ETA waits for it
      if (m.report === null) return null;
      return searchEta(m.report, m.rates, {
        maxGenerations: view.maxGenerations,
        maxEvaluations: m.maxEvaluations,
      });
    }),
    { limitSeconds: view.timeLimit?.limitSeconds, elapsedSeconds: view.timeLimit?.elapsedSeconds ?? 0 },
  );
}

/** The progress block, one string per line; null while no island has reported. */
export function renderClusterProgress(view: ClusterView): string[] | null {
  const reported = view.islands.filter((m) => m.report !== null);
  if (reported.length === 0) return null;
  const reportOf = (m: IslandView) => m.report as ReportBody;
  const liveReported = reported.filter((m) => !m.lost);
  const candidates = liveReported.length > 0 ? liveReported : reported;
  const better = (a: number, b: number) => (view.fitness === "accuracy" ? a > b : a < b);
  const best = candidates.reduce((b, m) =>
    better(reportOf(m).bestFitness, reportOf(b).bestFitness) ? m : b,
  );
  const bestText =
    view.fitness === "loss"
      ? `loss ${reportOf(best).bestLoss.toFixed(5)}`
      : `acc ${reportOf(best).bestAccuracy.toFixed(4)}`;
  const live = view.islands.filter((m) => !m.lost);
  const rate = liveReported.reduce((s, m) => s + reportOf(m).evaluationsPerSecond, 0);
  const evaluations = reported.reduce((s, m) => s + reportOf(m).evaluations, 0);
  const generations = candidates.map((m) => reportOf(m).generation);
  const head =
    `[${view.elapsedSeconds.toFixed(1)}s] ${live.length}/${view.islands.length} islands  ` +
    `gen ${rangeOfLimit(generations, view.maxGenerations)}  best ${bestText} (island ${best.id})  ` +
    `evals ${ofLimit(evaluations, view.maxEvaluations)}  ${rate.toFixed(0)} evals/s  ` +
    `migrants sent ${view.migrants.sent} accepted ${view.migrants.accepted}` +
    formatEta(clusterEta(view, live)) +
    (view.stopping !== null ? `  stopping: ${view.stopping}` : "");
  return [head, ...islandLines(view)];
}

/** One line per island: id, host, generation, best, sparsity, rate and its state. */
function islandLines(view: ClusterView): string[] {
  const hostWidth = Math.min(16, Math.max(4, ...view.islands.map((m) => m.host.length)));
  const idWidth = String(Math.max(...view.islands.map((m) => m.id))).length;
  return view.islands.map((m) => {
    const r = m.report;
    const head = `  island ${String(m.id).padStart(idWidth)}  ${m.host.slice(0, hostWidth).padEnd(hostWidth)}`;
    if (r === null) return `${head}  (no report yet)`;
    const state = m.lost
      ? "LOST"
      : m.finished === "generation cap"
        ? "at cap"
        : m.finished === "evaluation budget"
          ? "at budget"
          : (r.verdict ?? "");
    return (
      `${head}  gen ${ofLimit(r.generation, view.maxGenerations, 6)}  ` +
      `${view.fitness === "loss" ? `loss ${r.bestLoss.toFixed(5)}  ` : ""}` +
      `acc ${r.bestAccuracy.toFixed(4)}  sparsity ${r.bestSparsity.toFixed(3)}  ` +
      `${r.evaluationsPerSecond.toFixed(0).padStart(7)} evals/s${state ? `  ${state}` : ""}`
    ).trimEnd();
  });
}
