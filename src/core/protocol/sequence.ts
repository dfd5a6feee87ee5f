// Sequence numbers: each sender numbers the messages it sends on a connection 0, 1, 2, ... (any strictly
// increasing safe integers will do) and the receiver refuses anything not after the last it accepted,
// so a replayed or reordered frame closes the connection (R_REPLAY). A new connection is a new
// sequence: forget the key when a connection closes. Pure state, no clocks.
import { E_PROTOCOL, SltError } from "../errors.ts";
import { failure, type ProtocolCheck, R_REPLAY } from "./reasons.ts";

export class SequenceTracker {
  readonly #last = new Map<string, number>();

  /** The last seq accepted from `key` (a peer or connection id), or undefined if none yet. */
  last(key: string): number | undefined {
    return this.#last.get(key);
  }

  /** Whether seq may follow the last accepted from `key`, without recording it. */
  check(key: string, seq: number): ProtocolCheck {
    const last = this.#last.get(key);
    if (!Number.isSafeInteger(seq) || seq < 0)
      return failure(R_REPLAY, `seq ${seq} is not a safe integer >= 0`);
    if (last !== undefined && seq <= last) {
      return failure(R_REPLAY, `seq ${seq} from ${key} is not after the last accepted seq ${last}`);
    }
    return { ok: true };
  }

  /** Records seq if it is strictly after the last from `key`; returns whether it was. */
  accept(key: string, seq: number): boolean {
    if (!this.check(key, seq).ok) return false;
    this.#last.set(key, seq);
    return true;
  }

  /** Forgets `key` (its connection closed; a new connection starts a new sequence). */
  forget(key: string): void {
    this.#last.delete(key);
  }

  /** The last seq per key, for logs or checkpoints. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.#last);
  }

  static restore(snapshot: Record<string, number>): SequenceTracker {
    const t = new SequenceTracker();
    for (const [k, v] of Object.entries(snapshot)) {
      if (!t.accept(k, v)) throw new SltError(E_PROTOCOL, `bad seq ${v} for ${k} in a sequence snapshot`);
    }
    return t;
  }
}

/** The seq counter of one sending side of a connection: 0, 1, 2, ... */
export class SequenceCounter {
  #next = 0;

  next(): number {
    return this.#next++;
  }
}
