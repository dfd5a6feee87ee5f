// The island cluster's termination policy, as a pure function of what the coordinator knows about its
// islands. An island stops by itself only at the generation cap or its share of the evaluation budget (it
// then sends its ticket and waits); its own rule's verdict (plateau, perfect accuracy) comes in its
// reports while it goes on evolving and migrating, and the coordinator decides here, after every change.
// Lost islands do not count. The wall-clock limit and interrupts are not decided here: they are a timer
// and a signal of the coordinator's.
import type { ResolvedConfig } from "../core/config.ts";
import { finishedBy } from "./cluster-progress.ts";

/** The reasons decided from the islands' state (the coordinator adds "wall-clock" and "interrupted"). */
export type PolicyStopReason =
  | "target"
  | "all-plateaued"
  | "max-generations"
  | "max-evaluations"
  | "all-lost";

export interface StopDecision<R extends string = PolicyStopReason> {
  readonly reason: R;
  /** what the decision rests on, for the `termination` event and the progress line */
  readonly detail: string;
}

/** One island as the policy sees it. */
export interface IslandStopView {
  readonly id: number;
  readonly lost: boolean;
  /** the island ended its own search and sent its ticket */
  readonly finished: boolean;
  /** the generation of its ticket, once it sent one */
  readonly ticketGeneration: number | null;
  /** its last report's generation, verdict and best training accuracy (null before its first report) */
  readonly generation: number | null;
  readonly verdict: string | null;
  readonly bestAccuracy: number | null;
}

/** The settings the policy reads (a ResolvedConfig has them). */
export interface StopConfig {
  readonly cluster: Pick<ResolvedConfig["cluster"], "mode">;
  readonly termination: Pick<ResolvedConfig["termination"], "rule" | "maxGenerations" | "maxEvaluations">;
}

/** Reached the target: 100% training accuracy under the 2025-binary rule, or its own rule's verdict. */
function reachedTarget(m: IslandStopView, config: StopConfig): boolean {
  return (
    m.verdict === "perfect-accuracy" || (config.termination.rule === "2025-binary" && m.bestAccuracy === 1)
  );
}

/**
 * Why the run should stop now, or null to go on. Lockstep runs go to the cap: a stop at whatever
 * generation each island has reached by then would depend on timing, so target and plateau never stop them.
 */
export function decideStop(islands: readonly IslandStopView[], config: StopConfig): StopDecision | null {
  const live = islands.filter((m) => !m.lost).sort((a, b) => a.id - b.id);
  if (live.length === 0) return { reason: "all-lost", detail: "no island is left" };
  const async = config.cluster.mode === "async";
  const { rule, maxGenerations: cap, maxEvaluations: budget } = config.termination;
  const target = async ? live.find((m) => reachedTarget(m, config)) : undefined;
  if (target !== undefined)
    return {
      reason: "target",
      detail: `island ${target.id} reached 100% training accuracy at generation ${target.generation}`,
    };
  if (live.every((m) => m.finished)) {
    // an island below the generation cap stopped at its share of the evaluation budget (without a cap,
    // only the budget can have finished them)
    if (budget !== undefined && (cap === null || live.some((m) => (m.ticketGeneration ?? cap) < cap)))
      return {
        reason: "max-evaluations",
        detail: `every live island spent its share of the budget of ${budget} evaluations`,
      };
    return { reason: "max-generations", detail: `every live island reached the cap of ${cap} generations` };
  }
  if (async && live.every((m) => m.finished || m.verdict === "plateau")) {
    const running = live.filter((m) => !m.finished).map((m) => m.id);
    const done = live
      .filter((m) => m.finished)
      .map((m) => `${m.id} (${finishedBy(m.ticketGeneration ?? 0, cap)})`);
    return {
      reason: "all-plateaued",
      detail:
        `islands ${running.join(", ")} report a plateau (rule ${rule})` +
        (done.length > 0 ? `; islands ${done.join(", ")} are done` : ""),
    };
  }
  return null;
}

/**
 * Whether a report can be what completes a stop decision, given that the policy found none before it:
 * the coordinator asks after every change, so a report, which changes only its own island's generation,
 * verdict and best accuracy (from `before` to `after`), can complete only a rule that needs this island
 * to change: the target (it reaches it) or every island plateaued (it reports a plateau it did not
 * report before). `finished` and `lost` change with tickets and losses, which the coordinator checks in
 * full. This lets the coordinator skip the whole policy, O(islands), on almost every report: O(islands²)
 * per migration epoch otherwise, also while most islands sit at a plateau waiting for the rest.
 */
export function reportMayStop(before: IslandStopView, after: IslandStopView, config: StopConfig): boolean {
  return (
    config.cluster.mode === "async" &&
    (reachedTarget(after, config) || (after.verdict === "plateau" && before.verdict !== "plateau"))
  );
}
