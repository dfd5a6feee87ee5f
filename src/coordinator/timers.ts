// The coordinator's timers in one place, so that shutting a run down clears every one of them.
export class Timers {
  readonly #all = new Set<NodeJS.Timeout>();

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
    return new Promise<void>((resolve) => this.after(ms, resolve));
  }

  clear(): void {
    for (const t of this.#all) clearTimeout(t);
    this.#all.clear();
  }
}
