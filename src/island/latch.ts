// A one-shot latch: a promise with its resolve and reject in hand, settled at most once. The island's
// waits (the coordinator's assignment, its stop, its loss, a lockstep barrier) are each one of these.
export class Latch<T = void> {
  readonly promise: Promise<T>;
  #settled = false;
  #resolve: (value: T) => void = () => {};
  #reject: (e: Error) => void = () => {};

  constructor() {
    this.promise = new Promise<T>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.promise.catch(() => {}); // a latch nobody awaits must not report an unhandled rejection
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** Resolves the latch; false (and nothing happens) if it was already settled. */
  open(value: T): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.#resolve(value);
    return true;
  }

  /** Rejects the latch; false (and nothing happens) if it was already settled. */
  fail(e: Error): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.#reject(e);
    return true;
  }
}
