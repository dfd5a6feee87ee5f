// How islands are started. A launcher starts n island processes that join the coordinator at
// `joinUrl`, handing each the run secret through its environment (never argv) and its index. The
// coordinator only sees handles: where an island runs, and how to end it. Local child processes
// today; SSH and Kubernetes launchers implement the same interface.

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

export interface Launcher {
  readonly name: string;
  start(n: number, joinUrl: string, secret: string): Promise<IslandHandle[]>;
  /** ends every island still running and waits for them */
  close(): Promise<void>;
}
