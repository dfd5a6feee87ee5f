// Lockstep synchrony: at epoch e an island integrates exactly the epoch-e emigrants of every
// in-neighbour, concatenated in neighbour-id order, whatever order they arrived in; so a run's result
// does not depend on timing. Arrivals for later epochs are kept until their epoch; arrivals for an epoch
// already integrated, or from a sender that is not an island, are rejected, and so is a batch of a
// sender that is not an in-neighbour when its epoch is integrated (kept until then: a repair may make it
// one after its first batch arrived). After a topology repair the
// island resends its last few epochs to a new out-neighbour, which may be waiting at a barrier for
// emigrants that went to the lost island (it ignores those it has integrated already; neighbours are at
// most one epoch apart, so a few suffice). release() (stop, coordinator lost) ends any wait at once.
//
// A restarted island (its process lost, started again from its latest snapshot or afresh) is behind
// its in-neighbours, which have made and sent the epochs it needs long ago and keep only their last
// RESEND_EPOCHS; they resend those when they get its new address. The rule: an in-neighbour that has
// sent an epoch RESEND_EPOCHS or more past the one waited for will never send that one (its resends
// cover only its last RESEND_EPOCHS, and batches on one connection arrive in epoch order; a smaller gap
// can be a reconnect's reordering, which is waited out), so the barrier does not wait for it; the
// restarted island runs those epochs with the immigrants it has and meets its neighbours again at the
// epochs they resent. No wait can outlast the
// neighbours' progress, so a restart never deadlocks a run; it only makes the restarted island's
// catch-up epochs differ from the uninterrupted run's (its ticket is valid, not bit-for-bit the same).
import type { Individual } from "../core/ga/index.ts";
import type { OutEdge } from "../core/migration.ts";
import { Latch } from "./latch.ts";
import type { Emission, Synchrony, SynchronyOptions } from "./synchrony.ts";

/** Epochs of own emigrants kept for resends after a repair. */
export const RESEND_EPOCHS = 3;

export interface LockstepSynchronyOptions extends SynchronyOptions {
  /** false when nobody sends (k = 0): collect never waits */
  readonly expectMigrants: boolean;
  /** the last epoch already integrated (a resumed island: its snapshot's epoch) */
  readonly integratedEpoch?: number;
}

export class LockstepSynchrony implements Synchrony {
  readonly #o: LockstepSynchronyOptions;
  #inNeighbours: readonly number[];
  /** arrivals by epoch, then by sender id */
  readonly #byEpoch = new Map<number, Map<number, Individual[]>>();
  readonly #recent: { epoch: number; emission: Emission }[] = [];
  #integratedEpoch: number;
  /** the latest epoch each sender has sent (barriers do not wait for an epoch a sender is past) */
  readonly #latest = new Map<number, number>();
  #released = false;
  /** the wait of a collect in progress, opened by every arrival, rewire and release */
  #wake: Latch | null = null;

  constructor(options: LockstepSynchronyOptions) {
    this.#o = options;
    this.#inNeighbours = [...options.inNeighbours];
    this.#integratedEpoch = options.integratedEpoch ?? 0;
  }

  emit(epoch: number, emission: Emission): void {
    for (const [n, migrants] of emission.byNeighbour) this.#o.send(n, epoch, migrants);
    this.#recent.push({ epoch, emission });
    if (this.#recent.length > RESEND_EPOCHS) this.#recent.shift();
  }

  async collect(epoch: number): Promise<Individual[]> {
    while (this.#o.expectMigrants && !this.#ready(epoch)) {
      this.#wake = new Latch();
      await this.#wake.promise;
    }
    this.#wake = null;
    const got = this.#byEpoch.get(epoch) ?? new Map<number, Individual[]>();
    this.#byEpoch.delete(epoch);
    this.#integratedEpoch = epoch;
    // a batch from a peer that is not an in-neighbour is never integrated
    for (const [n, batch] of got)
      if (!this.#inNeighbours.includes(n)) this.#o.counters.rejected += batch.length;
    return [...this.#inNeighbours].sort((x, y) => x - y).flatMap((n) => got.get(n) ?? []);
  }

  arrive(from: number | null, epoch: number, migrants: readonly Individual[]): void {
    this.#o.counters.received += migrants.length;
    if (from !== null) this.#latest.set(from, Math.max(epoch, this.#latest.get(from) ?? 0));
    if (from === null || epoch <= this.#integratedEpoch) {
      this.#o.counters.rejected += migrants.length; // not an island, or an epoch already integrated
      return;
    }
    const epochMap = this.#byEpoch.get(epoch) ?? new Map<number, Individual[]>();
    this.#byEpoch.set(epoch, epochMap);
    epochMap.set(from, [...(epochMap.get(from) ?? []), ...migrants]);
    this.#wake?.open();
  }

  rewire(inNeighbours: readonly number[]): void {
    this.#inNeighbours = [...inNeighbours];
    this.#wake?.open();
  }

  resend(edge: OutEdge): void {
    for (const r of this.#recent) this.#o.send(edge.island, r.epoch, r.emission.forEdge(edge));
  }

  release(): void {
    this.#released = true;
    this.#wake?.open();
  }

  // a lockstep snapshot is taken right after an epoch is integrated: arrivals for later epochs are
  // left out, their senders send them again when they resume from their own snapshots
  waiting(): Individual[] {
    return [];
  }

  heldForLater(): number {
    let held = 0;
    for (const bySender of this.#byEpoch.values())
      for (const batch of bySender.values()) held += batch.length;
    return held;
  }

  #ready(epoch: number): boolean {
    return (
      this.#released ||
      this.#inNeighbours.every(
        (n) => this.#byEpoch.get(epoch)?.has(n) || (this.#latest.get(n) ?? 0) >= epoch + RESEND_EPOCHS,
      )
    );
  }
}
