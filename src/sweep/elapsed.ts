// How long a run has run, over all its parts, from its events.jsonl: a wall-clock budget
// (`budget.seconds`) is the run's whole running time, so a run stopped and continued gets only what it
// has left. Event times (`t`) count from the run's first start, gaps between parts included, so each
// part counts from its first event (the `start`, or the `resume` that opens it) to its last. Pure.

/** Seconds of running over all parts of the run whose events.jsonl is `text` (torn lines skipped). */
export function runningSeconds(text: string): number {
  let total = 0;
  let partStart: number | null = null;
  let last: number | null = null;
  for (const line of text.split("\n")) {
    let e: { type?: unknown; t?: unknown };
    try {
      e = JSON.parse(line) as typeof e;
    } catch {
      continue;
    }
    if (typeof e.t !== "number") continue;
    if (e.type === "resume" || partStart === null) {
      if (partStart !== null && last !== null) total += last - partStart;
      partStart = e.t;
    }
    last = e.t;
  }
  return partStart !== null && last !== null ? total + (last - partStart) : total;
}

/** The time limit a continued run gets of `budget` seconds: what it has left, at least a moment. */
export function remainingSeconds(budget: number, ran: number): number {
  return Math.max(0.001, Math.round((budget - ran) * 1000) / 1000);
}
