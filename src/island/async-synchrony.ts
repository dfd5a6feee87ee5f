// Async synchrony: emigrants go out at once and immigrants are integrated at the next migration in
// arrival order, whatever their epoch. The inbox is bounded: beyond `capacity` the oldest arrival is
// dropped (counted as rejected), so a fast neighbour cannot grow a slow island's memory.
import type { Individual } from "../core/ga/index.ts";
import type { OutEdge } from "../core/migration.ts";
import type { Emission, Synchrony, SynchronyOptions } from "./synchrony.ts";

export interface AsyncSynchronyOptions extends SynchronyOptions {
  /** the most immigrants waiting at once */
  readonly capacity: number;
  /** immigrants that were waiting when the snapshot this island resumes from was taken */
  readonly waiting?: readonly Individual[];
}

/** The inbox capacity of an island: four migrations' worth from every in-neighbour. */
export function inboxCapacity(maxMigrants: number, inNeighbours: number): number {
  return Math.max(1, maxMigrants) * Math.max(1, inNeighbours) * 4;
}

export class AsyncSynchrony implements Synchrony {
  readonly #o: AsyncSynchronyOptions;
  #inbox: Individual[];

  constructor(options: AsyncSynchronyOptions) {
    this.#o = options;
    this.#inbox = [...(options.waiting ?? [])];
  }

  emit(epoch: number, emission: Emission): void {
    for (const [n, migrants] of emission.byNeighbour) this.#o.send(n, epoch, migrants);
  }

  collect(_epoch: number): Promise<Individual[]> {
    return Promise.resolve(this.#inbox.splice(0, this.#inbox.length));
  }

  arrive(_from: number | null, _epoch: number, migrants: readonly Individual[]): void {
    this.#o.counters.received += migrants.length;
    this.#inbox.push(...migrants);
    while (this.#inbox.length > this.#o.capacity) {
      this.#inbox.shift();
      this.#o.counters.rejected++;
    }
  }

  rewire(_inNeighbours: readonly number[]): void {}

  // async never resends: a lost batch is a lost batch, as with any async migration
  resend(_edge: OutEdge): void {}

  release(): void {}

  waiting(): Individual[] {
    return [...this.#inbox];
  }

  heldForLater(): number {
    return 0;
  }
}
