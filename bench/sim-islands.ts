// Simulated islands for bench/coordinator-capacity.ts: many islands in a few child processes, each
// speaking the real protocol to a real coordinator through the product's own client code — io/link.ts's
// Link (the HMAC handshake, frame tags, the codec's encoding and checks, sequence numbers), the hello
// with launcher index and listen address, heartbeats every HEARTBEAT_MS, reports at every migration
// epoch (interval × generation time, the report body's every field), checkpoints with a real island
// snapshot when the assignment's `checkpointEvery` falls due, and at `stop` a last report, the final
// checkpoint and a genuine ticket (its metrics are the reference evaluator's, so the run's recheck
// accepts it). What is simulated: evaluation and the GA are a timed no-op (the generations pass on a
// timer), and migrants, which islands send to each other directly and never through the coordinator,
// are only counted in the reports' migration counters and per-edge counts, as a real island counts them.
//
// The parent side is `simLauncher`, a coordinator Launcher (coordinator/launcher.ts) that starts the
// child processes: `runCluster` runs unchanged against it. Each child sends back, over its IPC channel,
// when each of its islands called Link.send for each report (process.hrtime, CLOCK_MONOTONIC: one clock
// for every process of the machine), so the parent can time each report to the coordinator.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { WebSocket } from "ws";
import type { IslandExit, IslandHandle, Launcher } from "../src/coordinator/launcher.ts";
import { resolveConfig } from "../src/core/config.ts";
import { evaluate } from "../src/core/evaluate.ts";
import { type GaState, initRun } from "../src/core/ga/index.ts";
import { type IslandSnapshotJSON, snapshotToJSON } from "../src/core/island-snapshot.ts";
import { HEARTBEAT_MS } from "../src/core/liveness.ts";
import { type Mask, maskHashAndZeros, randomMask } from "../src/core/mask.ts";
import { initNetwork } from "../src/core/network.ts";
import {
  type AssignBody,
  type EdgeReport,
  MAX_SNAPSHOT_BYTES,
  type Message,
  type Migrant,
  type MigrationCounts,
  maxFrameBytes,
  type ReportBody,
} from "../src/core/protocol/index.ts";
import { Rng } from "../src/core/rng.ts";
import { loadDataset } from "../src/io/datasets.ts";
import { Link, type LinkLimits, maxPayloadFor } from "../src/io/link.ts";
import type { Logger } from "../src/io/log.ts";
import { osSample } from "../src/island/host-stats.ts";

/** How the simulated islands pace themselves. */
export interface SimSchedule {
  /** the simulated generation time (the no-op evaluation); an island reports every `interval` of them */
  readonly generationMs: number;
  /** "spread": each island's first epoch at a seeded random phase; "aligned": all at once (a barrier) */
  readonly phase: "spread" | "aligned";
  /** after its assignment an island only sends heartbeats for this long, then starts its generations */
  readonly idleMs: number;
  readonly seed: number;
}

/** One report as sent: the island's id, its generation, and process.hrtime in ms when Link.send was called. */
export interface SentReport {
  readonly island: number;
  readonly generation: number;
  readonly sentMs: number;
}

/** Evaluations a moons island makes per generation (bench islands-scaling: 944 evaluations/s at ~45 ms). */
const EVALS_PER_GENERATION = 42;

/** process.hrtime in milliseconds: CLOCK_MONOTONIC, the same clock in every process of this machine. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

// ---- the parent: a Launcher whose islands are simulated in child processes ----

type ToParent =
  | { type: "exit"; index: number; code: number | null; signal: string | null }
  | { type: "sends"; records: number[]; snapshots: number[] };
type ToChild = { type: "kill"; index: number };

export interface SimLauncher extends Launcher {
  /** every report the simulated islands sent (complete once close() has resolved) */
  readonly sent: SentReport[];
  /** when each snapshot was sent (monotonicMs; complete once close() has resolved) */
  readonly snapshots: number[];
  /** CPU time (user + system, ms) the simulated islands' processes have used so far; null off Linux */
  cpuMs(): number | null;
}

/**
 * A launcher that starts `procs` child processes holding the n simulated islands between them (island
 * index i in child i mod procs). A handle's `exited` resolves when its island has ended (after its
 * ticket, or when killed); `close()` waits for the children to send their records and exit.
 */
