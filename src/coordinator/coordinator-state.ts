// The coordinator's own state as one plain record: the phase, the islands that joined (indices, ids,
// hosts, listen addresses, their last report and ticket, whether they are lost), the topology with its
// repairs, the migration offsets, the launcher indices whose process ended, the restarts each island
// has used, and the stop decision once it is taken. Everything else the coordinator holds (links,
// launcher handles, timers, rate windows) is a live resource that can be made again; this record is what a run is, and the pure functions here read it.
// `coordinatorCheckpoint` turns it into the coordinator's part of a run checkpoint, and
// `restoreCoordinator` reads that part back on resume (the stop decision is never restored).
import type { JsonObject } from "../core/checkpoint.ts";
import { E_CHECKPOINT, SltError } from "../core/errors.ts";
import type { IslandSnapshotJSON } from "../core/island-snapshot.ts";
import type { EdgeReport, ReportBody, TicketBody } from "../core/protocol/index.ts";
import { type Topology as IslandTopology, validateTopology } from "../core/topology.ts";
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
  /** migrants lost at the cuts this run was resumed from (async: in flight), counted as dropped */
  droppedAtResume: number;
  /** restarts used so far, by island id (a lost island is restarted up to cluster.maxRestarts times) */
  readonly restarts: Record<number, number>;
}

export function initialState(): CoordinatorState {
  return {
    phase: "joining",
    members: [],
    topology: null,
    offsets: [],
    exited: [],
    stop: null,
    droppedAtResume: 0,
    restarts: {},
  };
}

export function newMember(hello: { index: number; host: string; pid: number; listen: string }): MemberRecord {
  return {
    ...hello,
    id: -1,
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

/** The migration counters summed over the islands' last reports (and `dropped` added to their drops). */
export function migrationTotals(members: readonly MemberRecord[], dropped = 0): MigrationTotals {
  return sumCounters(
    members.map((m) => m.lastReport?.migration),
    dropped,
  );
}

function sumCounters(counters: readonly (MigrationTotals | undefined)[], dropped: number): MigrationTotals {
  const t = { sent: 0, received: 0, accepted: 0, rejected: 0, dropped };
  for (const c of counters) {
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

/**
 * An island's counts by neighbour as the report event keeps them: entries naming an island of the run
 * (id below `islands`), each island once, so a forged report cannot make the event or the dashboard grow
 * beyond the run's size.
 */
export function edgesOfReport(edges: EdgeReport | undefined, islands: number): EdgeReport | null {
  if (!edges) return null;
  const keep = <T extends { island: number }>(list: readonly T[]): T[] => {
    const seen = new Set<number>();
    return list.filter((e) => e.island < islands && !seen.has(e.island) && seen.add(e.island));
  };
  return { out: keep(edges.out), in: keep(edges.in) };
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

// ---- the coordinator's part of a run checkpoint ----

export const COORDINATOR_CHECKPOINT_FORMAT = "slt-coordinator/1";

/**
 * What a run checkpoint holds of the coordinator: the islands with their progress at the cut, the
 * topology with its repairs, the migration offsets, the launcher indices that ended, the migration
 * totals and evaluations at the cut (from the islands' snapshots), and the migrants lost at cuts.
 */
export interface CoordinatorCheckpoint {
  readonly format: typeof COORDINATOR_CHECKPOINT_FORMAT;
  readonly members: readonly {
    readonly index: number;
    readonly id: number;
    readonly host: string;
    readonly pid: number;
    readonly listen: string;
    readonly finished: boolean;
    readonly lost: boolean;
  }[];
  readonly topology: IslandTopology | null;
  readonly offsets: readonly number[];
  readonly exited: readonly number[];
  /** the islands' migration counters at the cut, summed (dropped includes droppedAtResume) */
  readonly migrations: MigrationTotals;
  /** the islands' evaluations at the cut, summed */
  readonly evaluations: number;
  /** async: migrants sent and not received at the cut, lost on resume; lockstep: 0 (nothing in flight) */
  readonly inFlight: number;
  /** migrants lost at the cuts of earlier resumes */
  readonly droppedAtResume: number;
}

/** The coordinator's part of the checkpoint of a cut made of `snapshots`. */
export function coordinatorCheckpoint(
  state: CoordinatorState,
  snapshots: readonly IslandSnapshotJSON[],
  mode: "async" | "lockstep",
): CoordinatorCheckpoint {
  const migrations = sumCounters(
    snapshots.map((s) => s.counters),
    state.droppedAtResume,
  );
  return {
    format: COORDINATOR_CHECKPOINT_FORMAT,
    members: state.members.map((m) => ({
      index: m.index,
      id: m.id,
      host: m.host,
      pid: m.pid,
      listen: m.listen,
      finished: m.finished,
      lost: m.lost,
    })),
    topology: state.topology,
    offsets: [...state.offsets],
    exited: [...state.exited],
    migrations,
    evaluations: snapshots.reduce((s, x) => s + x.ga.evaluations, 0),
    inFlight: mode === "async" ? Math.max(0, migrations.sent - migrations.received) : 0,
    droppedAtResume: state.droppedAtResume,
  };
}

/** What a resumed coordinator takes back from a checkpoint. */
export interface RestoredCoordinator {
  /** the topology with its repairs (null: build it afresh) */
  readonly topology: IslandTopology | null;
  readonly offsets: readonly number[] | null;
  /** migrants lost at this and earlier cuts */
  readonly droppedAtResume: number;
}

/**
 * The coordinator's part of a checkpoint, checked, for a run of `islands` islands: the topology and
 * offsets only when they are for that many islands. Throws SltError(E_CHECKPOINT) naming what is wrong.
 */
export function restoreCoordinator(value: JsonObject, islands: number, where: string): RestoredCoordinator {
  const fail = (what: string): never => {
    throw new SltError(E_CHECKPOINT, `${where}: the coordinator's state: ${what}`);
  };
  if (value.format !== COORDINATOR_CHECKPOINT_FORMAT)
    fail(`format is ${JSON.stringify(value.format)}, expected "${COORDINATOR_CHECKPOINT_FORMAT}"`);
  const count = (v: unknown, name: string): number =>
    typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : fail(`${name} must be a count, got ${v}`);
  let topology: IslandTopology | null = null;
  try {
    topology = value.topology === null ? null : validateTopology(value.topology);
  } catch (e) {
    fail((e as Error).message);
  }
  const raw = Array.isArray(value.offsets) ? value.offsets : fail("offsets must be an array");
  const offsets = raw.map((o, i) => count(o, `offsets[${i}]`));
  const same = topology !== null && topology.n === islands && offsets.length === islands;
  return {
    topology: same ? topology : null,
    offsets: same ? offsets : null,
    droppedAtResume: count(value.droppedAtResume, "droppedAtResume") + count(value.inFlight, "inFlight"),
  };
}
