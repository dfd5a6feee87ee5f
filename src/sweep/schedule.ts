// Which of a sweep's waiting runs start now. Each run costs cores (costOf); the sweep's --parallel N is
// its core budget. Runs start in plan order while the running costs and the next run's fit in N; a run
// costing more than N counts as N, so it runs alone. A run whose islands go to other hosts (an ssh hosts
// file) holds those hosts: the launcher fills a hosts file's hosts in file order, so two runs on one
// file at once would share its first hosts; such runs take turns, and runs on other files or on this
// machine go on beside them. In order, with no overtaking: a large run is never starved by small ones
// slipping past it. Pure.

/** What a run's cost is made of. */
export interface RunShape {
  /** island processes; 1 for one population */
  readonly islands: number;
  /** one population's worker threads (--threads), default 1 */
  readonly threads?: number;
  /** islands on other hosts (ssh, k8s launchers): only the coordinator runs here */
  readonly remote?: boolean;
}

/** Cores a run keeps busy on this machine: its islands, or its threads for one population; at least 1. */
export function costOf(shape: RunShape): number {
  if (shape.remote) return 1;
  return Math.max(1, shape.islands > 1 ? shape.islands : (shape.threads ?? 1));
}

/**
 * How many runs from the head of `waiting` (their costs, in order) start now, given the cost of the runs
 * already running and the core budget `capacity` (≥ 1), and the hosts each holds (see above).
 */
export function startable(
  waiting: readonly number[],
  running: number,
  capacity: number,
  /** the hosts (a hosts file's path) each waiting run holds while it runs; undefined: none */
  hosts: readonly (string | undefined)[] = [],
  /** hosts held by the runs running now */
  busy: ReadonlySet<string> = new Set(),
): number {
  let used = running;
  let n = 0;
  const held = new Set(busy);
  for (const cost of waiting) {
    const c = Math.min(cost, capacity);
    const h = hosts[n];
    if (used + c > capacity || (h !== undefined && held.has(h))) break;
    if (h !== undefined) held.add(h);
    used += c;
    n++;
  }
  return n;
}
