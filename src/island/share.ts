// Which emigrants travel along each of an island's out-edges, for either kind of edge weight
// (core/topology.ts): a count weight w carries the first w·k, a probability weight p carries each of
// the first k with probability p (core/migration.ts emigrantsPerEdge). The wire carries only the
// weight; the kind follows from the run's configuration.
import type { Individual } from "../core/ga/index.ts";
import { emigrantsPerEdge } from "../core/migration.ts";
import type { OutNeighbour } from "../core/protocol/index.ts";
import { Rng } from "../core/rng.ts";
import type { WeightKind } from "../core/topology.ts";

export interface ShareSettings {
  readonly weights: WeightKind;
  /** migrants per out-edge and migration */
  readonly k: number;
  /** the most migrants one message may carry */
  readonly maxPerMessage: number;
  /** the island's seed stream (probability draws derive from it) */
  readonly seedStream: string;
  readonly island: number;
}

/** How many emigrants to select so that every out-edge can be served. */
export function emigrantsToSelect(outs: readonly OutNeighbour[], s: ShareSettings): number {
  if (outs.length === 0 || s.k === 0) return 0;
  const per = (n: OutNeighbour) => (s.weights === "count" ? Math.round(n.weight) * s.k : s.k);
  return Math.min(s.maxPerMessage, Math.max(...outs.map(per)));
}

/**
 * The emigrants for one out-edge in one epoch. Probability draws come from a stream of (island,
 * epoch, neighbour), so a lockstep resend after a topology repair picks the same ones and the result
 * does not depend on timing.
 */
export function shareForEdge(
  n: OutNeighbour,
  emigrants: readonly Individual[],
  epoch: number,
  s: ShareSettings,
): Individual[] {
  const available = Math.min(emigrants.length, s.maxPerMessage);
  const edge = {
    from: s.island,
    to: n.island,
    weight: s.weights === "count" ? Math.round(n.weight) : n.weight,
  };
  const rng = Rng.derive(s.seedStream, "edge", epoch, n.island);
  return emigrantsPerEdge(edge, s.weights, s.k, rng, available).map((i) => emigrants[i]);
}
