// Seeded random streams. Every random choice in the project comes from one of these; a stream is
// named by (run seed, labels...) so that islands, purposes and generations never share a sequence.
import seedrandom from "seedrandom";

/** A serialisable snapshot of a stream: restoring it continues the exact same sequence. */
export interface RngState {
  readonly seed: string;
  readonly xg: object;
  readonly spare: number | null;
}

interface Xor4096 {
  (): number;
  int32(): number;
  double(): number;
  state(): object;
}

const TWO_POW_32 = 4294967296;

/** The stream name for (seed, labels): stable text, so the same labels always give the same stream. */
export function streamName(seed: number | string, ...labels: (string | number)[]): string {
  return ["slt", String(seed), ...labels.map(String)].join("/");
}

export class Rng {
  readonly seed: string;
  #prng: Xor4096;
  #spare: number | null = null;

  /** Prefer `Rng.derive` so that every stream is named by its purpose. */
  constructor(seed: string, state?: RngState) {
    this.seed = seed;
    // xor4096 is seedrandom's fast, long-period generator; it supports state save/restore.
    const options = (state ? { state: state.xg } : { state: true }) as { state: true };
    this.#prng = seedrandom.xor4096(seed, options) as unknown as Xor4096;
    if (state) this.#spare = state.spare;
  }

  static derive(seed: number | string, ...labels: (string | number)[]): Rng {
    return new Rng(streamName(seed, ...labels));
  }

  static restore(state: RngState): Rng {
    return new Rng(state.seed, state);
  }

  save(): RngState {
    return { seed: this.seed, xg: this.#prng.state(), spare: this.#spare };
  }

  /** A new independent stream named after this one plus labels; does not advance this stream. */
  child(...labels: (string | number)[]): Rng {
    return new Rng([this.seed, ...labels.map(String)].join("/"));
  }

  /** Uniform in [0, 1) with 53 random bits. */
  next(): number {
    return this.#prng.double();
  }

  /** 32 uniform random bits as an unsigned integer. */
  uint32(): number {
    return this.#prng.int32() >>> 0;
  }

  /** Uniform integer in [0, n), without modulo bias. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > TWO_POW_32)
      throw new RangeError(`Rng.int: n must be an integer in 1..2^32, got ${n}`);
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const r = this.uint32();
      if (r < limit) return r % n;
    }
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Standard normal draw (Marsaglia polar method; the spare is part of the saved state). */
  normal(mean = 0, std = 1): number {
    if (this.#spare !== null) {
      const s = this.#spare;
      this.#spare = null;
      return mean + std * s;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.next() - 1;
      v = 2 * this.next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.#spare = v * f;
    return mean + std * u * f;
  }

  /** Fisher–Yates shuffle in place; returns the array. */
  shuffle<T>(items: T[] | Int32Array | Uint32Array): typeof items {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }
}