export function simLauncher(options: {
  readonly procs: number;
  readonly schedule: SimSchedule;
  readonly logger: Logger;
}): SimLauncher {
  const children: ChildProcess[] = [];
  const sent: SentReport[] = [];
  const snapshots: number[] = [];
  const exits = new Map<number, (e: IslandExit) => void>();
  const onMessage = (m: ToParent) => {
    if (m.type === "exit") exits.get(m.index)?.({ code: m.code, signal: m.signal });
    else {
      snapshots.push(...m.snapshots);
      for (let k = 0; k + 2 < m.records.length; k += 3)
        sent.push({ island: m.records[k], generation: m.records[k + 1], sentMs: m.records[k + 2] });
    }
  };
  return {
    name: "simulated",
    sent,
    snapshots,
    cpuMs() {
      let total = 0;
      for (const c of children) {
        const ms = procCpuMs(c.pid);
        if (ms === null) return null;
        total += ms;
      }
      return total;
    },
    async start(n, joinUrl, secret) {
      const procs = Math.max(1, Math.min(options.procs, n));
      const handles: IslandHandle[] = [];
      for (let p = 0; p < procs; p++) {
        const indices = Array.from({ length: n }, (_, i) => i).filter((i) => i % procs === p);
        const child = spawn(process.execPath, [import.meta.filename], {
          stdio: ["ignore", "inherit", "inherit", "ipc"],
          env: {
            ...process.env,
            SLT_TOKEN: secret,
            SLT_SIM: JSON.stringify({ joinUrl, indices, schedule: options.schedule }),
          },
        });
        children.push(child);
        child.on("message", (m) => onMessage(m as ToParent));
        child.on("exit", (code, signal) => {
          for (const i of indices) exits.get(i)?.({ code, signal });
          if (code !== 0) options.logger.warn({ code, signal }, "a simulated-islands process ended");
        });
        for (const index of indices) handles.push(simHandle(index, child, exits));
      }
      return handles;
    },
    async close() {
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null || c.signalCode !== null) return resolve();
              const timer = setTimeout(() => c.kill("SIGKILL"), 10_000);
              c.once("exit", () => {
                clearTimeout(timer);
                resolve();
              });
            }),
        ),
      );
    },
  };
}

/** A process's CPU time from /proc/PID/stat (utime + stime, in clock ticks of 10 ms); null where unreadable. */
function procCpuMs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    // the fields after the command name, which is in parentheses and may hold spaces
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

function simHandle(
  index: number,
  child: ChildProcess,
  exits: Map<number, (e: IslandExit) => void>,
): IslandHandle {
  const exited = new Promise<IslandExit>((resolve) => {
    exits.set(index, (e) => {
      exits.delete(index);
      resolve(e);
    });
  });
  return {
    index,
    host: hostname(),
    pid: child.pid ?? null,
    exited,
    kill: () => {
      if (child.connected) child.send({ type: "kill", index } satisfies ToChild);
    },
    setLabel: () => {},
  };
}

// ---- the child: the simulated islands ----

/** What every island of one child shares: built once, from the first assignment. */
interface Shared {
  readonly snapshot: IslandSnapshotJSON;
  /** a genuine ticket: a random mask with the reference evaluator's metrics (made at the first stop) */
  ticket(): Migrant;
}

function sharedOf(a: AssignBody, seed: number): Shared {
  const config = resolveConfig({ source: "assign", patch: a.config });
  const net = initNetwork(config.network.architecture, config.network.init, config.network.seed);
  // the GA's own initial population, evaluated by a stub (the coordinator checks a snapshot's form,
  // not its metrics): a snapshot of the real shape and size at generation 0
  const stub = (masks: readonly Mask[]) => masks.map(() => ({ accuracy: 0.9, loss: 0.3 }));
  const ga: GaState = initRun(config.ga, { evaluate: stub, network: net }, Rng.derive(seed, "sim-ga"));
  const snapshot = snapshotToJSON({
    island: 0,
    mode: a.mode,
    epoch: 0,
    ga,
    migrationRng: Rng.derive(seed, "sim-migration").save(),
    counters: { sent: 0, received: 0, accepted: 0, rejected: 0, dropped: 0 },
    lastImprovement: 0,
    bestSoFar: 0.9,
    waiting: [],
  });
  let ticket: Migrant | null = null;
  return {
    snapshot,
    ticket() {
      if (ticket === null) {
        const mask = randomMask(net.genomeLength, Rng.derive(seed, "sim-ticket"));
        const metrics = evaluate(net, mask, loadDataset(config.dataset).train);
        ticket = { mask, ...maskHashAndZeros(mask), accuracy: metrics.accuracy, loss: metrics.loss };
      }
      return ticket;
    },
  };
}

/** Host figures, refreshed once a second for all islands of the child (a real island samples on a timer). */
class HostFigures {
  #at = Number.NEGATIVE_INFINITY;
  #value: ReportBody["host"] = { ...osSample(), rssBytes: null };

