// The coordinator's timers in one place, so that shutting a run down clears every one of them.
export class Timers {
  readonly #all = new Set<NodeJS.Timeout>();
  /** the resolvers of delays still pending: clear() settles them, so no await is left hanging */
  readonly #waiting = new Set<() => void>();

  /** calls `f` once after `ms` */
  after(ms: number, f: () => void): void {
    const t = setTimeout(() => {
      this.#all.delete(t);
      f();
    }, ms);
    this.#all.add(t);
  }

  /** calls `f` every `ms` until cleared */
  every(ms: number, f: () => void): void {
    this.#all.add(setInterval(f, ms));
  }

  /** resolves after `ms`, or when the timers are cleared, whichever comes first */
  delay(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        this.#waiting.delete(done);
        resolve();
      };
      this.#waiting.add(done);
      this.after(ms, done);
    });
  }

  clear(): void {
    for (const t of this.#all) clearTimeout(t);
    this.#all.clear();
    for (const done of [...this.#waiting]) done();
  }
}
