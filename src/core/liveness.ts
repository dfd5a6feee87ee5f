// Silence as the listener saw it. A process that was not running (SIGSTOP, a long GC, a VM migration)
// has not read its sockets either: the peer's messages of that time wait there unread, so the wall-clock
// time since the last message read overstates the peer's silence. A watch that ticks every `everyMs`
// sees its own pauses as late ticks; the silence of a peer is the time since its last message read,
// less the pauses of this process since then. Pure: the caller passes its clock (performance.now()).

/** A span of time in which this process was not running, as [from, to] on the caller's clock. */
interface Pause {
  readonly from: number;
  readonly to: number;
}

export class PauseClock {
  readonly everyMs: number;
  /** pauses that ended longer ago than this no longer matter: any peer silent since then is long lost */
  readonly #keepMs: number;
  #last: number | null = null;
  #pauses: Pause[] = [];

  /** `everyMs`: how often the watch ticks; `timeoutMs`: the longest silence it allows */
  constructor(everyMs: number, timeoutMs: number) {
    this.everyMs = everyMs;
    this.#keepMs = 10 * timeoutMs;
  }

  /**
   * The watch ran at `now`. A tick later than due by more than half a period means this process did not
   * run in between (timer jitter is far smaller); that time is a pause. Returns the pause's length (0: none).
   */
  tick(now: number): number {
    const last = this.#last;
    this.#last = now;
    this.#pauses = this.#pauses.filter((p) => p.to > now - this.#keepMs);
    if (last === null) return 0;
    const due = last + this.everyMs;
    if (now - due <= this.everyMs / 2) return 0;
    this.#pauses.push({ from: due, to: now });
    return now - due;
  }

  /** How long this process ran, up to `now`, since it last heard from a peer at `since`. */
  silence(since: number, now: number): number {
    let s = now - since;
    for (const p of this.#pauses) if (p.to > since) s -= p.to - Math.max(p.from, since);
    return Math.max(0, s);
  }
}

/** How often a watch with this timeout ticks: a quarter of it, between 100 ms and 1 s. */
export function watchPeriodMs(timeoutMs: number): number {
  return Math.max(100, Math.min(1000, timeoutMs / 4));
}

/** How often an island tells the coordinator it is alive, and the coordinator tells its islands. */
export const HEARTBEAT_MS = 1000;
