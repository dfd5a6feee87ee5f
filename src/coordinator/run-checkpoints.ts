// The coordinator's run checkpoints: which islands' snapshots make a cut, when a cut is written, and
// the writes themselves (io/checkpoint-store.ts writeCheckpoint: atomic, checksummed, the previous one
// kept). Islands send snapshots (`checkpoint` messages) every `checkpointEvery` generations and once
// more when they stop; the coordinator hands each one to `offer`.
//
// A cut:
// - lockstep: every live island's snapshot of the same epoch. Islands snapshot right after an epoch's
//   immigrants are integrated and before the next emigrants are made, at the same epochs
//   (island/island.ts lockstepCheckpointDue), so nothing is in flight and a resume is exact. Snapshots
//   of several epochs may be pending at once (an island can run an epoch or two ahead of one that is
//   far from it in the graph). Final snapshots (at stop) are taken wherever each island was, not at a
//   barrier: they make a cut only when every live island's is at the same epoch and generation (e.g.
//   all stopped at the generation cap); otherwise the last barrier cut stays the resume point.
// - async: every live island has sent a snapshot since the last cut (an island that finished its own
//   search and waits for `stop` counts with its latest); the cut is each one's latest. Migrants in
//   flight at the cut are not in any snapshot: they are lost on resume and counted as dropped.
//
// When: with an explicit `checkpointEvery` every cut is written as soon as no other write is under way;
// by default at most one write per `minIntervalMs` of wall clock; the final one always. Never two writes
// at once: a cut that is ready while one is being written waits for it, and a newer cut replaces one that
// waits (a checkpoint is a resume point: the newest is the one that matters), so on a slow disk or a
// loaded machine an intermediate cut can be skipped. A failed write
// (full disk, read-only directory) is logged and the run goes on; the previous checkpoint is kept.
import { basename } from "node:path";
import type { ResolvedConfig } from "../core/config.ts";
import { E_CHECKPOINT, SltError } from "../core/errors.ts";
import type { IslandSnapshotJSON } from "../core/island-snapshot.ts";
import { MAX_SNAPSHOT_BYTES, maxSnapshotBytes } from "../core/protocol/index.ts";
import type { Logger } from "../io/log.ts";

/** How often islands snapshot, how often the coordinator writes, and how large a snapshot may be. */
export interface CheckpointPlan {
  /** islands snapshot every this many generations (the assignment's checkpointEvery) */
  readonly every: number;
  /** at most one write per this many ms, the final one aside (0: every cut) */
  readonly minIntervalMs: number;
  /** bytes a `checkpoint` frame may carry beyond maxFrameBytes (codec.ts maxSnapshotBytes) */
  readonly maxSnapshotBytes: number;
}

/** By default the coordinator writes at most one checkpoint per this many seconds (the final one aside). */
export const DEFAULT_WRITE_INTERVAL_SECONDS = 120;
/** By default islands snapshot about once per this many seconds of their own work. */
export const DEFAULT_SNAPSHOT_SECONDS = 120;
/**
 * Population × genome bits × training rows an island gets through per second, about: the figure the
 * default snapshot interval is estimated from. Measured (README, "Long runs") with two local islands
 * on two shared cores: moons [2,75,2] 3e10 (20 generations/s), digits-10 [64,75,10] 1.3e10 (17/s);
 * delta evaluation and the fitness cache make it far more than a full evaluation's rate. The faster
 * figure is taken, so that a faster machine still snapshots every minute or so.
 */
export const ISLAND_WEIGHT_ROWS_PER_SECOND = 3e10;
/** The default snapshot interval's bounds, in generations. */
export const DEFAULT_EVERY_MIN = 10;
export const DEFAULT_EVERY_MAX = 100_000;

/**
 * The default `checkpointEvery`: about DEFAULT_SNAPSHOT_SECONDS of an island's work, from an estimate
 * of a generation's cost (population × genome length × training rows, at ISLAND_WEIGHT_ROWS_PER_SECOND),
 * rounded up to a whole number of migration intervals and kept within [DEFAULT_EVERY_MIN, DEFAULT_EVERY_MAX].
 */
export function defaultCheckpointEvery(
  population: number,
  genomeLength: number,
  trainRows: number,
  interval: number,
): number {
  const secondsPerGeneration = (population * genomeLength * trainRows) / ISLAND_WEIGHT_ROWS_PER_SECOND;
  const raw = DEFAULT_SNAPSHOT_SECONDS / Math.max(secondsPerGeneration, 1e-9);
  const bounded = Math.min(DEFAULT_EVERY_MAX, Math.max(DEFAULT_EVERY_MIN, raw));
  return Math.ceil(bounded / interval) * interval;
}

/**
 * The run's checkpoint plan: with `checkpointEvery` set, islands snapshot that often and every cut is
 * written; without it, the default interval and at most one write per DEFAULT_WRITE_INTERVAL_SECONDS.
 */
