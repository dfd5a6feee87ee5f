// Per-edge migration counts of one island, for the dashboard's topology graph: migrants written to each
// out-neighbour, and migrants of each in-neighbour accepted or rejected when an epoch is integrated.
// The island's totals (Evolution.counters) stay the authority; these only split them by neighbour.
// Counts start at 0 when the island's process starts (a resumed or restarted island starts again);
// an arrival's sender is remembered by object (a WeakMap), so nothing outlives the arrival itself.
import type { Individual } from "../core/ga/index.ts";
import { maskHash } from "../core/mask.ts";
import type { EdgeReport } from "../core/protocol/index.ts";

export class EdgeCounters {
  readonly #sent = new Map<number, number>();
  readonly #accepted = new Map<number, number>();
  readonly #rejected = new Map<number, number>();
  readonly #source = new WeakMap<Individual, number>();

  /** `count` migrants written to out-neighbour `to`. */
  sent(to: number, count: number): void {
    add(this.#sent, to, count);
  }

  /** Arrivals from in-neighbour `from` (their sender is checked before this is called). */
  arrived(from: number, arrivals: readonly Individual[]): void {
    for (const a of arrivals) this.#source.set(a, from);
  }

  /** An epoch integrated: each arrival whose mask entered the population is accepted, the rest rejected. */
  integrated(arrivals: readonly Individual[], acceptedHashes: ReadonlySet<string>): void {
    const left = new Set(acceptedHashes);
    for (const a of arrivals) {
      const from = this.#source.get(a);
      if (from === undefined) continue; // waiting in a snapshot this island resumed from: sender unknown
      const hash = maskHash(a.mask);
      add(left.delete(hash) ? this.#accepted : this.#rejected, from, 1);
    }
  }

  /** The counts of the current neighbours only: bounded by the island's degree. */
  report(outs: readonly number[], ins: readonly number[]): EdgeReport {
    return {
      out: outs.map((to) => ({ island: to, sent: this.#sent.get(to) ?? 0 })),
      in: ins.map((from) => ({
        island: from,
        accepted: this.#accepted.get(from) ?? 0,
        rejected: this.#rejected.get(from) ?? 0,
      })),
    };
  }
}

function add(map: Map<number, number>, key: number, count: number): void {
  map.set(key, (map.get(key) ?? 0) + count);
}
