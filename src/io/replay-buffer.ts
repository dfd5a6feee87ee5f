// What the dashboard keeps of a run's events for a browser that connects late, in bounded memory. The
// series events (island reports, one population's generations, migration counts), which grow with the
// run: the newest `keepRecent` whole, older ones thinned evenly per series (per island): an archive that,
// when it passes its size, drops every other entry of each series and from then on keeps only every
// 2^k-th, so a long run's curve stays whole at a coarser step. Every other event (start, topology, lost,
// restarted, tickets, end ...) is kept up to `maxOther`; later ones only go out live. Each event has a
// sequence number, so that a reconnecting browser gets only what it has not seen.

/** Events whose count grows with the run's length. */
const SERIES_TYPES: ReadonlySet<string> = new Set(["report", "generation", "migration"]);

export interface Sequenced {
  readonly seq: number;
  readonly event: Record<string, unknown>;
}

export interface ReplayLimits {
  /** series events kept in all (recent and archive) */
  readonly maxSeries: number;
  readonly keepRecent: number;
  readonly maxOther: number;
}

export const REPLAY_LIMITS: ReplayLimits = { maxSeries: 6000, keepRecent: 500, maxOther: 5000 };

/** The series an event belongs to: its type and island (one population: its type). */
const seriesOf = (e: Sequenced): string => `${String(e.event.type)}/${String(e.event.island ?? "")}`;

export class ReplayBuffer {
  readonly #limits: ReplayLimits;
  readonly #other: Sequenced[] = [];
  #recent: Sequenced[] = [];
  #archive: Sequenced[] = [];
  /** an old series event enters the archive when its index in its series is a multiple of this */
  #stride = 1;
  readonly #indexOf = new Map<string, number>();
  #seq = 0;

  constructor(limits: ReplayLimits = REPLAY_LIMITS) {
    this.#limits = limits;
  }

  /** Keeps the event (or not, see above) and returns it with its sequence number. */
  add(event: Record<string, unknown>): Sequenced {
    const entry = { seq: ++this.#seq, event };
    if (SERIES_TYPES.has(String(event.type))) {
      this.#recent.push(entry);
      if (this.#recent.length > this.#limits.keepRecent) this.#toArchive(this.#recent.shift() as Sequenced);
    } else if (this.#other.length < this.#limits.maxOther) this.#other.push(entry);
    return entry;
  }

  /** The kept events after sequence number `after`, oldest first. */
  since(after: number): Sequenced[] {
    return [...this.#other, ...this.#archive, ...this.#recent]
      .filter((e) => e.seq > after)
      .sort((a, b) => a.seq - b.seq);
  }

  get size(): number {
    return this.#other.length + this.#archive.length + this.#recent.length;
  }

  #toArchive(e: Sequenced): void {
    const key = seriesOf(e);
    const index = this.#indexOf.get(key) ?? 0;
    this.#indexOf.set(key, index + 1);
    if (index % this.#stride !== 0) return;
    this.#archive.push(e);
    if (this.#archive.length <= this.#limits.maxSeries - this.#limits.keepRecent) return;
    this.#stride *= 2;
    // every other entry of each series goes: what stays are the indices that are multiples of the stride
    const seen = new Map<string, number>();
    this.#archive = this.#archive.filter((a) => {
      const k = seriesOf(a);
      const n = seen.get(k) ?? 0;
      seen.set(k, n + 1);
      return n % 2 === 0;
    });
  }
}