export function checkpointPlan(
  config: ResolvedConfig,
  genomeLength: number,
  trainRows: number,
  maxMigrants: number,
): CheckpointPlan {
  const { population } = config.ga;
  const { interval, islands } = config.cluster;
  const cap = config.termination.maxGenerations;
  // the population and, in async mode, an inbox of four migrations' worth from every other island
  const individuals = population + 4 * Math.max(1, maxMigrants) * Math.max(1, islands - 1);
  return {
    every: config.checkpointEvery ?? defaultCheckpointEvery(population, genomeLength, trainRows, interval),
    minIntervalMs: config.checkpointEvery !== undefined ? 0 : DEFAULT_WRITE_INTERVAL_SECONDS * 1000,
    // the history grows by one entry a generation: without a cap, only the protocol's bound holds
    maxSnapshotBytes: cap === null ? MAX_SNAPSHOT_BYTES : maxSnapshotBytes(genomeLength, individuals, cap),
  };
}

/** Islands' snapshots that belong together, by island id (ascending). */
export interface Cut {
  readonly epoch: number;
  /** the generation when every island is at the same one (lockstep), else null */
  readonly generation: number | null;
  readonly islands: readonly { readonly id: number; readonly snapshot: IslandSnapshotJSON }[];
  /** made of the islands' snapshots at stop */
  readonly final: boolean;
}

/** What a write gives back (io/checkpoint-store.ts WrittenCheckpoint). */
export interface Written {
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface RunCheckpointsOptions {
  readonly mode: "async" | "lockstep";
  /** at most one write per this many ms, the final one aside (0: every cut) */
  readonly minIntervalMs: number;
  /** writes the checkpoint of a cut (the envelope around it is the caller's) */
  readonly write: (cut: Cut) => Promise<Written>;
  /** the `checkpoint` event of each write, and `checkpoint-failed` */
  readonly event: (e: Record<string, unknown>) => void;
  readonly logger: Logger;
  /** ms, monotonic (default performance.now) */
  readonly clock?: () => number;
}

export function generationOf(s: IslandSnapshotJSON): number {
  return s.ga.generation;
}

export class RunCheckpoints {
  readonly #o: RunCheckpointsOptions;
  readonly #clock: () => number;
  /** lockstep: barrier snapshots by epoch, then island id */
  readonly #byEpoch = new Map<number, Map<number, IslandSnapshotJSON>>();
  /** each island's latest snapshot and whether it was its final one */
  readonly #latest = new Map<number, { snapshot: IslandSnapshotJSON; final: boolean }>();
  /** async: islands that sent a snapshot since the last cut */
  readonly #fresh = new Set<number>();
  /** the newest cut not written yet */
  #due: Cut | null = null;
  /** the epoch of the newest cut made (lockstep: an older one is never written after it) */
  #lastCutEpoch = -1;
  /** the newest cut made (written or waiting), so that the final cut is not made twice */
  #lastCut: Cut | null = null;
  #writing: Promise<void> | null = null;
  #lastWriteAt = Number.NEGATIVE_INFINITY;
  #writes = 0;

  constructor(options: RunCheckpointsOptions) {
    this.#o = options;
    this.#clock = options.clock ?? (() => performance.now());
  }

  /** checkpoints written so far */
  get writes(): number {
    return this.#writes;
  }

