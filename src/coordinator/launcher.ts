// How islands are started. A launcher starts n island processes that join the coordinator at
// `joinUrl`, handing each the run secret through its environment (never argv) and its index. The
// coordinator only sees handles: where an island runs, and how to end it. Local child processes
// today; SSH and Kubernetes launchers implement the same interface. `restart(index)` starts a lost
// island's process again with the same index (the coordinator gives the new process the lost island's
// id, place and latest snapshot); a launcher without it cannot restart islands.

export interface IslandExit {
  readonly code: number | null;
  readonly signal: string | null;
}

export interface IslandHandle {
  /** the launcher's index, 0 … n−1 (passed to the island as SLT_ISLAND_INDEX) */
  readonly index: number;
  readonly host: string;
  /** process id where the launcher knows it */
  readonly pid: number | null;
  /** resolves when the island process has ended */
  readonly exited: Promise<IslandExit>;
  /** ends the island (SIGKILL for local processes); safe to call more than once */
  kill(): void;
  /** the prefix of this island's log lines from now on, e.g. "island 3" once it has its id */
  setLabel(label: string): void;
}

/** What a launcher may need to know of the run besides the island count. */
export interface LaunchOptions {
  /** how often the coordinator may restart each island (cluster.maxRestarts; default 0) */
  readonly maxRestarts?: number;
  /**
   * a wss:// run: the SHA-256 fingerprint of the coordinator's certificate, which islands pin; handed to
   * each island as SLT_TLS_PIN (public, unlike the secret: it only lets an island recognise the server)
   */
  readonly tlsPin?: string;
}

export interface Launcher {
  readonly name: string;
  start(n: number, joinUrl: string, secret: string, options?: LaunchOptions): Promise<IslandHandle[]>;
  /**
   * Starts island `index` again (its earlier process has ended or is being ended), with the join URL
   * and secret of `start`; resolves with the new process's handle. Rejects when it cannot.
   */
  restart?(index: number): Promise<IslandHandle>;
  /** ends every island still running and waits for them */
  close(): Promise<void>;
}

/**
 * The island fields of a launcher's records about island `index` once the coordinator has called
 * setLabel(label): "island <id>" names it by its id, any other label is kept beside the index.
 */
export function labelFields(index: number, label: string): Record<string, unknown> {
  const id = /^island (\d+)$/.exec(label);
  return id ? { island: Number(id[1]) } : { island: index, label };
}
