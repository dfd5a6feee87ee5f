// An island's records go to its coordinator as `log` messages, so that they land in the run's
// log.jsonl with the island's id (coordinator/island-log.ts), instead of as scraped stderr text.
// LinkLogDestination is a pino destination: the island's logger hands it every record as a JSON line.
// - Before the coordinator link is open (and after it is gone) records are written to stderr as
//   readable lines: a launcher still relays those (launcher-local.ts), and a person running
//   `slt island` by hand reads them.
// - While it is open, each record is sent over it. Logging never blocks evolution: at most
//   MAX_IN_FLIGHT records wait for the socket, at most `maxQueued` more wait here (the oldest are
//   dropped beyond that), debug and trace records are rate-limited, and whatever was dropped is
//   counted in one warning record sent when there is room again.
import type { DestinationStream } from "pino";
import { type LogBody, logBodyFromRecord } from "../core/protocol/index.ts";
import type { Link } from "../io/link.ts";
import { createLogger, type Logger, type LogLevel, readableLine, redactSecret } from "../io/log.ts";

/** What the destination needs of the coordinator link (a fake in tests). */
export type LogLink = Pick<Link, "state" | "send">;

/** Records handed to the socket whose write has not completed, at most. */
export const MAX_IN_FLIGHT = 16;

export interface LinkLogOptions {
  /** where records go while no link is open (default: readable lines on stderr) */
  readonly fallback?: (jsonLine: string) => void;
  /** records waiting for room on the link, at most (default 256) */
  readonly maxQueued?: number;
  /** debug and trace records per second, at most (default 50, bursts as large) */
  readonly debugPerSecond?: number;
  /** milliseconds, for the rate limit (default performance.now) */
  readonly clock?: () => number;
}

interface Queued {
  readonly line: string;
  readonly record: Record<string, unknown>;
}

/** pino's level numbers below info: debug (20) and trace (10) */
const INFO = 30;

export class LinkLogDestination implements DestinationStream {
  #link: LogLink | null = null;
  #queue: Queued[] = [];
  #inFlight = 0;
  #dropped = 0;
  #tokens: number;
  #lastRefill: number;
  readonly #fallback: (jsonLine: string) => void;
  readonly #maxQueued: number;
  readonly #rate: number;
  readonly #clock: () => number;

  constructor(options: LinkLogOptions = {}) {
    this.#fallback = options.fallback ?? ((line) => void process.stderr.write(readableLine(line)));
    this.#maxQueued = options.maxQueued ?? 256;
    this.#rate = options.debugPerSecond ?? 50;
    this.#clock = options.clock ?? (() => performance.now());
    this.#tokens = this.#rate;
    this.#lastRefill = this.#clock();
  }

  /** Sends records over `link` whenever it is open (it may still be in its handshake). */
  attach(link: LogLink): void {
    this.#link = link;
  }

  /** Records dropped and not yet reported. */
  get dropped(): number {
    return this.#dropped;
  }

  write(line: string): void {
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line);
    } catch {
      record = { level: 40, msg: line.trimEnd() };
    }
    if (typeof record.level === "number" && record.level < INFO && !this.#takeToken()) {
      this.#dropped++;
      return;
    }
    if (this.#link?.state !== "open") {
      this.#toFallback();
      this.#fallback(line);
      return;
    }
    this.#queue.push({ line, record });
    if (this.#queue.length > this.#maxQueued) {
      this.#queue.shift();
      this.#dropped++;
    }
    this.#pump();
  }

  #takeToken(): boolean {
    const now = this.#clock();
    this.#tokens = Math.min(this.#rate, this.#tokens + ((now - this.#lastRefill) * this.#rate) / 1000);
    this.#lastRefill = now;
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }

  #pump(): void {
    const link = this.#link;
    if (link?.state !== "open") {
      this.#toFallback();
      return;
    }
    while (this.#inFlight < MAX_IN_FLIGHT && (this.#queue.length > 0 || this.#dropped > 0)) {
      const now = Date.now();
      const body: LogBody =
        this.#dropped > 0
          ? logBodyFromRecord({ level: 40, msg: "log records dropped", dropped: this.#dropped }, now)
          : logBodyFromRecord((this.#queue[0] as Queued).record, now);
      const sent = link.send("log", body, {
        onWritten: () => {
          this.#inFlight--;
          this.#pump();
        },
      });
      if (!sent) {
        this.#toFallback();
        return;
      }
      this.#inFlight++;
      if (this.#dropped > 0) this.#dropped = 0;
      else this.#queue.shift();
    }
  }

  /** The link is not open: what waited for it goes to the fallback, in order. */
  #toFallback(): void {
    for (const q of this.#queue) this.#fallback(q.line);
    this.#queue = [];
  }
}

/**
 * An island's logger: its records go to the coordinator once `toCoordinator.attach(link)` has been
 * called and that link is open, to stderr before and after; the run secret is redacted from all of them.
 */
export function islandLogger(options: {
  readonly level: LogLevel;
  readonly secret: string;
  /** the launcher's index, a field of every record until the coordinator adds the island's id */
  readonly index: number;
  readonly link?: LinkLogOptions;
}): { logger: Logger; toCoordinator: LinkLogDestination } {
  const toCoordinator = new LinkLogDestination(options.link);
  const logger = createLogger({
    level: options.level,
    stderr: false,
    destinations: [toCoordinator],
    base: { index: options.index },
  });
  redactSecret(logger, options.secret);
  return { logger, toCoordinator };
}