  /** An island's snapshot; `live` are the ids of the islands that count now. */
  offer(id: number, snapshot: IslandSnapshotJSON, final: boolean, live: LiveIslands): void {
    this.#latest.set(id, { snapshot, final });
    if (this.#o.mode === "async") this.#fresh.add(id);
    else if (!final) {
      const at = this.#byEpoch.get(snapshot.epoch) ?? new Map<number, IslandSnapshotJSON>();
      at.set(id, snapshot);
      this.#byEpoch.set(snapshot.epoch, at);
    }
    this.#cutIfComplete(live);
  }

  /** The live islands changed (one was lost): a cut may be complete without it. */
  liveChanged(live: LiveIslands): void {
    this.#cutIfComplete(live);
  }

  /** At the run's end: the final cut if there is one, else the newest not written; then waits for the writes. */
  async finish(live: LiveIslands): Promise<void> {
    this.#cutIfComplete(live);
    const final = this.#finalCut(live.ids);
    if (final !== null && !sameSnapshots(final, this.#lastCut)) this.#due = final;
    while (this.#writing !== null) await this.#writing;
    if (this.#due !== null) this.#startWrite();
    while (this.#writing !== null) await this.#writing;
  }

  // ---- cuts ----

  #cutIfComplete(live: LiveIslands): void {
    const cut = this.#o.mode === "lockstep" ? this.#lockstepCut(live.ids) : this.#asyncCut(live);
    if (cut === null) return;
    this.#due = cut;
    this.#lastCut = cut;
    this.#lastCutEpoch = cut.epoch;
    this.#maybeWrite();
  }

  /** The newest epoch at which every live island has a barrier snapshot; older pending epochs go. */
  #lockstepCut(live: readonly number[]): Cut | null {
    if (live.length === 0) return null;
    const complete = [...this.#byEpoch.keys()]
      .filter((e) => e > this.#lastCutEpoch && live.every((id) => this.#byEpoch.get(e)?.has(id)))
      .sort((a, b) => b - a);
    if (complete.length === 0) return null;
    const epoch = complete[0];
    const at = this.#byEpoch.get(epoch) as Map<number, IslandSnapshotJSON>;
    for (const e of [...this.#byEpoch.keys()]) if (e <= epoch) this.#byEpoch.delete(e);
    const islands = live.map((id) => ({ id, snapshot: at.get(id) as IslandSnapshotJSON }));
    return { epoch, generation: commonGeneration(islands), islands, final: false };
  }

  #asyncCut(live: LiveIslands): Cut | null {
    if (live.ids.length === 0) return null;
    const ready = (id: number) => this.#latest.has(id) && (this.#fresh.has(id) || live.finished.includes(id));
    // a cut holds at least one snapshot newer than the last cut's
    if (this.#fresh.size === 0 || !live.ids.every(ready)) return null;
    this.#fresh.clear();
    return this.#cutOfLatest(live.ids);
  }

  #cutOfLatest(ids: readonly number[]): Cut {
    const islands = ids.map((id) => ({ id, snapshot: this.#latest.get(id)?.snapshot as IslandSnapshotJSON }));
    return {
      epoch: Math.max(...islands.map((i) => i.snapshot.epoch)),
      generation: commonGeneration(islands),
      islands,
      final: ids.every((id) => this.#latest.get(id)?.final === true),
    };
  }

  /**
   * The cut of the islands' snapshots at stop: async, every live island's latest (when each has one);
   * lockstep, only when every live island's final snapshot is at the same epoch and generation.
   */
  #finalCut(live: readonly number[]): Cut | null {
    if (live.length === 0 || !live.every((id) => this.#latest.has(id))) return null;
    const cut = this.#cutOfLatest(live);
    if (this.#o.mode === "async") return cut;
    const sameEpoch = cut.islands.every((i) => i.snapshot.epoch === cut.epoch);
    // islands that stopped right at the last barrier cut add nothing to it
    const last = this.#lastCut;
    const atLastCut = last !== null && last.epoch === cut.epoch && last.generation === cut.generation;
    return cut.final && sameEpoch && cut.generation !== null && cut.epoch >= this.#lastCutEpoch && !atLastCut
      ? cut
      : null;
  }

  // ---- writes ----

  #maybeWrite(): void {
    const due = this.#due;
    if (due === null || this.#writing !== null) return;
    if (!due.final && this.#clock() - this.#lastWriteAt < this.#o.minIntervalMs) return;
    this.#startWrite();
  }

  #startWrite(): void {
    const cut = this.#due as Cut;
    this.#due = null;
    this.#lastWriteAt = this.#clock();
    this.#writing = this.#write(cut).finally(() => {
      this.#writing = null;
      this.#maybeWrite(); // a cut that came during the write
    });
  }

  async #write(cut: Cut): Promise<void> {
    const t0 = this.#clock();
    const generations = cut.islands.map((i) => generationOf(i.snapshot));
    const where = { epoch: cut.epoch, generations: [Math.min(...generations), Math.max(...generations)] };
    try {
      const w = await this.#o.write(cut);
      this.#writes++;
      this.#o.event({
        type: "checkpoint",
        ...where,
        islands: cut.islands.length,
        final: cut.final,
        file: basename(w.file),
        bytes: w.bytes,
        sha256: w.sha256,
        seconds: Math.round(this.#clock() - t0) / 1000,
      });
    } catch (e) {
      // E_CHECKPOINT: the disk refused (full, read-only, quota); anything else is a bug, still not a
      // reason to end a run whose islands go on fine
      const reason = e instanceof SltError && e.code === E_CHECKPOINT ? e.message : String(e);
      this.#o.logger.warn({ ...where, reason }, "checkpoint not written; the previous one is kept");
      this.#o.event({ type: "checkpoint-failed", ...where, reason });
    }
  }
}

/** The islands that count now: their ids (ascending) and those that finished their own search. */
export interface LiveIslands {
  readonly ids: readonly number[];
  readonly finished: readonly number[];
}

function sameSnapshots(a: Cut, b: Cut | null): boolean {
  return (
    b !== null &&
    a.islands.length === b.islands.length &&
    a.islands.every((x, i) => x.id === b.islands[i].id && x.snapshot === b.islands[i].snapshot)
  );
}

function commonGeneration(islands: Cut["islands"]): number | null {
  const g = generationOf(islands[0].snapshot);
  return islands.every((i) => generationOf(i.snapshot) === g) ? g : null;
}
