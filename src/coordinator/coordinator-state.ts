// The coordinator's own state as one plain record: the phase, the islands that joined (indices, ids,
// hosts, listen addresses, their last report and ticket, whether they are lost), the topology with its
// repairs, the migration offsets, the launcher indices whose process ended, the restarts each island
// has used, and the stop decision once it is taken. Everything else the coordinator holds (links, launcher handles, timers, rate windows) is a
// live resource that can be made again; this record is what a run is, and the pure functions here read it.
import type { ReportBody, TicketBody } from "../core/protocol/index.ts";
import type { Topology as IslandTopology } from "../core/topology.ts";
import type { IslandStopView, PolicyStopReason, StopDecision } from "./decide-stop.ts";

/** joining → running → stopping → done; any phase → done when the run fails or is shut down. */
export type Phase = "joining" | "running" | "stopping" | "done";

/**
 * Why the coordinator stopped the run: an island reached the target (100% training accuracy under
 * the 2025-binary rule), every live island reported a plateau of its rule (or sits at the cap), every
 * live island reached the generation cap, the wall-clock limit passed, Ctrl-C, or no island was left.
 */
export type ClusterStopReason = PolicyStopReason | "wall-clock" | "interrupted";

/** One island that joined. */
export interface MemberRecord {
  /** the launcher's index */
  readonly index: number;
  readonly host: string;
  readonly pid: number;
  /** its peer server's address */
  readonly listen: string;
  /** its island id from the assignment on; −1 while joining */
  id: number;
  /** the epoch of its last report */
  epoch: number;
  lastReport: ReportBody | null;
  ticket: TicketBody | null;
  /** the island ended its own search and sent a ticket */
  finished: boolean;
  /** a ticket arrived after `stop` */
  stopTicket: boolean;
  closed: boolean;
  lost: boolean;
}

export interface CoordinatorState {
  phase: Phase;
  /** every island that joined, in join order */
  readonly members: MemberRecord[];
  /** the island graph from the assignment on, with every repair */
  topology: IslandTopology | null;
  /** each island id's migration offset */
  offsets: number[];
  /** launcher indices whose process has ended */
  readonly exited: number[];
  /** why the run stops, once decided */
  stop: StopDecision<ClusterStopReason> | null;
  /** restarts used so far, by island id (a lost island is restarted up to cluster.maxRestarts times) */
  readonly restarts: Record<number, number>;
}

export function initialState(): CoordinatorState {
  return { phase: "joining", members: [], topology: null, offsets: [], exited: [], stop: null, restarts: {} };
}

export function newMember(hello: { index: number; host: string; pid: number; listen: string }): MemberRecord {
  return {
    ...hello,
    id: -1,
    epoch: 0,
    lastReport: null,
    ticket: null,
    finished: false,
    stopTicket: false,
    closed: false,
    lost: false,
  };
}

export interface MigrationTotals {
  sent: number;
  received: number;
  accepted: number;
  rejected: number;
  dropped: number;
}

/** The migration counters summed over the islands' last reports. */
export function migrationTotals(members: readonly MemberRecord[]): MigrationTotals {
  const t = { sent: 0, received: 0, accepted: 0, rejected: 0, dropped: 0 };
  for (const m of members) {
    const c = m.lastReport?.migration;
    if (!c) continue;
    t.sent += c.sent;
    t.received += c.received;
    t.accepted += c.accepted;
    t.rejected += c.rejected;
    t.dropped += c.dropped;
  }
  return t;
}

/** What a report's migration counters add to the previous report's. */
export function migrationDelta(now: MigrationTotals, before: MigrationTotals | undefined): MigrationTotals {
  return {
    sent: now.sent - (before?.sent ?? 0),
    received: now.received - (before?.received ?? 0),
    accepted: now.accepted - (before?.accepted ?? 0),
    rejected: now.rejected - (before?.rejected ?? 0),
    dropped: now.dropped - (before?.dropped ?? 0),
  };
}

/** An island as the termination policy sees it. */
export function stopViewOf(m: MemberRecord): IslandStopView {
  return {
    id: m.id,
    lost: m.lost,
    finished: m.finished,
    ticketGeneration: m.ticket?.generation ?? null,
    generation: m.lastReport?.generation ?? null,
    verdict: m.lastReport?.verdict ?? null,
    bestAccuracy: m.lastReport?.bestAccuracy ?? null,
  };
}

/** The most generations and the evaluations an island ran, from its ticket or its last report. */
export function progressOf(m: MemberRecord): { generations: number; evaluations: number } {
  return {
    generations: Math.max(m.ticket?.generation ?? 0, m.lastReport?.generation ?? 0),
    evaluations: Math.max(m.ticket?.evaluations ?? 0, m.lastReport?.evaluations ?? 0),
  };
}
