// Synchrony behind one port (docs/architecture.md, "Synchrony"): how an island's emigrants leave and
// which immigrants it integrates at each migration. The island only calls emit(epoch, ...) then
// collect(epoch); the peer server calls arrive(...) for every migrants message; repairs and stops go
// through rewire/resend/release. Two implementations, each in its own file: AsyncSynchrony (an inbox in
// arrival order, bounded; never waits) and LockstepSynchrony (waits for exactly the epoch's emigrants of
// every in-neighbour, in neighbour-id order).
import type { Individual } from "../core/ga/index.ts";
import type { MigrationCounters } from "../core/island-snapshot.ts";
import type { OutEdge } from "../core/migration.ts";

/** One epoch's emigrants: by out-neighbour, and for an out-edge that appears later (a repair). */
export interface Emission {
  readonly byNeighbour: ReadonlyMap<number, readonly Individual[]>;
  /** the share an out-edge gets of this epoch's emigrants (the same as byNeighbour for a known edge) */
  readonly forEdge: (edge: OutEdge) => Individual[];
}

/** Hands one batch to the sender of one out-neighbour (never blocks; PeerSender.enqueue). */
export type SendBatch = (neighbour: number, epoch: number, migrants: readonly Individual[]) => void;

export interface Synchrony {
  /** Sends this epoch's emigrants to the out-neighbours. */
  emit(epoch: number, emission: Emission): void;
  /** The immigrants to integrate at this epoch (lockstep: once they are all there, or on release). */
  collect(epoch: number): Promise<Individual[]>;
  /**
   * A migrants message arrived: `from` is the sender's island id (null when its name is not an
   * island's), `epoch` the envelope's.
   */
  arrive(from: number | null, epoch: number, migrants: readonly Individual[]): void;
  /** The coordinator repaired the topology: these are now the in-neighbours. */
  rewire(inNeighbours: readonly number[]): void;
  /** A sender to `edge` was (re)created: send it what it may still be waiting for. */
  resend(edge: OutEdge): void;
  /** Stop or coordinator lost: a wait in collect returns at once with what has arrived. */
  release(): void;
  /** Immigrants that arrived and are not yet integrated, for a snapshot (lockstep: none). */
  waiting(): Individual[];
  /**
   * Migrants counted as received that a snapshot leaves out (lockstep: those held for later epochs,
   * which their senders send again on resume; async: none, its waiting immigrants are in the snapshot)
   */
  heldForLater(): number;
}

export interface SynchronyOptions {
  readonly send: SendBatch;
  /** received and rejected are counted here */
  readonly counters: MigrationCounters;
  readonly inNeighbours: readonly number[];
}
