// What the dashboard keeps of a run's events for a browser that connects late, in bounded memory: the
// series events (island reports, one population's generations, migration counts), which grow with the
// run, are thinned by halving the older ones (every other one dropped) when there are more than
// `maxSeries`, the newest `keepRecent` always kept whole; every other event (start, topology, lost,
// restarted, tickets, end ...) is kept up to `maxOther`, and later ones beyond that only go out live.
// Each event has a sequence number, so that a reconnecting browser gets only what it has not seen.

/** Events whose count grows with the run's length. */
const SERIES_TYPES: ReadonlySet<string> = new Set(["report", "generation", "migration"]);

export interface Sequenced {
  readonly seq: number;
  readonly event: Record<string, unknown>;
}

export interface ReplayLimits {
  readonly maxSeries: number;
  readonly keepRecent: number;
  readonly maxOther: number;
}

export const REPLAY_LIMITS: ReplayLimits = { maxSeries: 6000, keepRecent: 500, maxOther: 5000 };

export class ReplayBuffer {
  readonly #limits: ReplayLimits;
  #kept: Sequenced[] = [];
  #series = 0;
  #other = 0;
  #seq = 0;

  constructor(limits: ReplayLimits = REPLAY_LIMITS) {
    this.#limits = limits;
  }

  /** Keeps the event (or not, see above) and returns it with its sequence number. */
  add(event: Record<string, unknown>): Sequenced {
    const entry = { seq: ++this.#seq, event };
    if (SERIES_TYPES.has(String(event.type))) {
      this.#kept.push(entry);
      if (++this.#series > this.#limits.maxSeries) this.#thin();
    } else if (this.#other < this.#limits.maxOther) {
      this.#kept.push(entry);
      this.#other++;
    }
    return entry;
  }

  /** The kept events after sequence number `after`, oldest first. */
  since(after: number): Sequenced[] {
    return after <= 0 ? [...this.#kept] : this.#kept.filter((e) => e.seq > after);
  }

  get size(): number {
    return this.#kept.length;
  }

  /** Every other older series event dropped; the newest `keepRecent` series events stay. */
  #thin(): void {
    let seen = 0;
    const cut = this.#series - this.#limits.keepRecent;
    this.#kept = this.#kept.filter((e) => {
      if (!SERIES_TYPES.has(String(e.event.type))) return true;
      seen++;
      return seen > cut || seen % 2 === 0;
    });
    this.#series = this.#kept.filter((e) => SERIES_TYPES.has(String(e.event.type))).length;
  }
}