  get(): ReportBody["host"] {
    const now = performance.now();
    if (now - this.#at > 1000) {
      this.#at = now;
      this.#value = { ...osSample(), rssBytes: process.memoryUsage().rss };
    }
    return this.#value;
  }
}

interface ChildContext {
  readonly joinUrl: string;
  readonly secret: string;
  readonly schedule: SimSchedule;
  readonly host: HostFigures;
  readonly rng: Rng;
  shared: Shared | null;
  /** performance.now() of this child's first assignment: "aligned" epochs count from it */
  anchor: number | null;
  readonly sends: number[];
  /** when each snapshot (checkpoint message) was sent, monotonicMs */
  readonly snapshots: number[];
  exit(index: number, code: number | null, signal: string | null): void;
}

/** One simulated island: the real Link to the coordinator, a timer instead of evolution. */
class SimIsland {
  readonly #index: number;
  readonly #c: ChildContext;
  readonly #limits: LinkLimits = { genomeLength: null, maxMigrants: 0, maxSnapshotBytes: MAX_SNAPSHOT_BYTES };
  readonly #link: Link;
  #assign: AssignBody | null = null;
  /** the heartbeat and the next epoch */
  readonly #timers: { heartbeat?: NodeJS.Timeout; epoch?: NodeJS.Timeout } = {};
  #generation = 0;
  #epoch = 0;
  readonly #counters: { -readonly [K in keyof MigrationCounts]: number } = {
    sent: 0,
    received: 0,
    accepted: 0,
    rejected: 0,
    dropped: 0,
  };
  #done = false;

  constructor(index: number, c: ChildContext) {
    this.#index = index;
    this.#c = c;
    const runId = new URL(c.joinUrl).searchParams.get("run") ?? "";
    const ws = new WebSocket(c.joinUrl, {
      maxPayload: maxPayloadFor(maxFrameBytes(0, 0) + MAX_SNAPSHOT_BYTES),
      perMessageDeflate: false,
    });
    ws.on("error", () => {}); // the Link's close handler ends the island
    this.#link = new Link(ws, "client", {
      self: {
        runId,
        secret: c.secret,
        name: `island-${index}`,
        role: "island",
        island: index,
        host: hostname(),
        pid: process.pid,
        // nobody connects: migrants are not simulated on the wire (they never pass the coordinator)
        listen: "ws://127.0.0.1:9",
      },
      limits: this.#limits,
      peerRole: "coordinator",
      expectedPeer: "coordinator",
      accept: ["assign", "stop", "heartbeat", "error"],
      label: c.joinUrl,
    });
    this.#link.onMessage = (m) => this.#onMessage(m);
    this.#link.onClose = () => this.#end(this.#assign === null ? 1 : 0, null);
    this.#link.ready.then(
      () => {
        this.#timers.heartbeat = setInterval(() => this.#link.send("heartbeat", {}), HEARTBEAT_MS);
      },
      () => {},
    );
  }

  kill(): void {
    this.#link.ws.terminate();
    this.#end(null, "SIGKILL");
  }

  #onMessage(m: Message): void {
    if (m.type === "assign") this.#onAssign(m.body);
    else if (m.type === "stop") this.#onStop();
  }

  #onAssign(a: AssignBody): void {
    const first = this.#assign === null;
    this.#assign = a; // a later one is a topology repair: new neighbour lists
    if (!first) return;
    this.#limits.genomeLength = a.genomeLength;
    this.#limits.maxMigrants = a.maxMigrants;
    this.#c.shared ??= sharedOf(a, this.#c.schedule.seed);
    const s = this.#c.schedule;
    const periodMs = a.interval * s.generationMs;
    this.#c.anchor ??= performance.now();
    // aligned: every island of the child on one grid (the assignments reach them over some milliseconds)
    const begin =
      s.phase === "aligned"
        ? this.#c.anchor + s.idleMs
        : performance.now() + s.idleMs + this.#c.rng.next() * periodMs;
    let k = 0;
    // epochs on a fixed grid from `begin` (no drift): epoch k at begin + k × period
    const next = () => {
      k++;
      const wait = Math.max(0, begin + k * periodMs - performance.now());
      this.#timers.epoch = setTimeout(() => {
        this.#epochDone();
        next();
      }, wait);
    };
    next();
  }

  /** `interval` generations have passed: an epoch's migration counts, the report, a checkpoint when due. */
  #epochDone(): void {
    const a = this.#assign as AssignBody;
    const before = this.#generation;
    this.#generation += a.interval;
    this.#epoch++;
    const migrants = a.maxMigrants > 0 ? Math.min(a.maxMigrants, 2) : 0;
    const c = this.#counters;
    c.sent += migrants * a.outNeighbours.length;
    c.received += migrants * a.inNeighbours.length;
    c.accepted += Math.ceil((migrants * a.inNeighbours.length) / 2);
    c.rejected = c.received - c.accepted;
    this.#report();
    const every = a.checkpointEvery ?? null;
    if (every !== null && Math.floor(this.#generation / every) > Math.floor(before / every))
      this.#checkpoint(false);
  }

  #report(): void {
    const a = this.#assign as AssignBody;
    const g = this.#generation;
    const accuracy = 0.9 + 0.09 * (1 - Math.exp(-g / 200)); // below 1: no "target" stop
    const migrants = this.#epoch * Math.min(a.maxMigrants, 2);
    const edges: EdgeReport = {
      out: a.outNeighbours.map((n) => ({ island: n.island, sent: migrants * n.weight })),
      in: a.inNeighbours.map((i) => ({
        island: i,
        accepted: Math.ceil(migrants / 2),
        rejected: migrants >> 1,
      })),
    };
    const body: ReportBody = {
      island: a.island,
      generation: g,
      evaluations: 100 + g * EVALS_PER_GENERATION,
      evaluationsPerSecond: (EVALS_PER_GENERATION * 1000) / this.#c.schedule.generationMs,
      bestFitness: accuracy,
      bestAccuracy: accuracy,
      bestLoss: 1 - accuracy,
      bestSparsity: 0.5,
      meanFitness: accuracy - 0.02,
      diversity: 4.5,
      stalledGenerations: 0,
      verdict: null,
      migration: { ...this.#counters },
      edges,
      host: this.#c.host.get(),
    };
    this.#c.sends.push(a.island, g, monotonicMs());
    this.#link.send("report", body, { epoch: this.#epoch });
  }

  #checkpoint(final: boolean): void {
    const a = this.#assign as AssignBody;
    const snapshot = { ...(this.#c.shared as Shared).snapshot, island: a.island, epoch: this.#epoch };
    this.#c.snapshots.push(monotonicMs());
    this.#link.send("checkpoint", { island: a.island, final, snapshot }, { epoch: this.#epoch });
  }

  /** As a real island at stop: a last report, the final checkpoint when asked for, the ticket, then close. */
  #onStop(): void {
    const a = this.#assign;
    this.#clearTimers();
    if (a === null || this.#done) return;
    this.#report();
    if (a.checkpointEvery != null) this.#checkpoint(true);
    const body = {
      island: a.island,
      generation: this.#generation,
      evaluations: 100 + this.#generation * EVALS_PER_GENERATION,
      best: (this.#c.shared as Shared).ticket(),
    };
    this.#link.send("ticket", body, { epoch: this.#epoch, onWritten: () => this.#link.close("stopped") });
  }

  #clearTimers(): void {
    clearInterval(this.#timers.heartbeat);
    clearTimeout(this.#timers.epoch);
  }

  #end(code: number | null, signal: string | null): void {
    if (this.#done) return;
    this.#done = true;
    this.#clearTimers();
    this.#c.exit(this.#index, code, signal);
  }
}

/** The child process: its islands until each has ended, then its send records to the parent, then exit. */
function runChild(): void {
  const { joinUrl, indices, schedule } = JSON.parse(process.env.SLT_SIM ?? "{}") as {
    joinUrl: string;
    indices: number[];
    schedule: SimSchedule;
  };
  const send = (m: ToParent, then?: () => void) => process.send?.(m, undefined, {}, () => then?.());
  let left = indices.length;
  const c: ChildContext = {
    joinUrl,
    secret: process.env.SLT_TOKEN ?? "",
    schedule,
    host: new HostFigures(),
    rng: Rng.derive(schedule.seed, "sim-phase", indices[0] ?? 0),
    shared: null,
    anchor: null,
    sends: [],
    snapshots: [],
    exit(index, code, signal) {
      send({ type: "exit", index, code, signal });
      if (--left > 0) return;
      // the channel closes once the records are written: nothing keeps the process alive after that
      send({ type: "sends", records: c.sends, snapshots: c.snapshots }, () => process.disconnect?.());
    },
  };
  const islands = new Map(indices.map((i) => [i, new SimIsland(i, c)]));
  process.on("message", (m: ToChild) => {
    if (m.type === "kill") islands.get(m.index)?.kill();
  });
}

if (import.meta.main) runChild();
