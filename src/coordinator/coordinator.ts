// The island cluster's coordinator as an explicit state machine: its state is one plain record
// (coordinator-state.ts) whose phase goes joining → running → stopping → done, changed in one place
// (`#enter`); everything that happens to the run arrives at a named handler (`onConnection`, `onJoin`,
// `onReport`, `onTicket`, `onIslandError`, `onLinkClose`, `onIslandExit`, `onJoinTimeout`,
// `onHeartbeatCheck`, `onWallClock`, `onAbort`, `onStopTimeout`), which changes the state and then asks
// `#afterChange` what follows: the termination policy (decide-stop.ts) while running, the end of the
// stop once every live island has answered.
//
// Joining: islands connect, authenticate (io/link.ts) and say hello with their launcher index and listen
// address; once every started island has joined or ended (or the join timeout passed) each gets its id
// (by launcher index) and its assignment (neighbours with their addresses, offset, mode) and the run
// is running. A lost island (its connection closes before it was asked to stop, its process exits, or
// it misses heartbeats) is recorded and, while it has restarts left (cluster.maxRestarts), restarted by
// its launcher after a backoff (1 s, 2 s, 4 s, …): the new process takes back the lost island's id and
// place in the topology and resumes from its latest snapshot (or starts afresh without one); its
// in-neighbours get fresh assignments with its new address (`onLostIsland`, `onRestartDue`,
// `onRestartJoin`, `onRestartFailed`). When its restarts run out it is removed from the topology
// (core/topology.ts removeIsland), its neighbours get the repaired neighbour lists, and the run goes on.
// Elastic join (`onElasticJoin`): an async run takes an island that joins while it runs, gives it the
// next id and adds it to the topology (core/topology.ts addIsland); a lockstep run refuses it.
// Stopping: `requestStop` records the decision, awaits the beforeStop hook, sends `stop` to every live
// island and waits for their tickets (or the stop timeout).
// Checkpoints: every assignment carries `checkpointEvery`; `onCheckpoint` keeps each island's latest
// snapshot (on its Member) and hands it to RunCheckpoints (run-checkpoints.ts), which decides when the
// snapshots make a cut and writes the run checkpoint (`#writeCut`: the envelope of core/checkpoint.ts
// around the coordinator's state and the islands' snapshots). The run is done only once the final
// checkpoint is written. A resumed run (`CoordinatorSetup.resume`) gives island k the snapshot
// resume.islands[k] in its first assignment and takes the topology with its repairs and the offsets
// back from the checkpoint when they fit the island count.
import type { IncomingMessage } from "node:http";
import type { WebSocket } from "ws";
import {
  configHash,
  type JsonObject,
  RUN_CHECKPOINT_FORMAT,
  type RunCheckpoint,
} from "../core/checkpoint.ts";
import type { ResolvedConfig } from "../core/config.ts";
import { E_CLUSTER, SltError } from "../core/errors.ts";
import { evaluationShare, fitnessOf } from "../core/ga/index.ts";
import { HEARTBEAT_MS, PauseClock, watchPeriodMs } from "../core/liveness.ts";
import { migrationOffsets } from "../core/migration.ts";
import {
  type AssignBody,
  type Bodies,
  type CheckpointBody,
  failure,
  type HelloBody,
  type Message,
  R_BAD_FIELD,
  R_UNEXPECTED_TYPE,
  type ReportBody,
  type TicketBody,
} from "../core/protocol/index.ts";
import { Rng, streamName } from "../core/rng.ts";
import {
  addIsland,
  analyzeTopology,
  buildPlannedTopology,
  type Topology as IslandTopology,
  inNeighbours,
  outEdges,
  removeIsland,
  type TopologyPlan,
} from "../core/topology.ts";
import { writeCheckpoint } from "../io/checkpoint-store.ts";
import { Link, type LinkLimits, type LinkSelf } from "../io/link.ts";
import { type Logger, RateLimited } from "../io/log.ts";
import { isWss } from "../io/tls.ts";
import type { ResumeFrom } from "../run/resume-from.ts";
import { type ClusterView, finishedBy, renderClusterProgress } from "./cluster-progress.ts";
import {
  type ClusterStopReason,
  type CoordinatorState,
  coordinatorCheckpoint,
  edgesOfReport,
  initialState,
  type MigrationTotals,
  migrationDelta,
  migrationTotals,
  newMember,
  type Phase,
  restoreCoordinator,
  stopViewOf,
} from "./coordinator-state.ts";
import { decideStop, reportMayStop } from "./decide-stop.ts";
import { logIslandRecord } from "./island-log.ts";
import type { IslandExit, IslandHandle, Launcher } from "./launcher.ts";
import { Member } from "./member.ts";
import {
  type CheckpointPlan,
  type Cut,
  type LiveIslands,
  RunCheckpoints,
  type Written,
} from "./run-checkpoints.ts";
import { Timers } from "./timers.ts";

export interface ClusterIslandInfo {
  readonly id: number | null;
  readonly index: number;
  readonly host: string;
  readonly pid: number | null;
  readonly listen: string | null;
  readonly lost: boolean;
}

/** What hooks can see and do while a run is going (tests use it to probe and to kill islands). */
export interface ClusterControl {
  readonly runId: string;
  readonly joinUrl: string;
  readonly runDir: string;
  islands(): ClusterIslandInfo[];
  /** ends island `id`'s process, as a crash would */
  kill(id: number): void;
}

export interface ClusterHooks {
  /** every event, as written to events.jsonl */
  onEvent?(event: Record<string, unknown>, control: ClusterControl): void;
  /** awaited once global termination is decided, before `stop` is sent (islands are still up) */
  beforeStop?(control: ClusterControl): Promise<void>;
}

/** What the coordinator itself takes of the cluster options. */
export interface CoordinatorOptions {
  /** where progress lines go; none when undefined */
  readonly progress?: NodeJS.WritableStream;
  /** at most one progress block per this many ms, besides the last (default 1000; 0: every report) */
  readonly progressIntervalMs?: number;
  /** aborting stops the run: islands are asked for their tickets and the ticket is written */
  readonly signal?: AbortSignal;
  readonly hooks?: ClusterHooks;
  /** how long islands have to start and join (default 60 s) */
  readonly joinTimeoutMs?: number;
  /** how long islands have to answer `stop` with a ticket (default 30 s) */
  readonly stopTimeoutMs?: number;
  /** wss://: the certificate and key islands' peer servers get in their assignments, and its pin */
  readonly tls?: { readonly cert: string; readonly key: string; readonly pin: string };
  /** an island that sends nothing (islands send a heartbeat every second) for this long is lost (default 60 s) */
  readonly heartbeatTimeoutMs?: number;
  /** the first restart of a lost island waits this long, each further one twice as long (default 1000 ms) */
  readonly restartBackoffMs?: number;
}

/** A lost island waiting for its restart: which try, why it was lost, and the new process once started. */
interface PendingRestart {
  readonly id: number;
  readonly index: number;
  readonly attempt: number;
  readonly reason: string;
  handle: IslandHandle | null;
}

/** What the run gives its coordinator. */
export interface CoordinatorSetup {
  /** the resolved configuration (absolute data paths) */
  readonly config: ResolvedConfig;
  readonly plan: TopologyPlan;
  readonly genomeLength: number;
  readonly maxMigrants: number;
  /** the run's appendEvent (io/run-dir.ts) and its directory */
  readonly appendEvent: (e: Record<string, unknown>) => Record<string, unknown>;
  readonly runDir: string;
  readonly self: LinkSelf;
  readonly joinUrl: string;
  /** the server's address, ws://host:port */
  readonly address: string;
  /** performance.now() when the run started */
  readonly started: number;
  readonly logger: Logger;
  readonly options: CoordinatorOptions;
  /** how often islands snapshot and the coordinator writes, and how large a snapshot may be */
  readonly checkpoints: CheckpointPlan;
  /** what a resumed run starts from (absent: a fresh run) */
  readonly resume?: ResumeFrom;
}

/** The phases each phase may go to; done is the end, reached from any phase. */
const NEXT: Record<Phase, readonly Phase[]> = {
  joining: ["running", "done"],
  running: ["stopping", "done"],
  stopping: ["done"],
  done: [],
};

/** A hello that passed onJoin's checks: it has a launcher index and a listen address. */
type LateHello = HelloBody & { readonly island: number; readonly listen: string };

export class Coordinator {
  readonly state: CoordinatorState = initialState();
  readonly control: ClusterControl;
  /** resolves when the run is done, rejects when it cannot go on */
  readonly done: Promise<void>;
  readonly #setup: CoordinatorSetup;
  readonly #finished = Promise.withResolvers<void>();
  readonly #members: Member[] = [];
  readonly #byId = new Map<number, Member>();
  #handles: IslandHandle[] = [];
  #launcher: Launcher | null = null;
  /** lost islands waiting for their restart, by id */
  readonly #restarting = new Map<number, PendingRestart>();
  readonly #timers = new Timers();
  /** the heartbeat watch's record of this process's own pauses (set once running) */
  #pauseClock: PauseClock | null = null;
  readonly #limits: LinkLimits;
  /** what islands get: the resolved config as plain JSON */
  readonly #islandConfig: AssignBody["config"];
  /** performance.now() when the islands got their assignments: the time limit counts from there */
  #runningSince: number | null = null;
  #lastProgress = Number.NEGATIVE_INFINITY;
  readonly #checkpoints: RunCheckpoints;
  /** the configuration's hash, which every checkpoint carries (core/checkpoint.ts configHash) */
  readonly #configHash: string;
  readonly #onAbort = () => this.onAbort();

  constructor(setup: CoordinatorSetup) {
    this.#setup = setup;
    this.done = this.#finished.promise;
    this.done.catch(() => {}); // a failure before anything awaits it is still the run's to report
    this.#limits = {
      genomeLength: setup.genomeLength,
      maxMigrants: setup.maxMigrants,
      maxSnapshotBytes: setup.checkpoints.maxSnapshotBytes,
    };
    this.#islandConfig = JSON.parse(JSON.stringify(setup.config));
    this.#configHash = configHash(setup.config);
    this.control = {
      runId: setup.self.runId,
      joinUrl: setup.joinUrl,
      runDir: setup.runDir,
      islands: () => this.#islandInfos(),
      kill: (id) => this.#byId.get(id)?.handle?.kill(),
    };
    this.#checkpoints = new RunCheckpoints({
      mode: setup.config.cluster.mode,
      minIntervalMs: setup.checkpoints.minIntervalMs,
      write: (cut) => this.#writeCut(cut),
      event: (e) => this.event(e),
      logger: setup.logger,
    });
    setup.options.signal?.addEventListener("abort", this.#onAbort);
  }

  get phase(): Phase {
    return this.state.phase;
  }

  /** every island that joined, in join order, but for the processes a restart replaced */
  get members(): readonly Member[] {
    return this.#members.filter((m) => !this.#superseded(m));
  }

  /** a lost island's process whose id a restarted process holds now */
  #superseded(m: Member): boolean {
    return m.id >= 0 && this.state.phase !== "joining" && !this.isCurrent(m);
  }

  /** the island holding id `m.id` is `m` (not one that left before the assignment) */
  isCurrent(m: Member): boolean {
    return m.id >= 0 && this.#byId.get(m.id) === m;
  }

  totals(): MigrationTotals {
    return migrationTotals(
      this.members.map((m) => m.record),
      this.state.droppedAtResume,
    );
  }

  /** The run from the `start` event until it is done: starts the islands and waits. */
  async run(launcher: Launcher): Promise<void> {
    const { config, plan, genomeLength, self, address, joinUrl } = this.#setup;
    const cluster = config.cluster;
    // a wss:// run: the certificate's pin, which islands check (public: it only names the certificate)
    const pin = this.#setup.options.tls ? { tlsPin: this.#setup.options.tls.pin } : {};
    this.event({
      type: "start",
      name: config.name,
      seed: config.seed,
      runId: self.runId,
      genomeLength,
      population: config.ga.population,
      islands: cluster.islands,
      topology: plan.label,
      interval: cluster.interval,
      migrants: cluster.migrants,
      mode: cluster.mode,
      launcher: launcher.name,
      coordinator: {
        host: self.host,
        pid: process.pid,
        address,
        // what an island joined by hand pins (slt island --tls-pin)
        ...pin,
      },
    });
    this.#launcher = launcher;
    this.#onIslandsStarted(
      await launcher.start(cluster.islands, joinUrl, self.secret, {
        maxRestarts: cluster.maxRestarts,
        ...pin,
      }),
    );
    await this.done;
    // the islands' final snapshots came before their tickets: the run's last checkpoint
    await this.#checkpoints.finish(this.#liveIslands());
  }

  /** Ends the run's connections and islands (the run is done or failed). */
  async shutdown(launcher: Launcher): Promise<void> {
    this.#setup.options.signal?.removeEventListener("abort", this.#onAbort);
    this.#timers.clear();
    if (this.state.phase !== "done") this.#enter("done");
    for (const m of this.#members) if (!m.record.closed) m.link.close("run finished");
    await Promise.race([Promise.all(this.#handles.map((h) => h.exited)), this.#timers.delay(10_000)]);
    this.#timers.clear();
    await launcher.close();
  }

  /** Writes an event to events.jsonl and hands it to the onEvent hook. */
  event(e: Record<string, unknown>): void {
    const full = this.#setup.appendEvent(e);
    try {
      this.#setup.options.hooks?.onEvent?.(full, this.control);
    } catch (err) {
      this.#setup.logger.error({ hook: "onEvent", err }, "an event hook failed");
    }
  }

  // ---- the one place the phase changes ----

  #enter(next: Phase): void {
    const from = this.state.phase;
    if (!NEXT[from].includes(next)) throw new Error(`coordinator: no way from ${from} to ${next}`);
    this.state.phase = next;
    if (next === "done") this.#finished.resolve();
  }

  /** Runs a handler's state change; a failure ends the run instead of the process. */
  #guard(f: () => void): void {
    try {
      f();
    } catch (e) {
      this.#finished.reject(e);
    }
  }

  // ---- handlers: connections ----

  onConnection(ws: WebSocket, req: IncomingMessage): void {
    const remote = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    const link = new Link(ws, "server", {
      self: this.#setup.self,
      limits: this.#limits,
      peerRole: "island",
      accept: ["report", "ticket", "checkpoint", "heartbeat", "error", "log"],
      logger: this.#setup.logger,
      label: remote,
    });
    link.ready.then(
      () => this.#guard(() => this.onJoin(link)),
      (e: Error) => this.#guard(() => this.onRefused(remote, e)),
    );
  }

  /**
   * connection-refused events, at most a few a second and then one with the count of the rest: a flood
   * of strangers cannot grow events.jsonl without bound. A count held when the run is done is dropped
   * (the run's last event stays its end).
   */
  readonly #refusals = new RateLimited<{ remote: string; reason: string }>((r, count) => {
    if (count > 1 && this.state.phase === "done") return;
    this.#guard(() => this.event({ type: "connection-refused", ...r, ...(count > 1 ? { count } : {}) }));
  });

  onRefused(remote: string, e: Error): void {
    // the Link has logged the refusal with its code and reason; the event keeps a count in the run
    this.#refusals.add({ remote, reason: e.message });
  }

  onJoin(link: Link): void {
    const hello = link.peerHello;
    if (!hello || hello.island === null || hello.listen === null) {
      link.fail(failure(R_BAD_FIELD, "an island's hello must carry its launcher index and listen address"));
      return;
    }
    if (this.#setup.options.tls && !isWss(hello.listen)) {
      // its neighbours would send it migrants in the clear
      link.fail(failure(R_BAD_FIELD, `a wss:// run's islands listen on wss://, not ${hello.listen}`));
      return;
    }
    const index = hello.island;
    if (this.state.phase !== "joining") {
      this.onLateJoin(link, hello as LateHello);
      return;
    }
    if (index >= this.#setup.config.cluster.islands) {
      link.fail(failure(R_BAD_FIELD, `island index ${index} is not one this run started`));
      return;
    }
    if (this.#members.some((m) => m.record.index === index && !m.record.closed)) {
      link.fail(failure(R_BAD_FIELD, `island index ${index} has already joined`));
      return;
    }
    const record = newMember({ index, host: hello.host, pid: hello.pid, listen: hello.listen });
    const m = new Member(record, link, this.#handles.find((h) => h.index === index) ?? null);
    this.#members.push(m);
    this.state.members.push(record);
    this.event({ type: "joined", index, host: record.host, pid: record.pid, listen: record.listen });
    link.onMessage = (msg) => this.onMessage(m, msg);
    link.onClose = (code, reason) => this.onLinkClose(m, code, reason);
    this.#maybeAssign();
  }

  onMessage(m: Member, msg: Message): void {
    m.lastSeen = performance.now();
    if (msg.type === "report") this.#guard(() => this.onReport(m, msg.body, msg.epoch));
    else if (msg.type === "ticket") this.#guard(() => this.onTicket(m, msg.body));
    else if (msg.type === "checkpoint") this.#guard(() => this.onCheckpoint(m, msg.body));
    // every handler under #guard: a throw (a full disk under appendEvent, a logger fault) must end the
    // run with its error, never escape into ws's message event and take the process down
    else if (msg.type === "error") this.#guard(() => this.onIslandError(m, msg.body));
    else if (msg.type === "log") this.#guard(() => this.onIslandLog(m, msg.body));
  }

  /** An island's own log record, into the coordinator's log with the island's id, host and pid. */
  onIslandLog(m: Member, body: Bodies["log"]): void {
    const r = m.record;
    logIslandRecord(
      this.#setup.logger,
      { island: r.id >= 0 ? r.id : null, index: r.index, host: r.host, pid: r.pid },
      body,
    );
  }

  onIslandError(m: Member, body: Bodies["error"]): void {
    this.#setup.logger.warn({ ...m.fields, code: body.code, reason: body.reason }, "island sent an error");
  }

  onLinkClose(m: Member, code: number, reason: string): void {
    const r = m.record;
    r.closed = true;
    const phase = this.state.phase;
    if (phase === "joining") {
      this.event({ type: "left-before-start", index: r.index, host: r.host, pid: r.pid, code, reason });
      this.#guard(() => this.#maybeAssign());
      return;
    }
    if (phase === "running" || (phase === "stopping" && !r.stopTicket)) {
      const why = `connection closed (${code}${reason ? ` ${reason}` : ""}) without a ticket`;
      this.#guard(() => this.#markLost(m, why));
    } else {
      this.event({ type: "island-closed", island: r.id, host: r.host, pid: r.pid, code });
    }
    this.#guard(() => this.#afterChange());
  }

  // ---- handlers: islands' messages ----

  onReport(m: Member, r: ReportBody, epoch: number): void {
    if (r.island !== m.id) {
      m.link.fail(failure(R_BAD_FIELD, `a report for island ${r.island} on island ${m.id}'s connection`));
      return;
    }
    const before = m.record.lastReport?.migration;
    const viewBefore = stopViewOf(m.record);
    m.record.lastReport = r;
    m.rates.add({ at: performance.now(), generation: r.generation, evaluations: r.evaluations });
    this.event({
      type: "report",
      island: m.id,
      epoch,
      generation: r.generation,
      evaluations: r.evaluations,
      evaluationsPerSecond: r.evaluationsPerSecond,
      bestFitness: r.bestFitness,
      bestAccuracy: r.bestAccuracy,
      bestLoss: r.bestLoss,
      sparsity: r.bestSparsity,
      meanFitness: r.meanFitness,
      diversity: r.diversity,
      stalledGenerations: r.stalledGenerations,
      verdict: r.verdict ?? null,
      migration: r.migration,
      edges: edgesOfReport(r.edges, this.#members.length),
      host: r.host,
    });
    const delta = migrationDelta(r.migration, before);
    if (Object.values(delta).some((v) => v !== 0))
      this.event({ type: "migration", island: m.id, epoch, ...delta });
    // the policy in full only when this report can complete a decision (not O(islands) per report)
    const running = this.state.phase === "running" && this.state.stop === null;
    if (!running || reportMayStop(viewBefore, stopViewOf(m.record), this.#setup.config)) this.#afterChange();
    this.progress();
  }

  onTicket(m: Member, t: TicketBody): void {
    if (t.island !== m.id) {
      m.link.fail(failure(R_BAD_FIELD, `a ticket for island ${t.island} on island ${m.id}'s connection`));
      return;
    }
    const stopping = this.state.phase === "stopping";
    m.record.ticket = t;
    this.event({
      type: "ticket",
      island: m.id,
      generation: t.generation,
      evaluations: t.evaluations,
      fitness: fitnessOf(t.best, this.#setup.config.ga.fitness),
      accuracy: t.best.accuracy,
      loss: t.best.loss,
      sparsity: t.best.zeros / this.#setup.genomeLength,
      afterStop: stopping,
    });
    if (stopping) m.record.stopTicket = true;
    else m.record.finished = true;
    this.#afterChange();
  }

  /** An island's snapshot: kept as its latest, and offered to the run's checkpoints. */
  onCheckpoint(m: Member, c: CheckpointBody): void {
    if (c.island !== m.id) {
      m.link.fail(failure(R_BAD_FIELD, `a checkpoint of island ${c.island} on island ${m.id}'s connection`));
      return;
    }
    m.snapshot = c.snapshot;
    if (this.isCurrent(m) && !m.record.lost)
      this.#checkpoints.offer(m.id, c.snapshot, c.final, this.#liveIslands());
  }

  /** The run checkpoint of a cut: the envelope, the coordinator's state and the islands' snapshots. */
  async #writeCut(cut: Cut): Promise<Written> {
    const { config, runDir, self } = this.#setup;
    const mode = config.cluster.mode;
    const value: RunCheckpoint = {
      format: RUN_CHECKPOINT_FORMAT,
      createdAt: new Date().toISOString(),
      runId: self.runId,
      configHash: this.#configHash,
      mode,
      epoch: cut.epoch,
      ...(cut.generation !== null ? { generation: cut.generation } : {}),
      // both are plain JSON objects (their own types are the narrower interfaces of their owners)
      coordinator: coordinatorCheckpoint(
        this.state,
        cut.islands.map((i) => i.snapshot),
        mode,
      ) as unknown as JsonObject,
      islands: cut.islands.map((i) => ({ id: i.id, snapshot: i.snapshot as unknown as JsonObject })),
    };
    return writeCheckpoint(runDir, value);
  }

  // ---- handlers: processes and timers ----

  #onIslandsStarted(handles: IslandHandle[]): void {
    this.#handles = handles;
    for (const h of handles) {
      this.event({ type: "island-started", index: h.index, host: h.host, pid: h.pid });
      for (const m of this.#members) if (m.handle === null && m.record.index === h.index) m.handle = h;
      void h.exited.then((exit) => this.#guard(() => this.onIslandExit(h, exit)));
    }
    this.#timers.after(this.#setup.options.joinTimeoutMs ?? 60_000, () => this.onJoinTimeout());
    this.#timers.every(HEARTBEAT_MS, () => this.#sendHeartbeats());
    this.#maybeAssign();
  }

  onIslandExit(h: IslandHandle, exit: IslandExit): void {
    this.event({ type: "island-exited", index: h.index, host: h.host, pid: h.pid, ...exit });
    const pending = [...this.#restarting.values()].find((p) => p.handle === h);
    if (pending !== undefined) {
      this.#guard(() =>
        this.onRestartFailed(pending, `process exited (code ${exit.code}, signal ${exit.signal})`),
      );
      return;
    }
    // the member this process was, else the current one of its launcher index (never one that left
    // while joining and was replaced: it has no id, and losing it would repair an island that is not there)
    const m =
      this.#members.find((x) => x.handle === h) ??
      this.#members.find((x) => x.record.index === h.index && !x.record.closed && x.record.id >= 0);
    this.state.exited.push(h.index);
    if (!m || this.state.phase === "joining") {
      this.#guard(() => this.#maybeAssign());
      return;
    }
    if (this.state.phase === "running")
      this.#guard(() => this.#markLost(m, `process exited (code ${exit.code}, signal ${exit.signal})`));
    else if (this.state.phase === "stopping") {
      m.record.closed = true;
      this.#guard(() => this.#afterChange());
    }
  }

  onJoinTimeout(): void {
    if (this.state.phase !== "joining") return;
    const joined = this.#members.filter((m) => !m.record.closed).length;
    this.#setup.logger.warn(
      { joined, expected: this.#setup.config.cluster.islands },
      "not every island joined in time; going on with those that did",
    );
    this.#guard(() => this.#assignAll());
  }

  /**
   * The heartbeat watch. An island's silence is the time since its last message *read*, less the
   * pauses of this process (core/liveness.ts): a coordinator that was stopped or stalled has the
   * islands' heartbeats of that time still unread in its sockets. A stale island is judged only after
   * setImmediate, which runs after the event loop's poll phase has read what the sockets hold.
   */
  onHeartbeatCheck(timeoutMs: number): void {
    const clock = this.#pauseClock;
    if (clock === null) return;
    const now = performance.now();
    const paused = clock.tick(now);
    if (paused > 0)
      this.#setup.logger.info(
        { pausedMs: Math.round(paused) },
        "the coordinator did not run for a while; islands' silence excludes it",
      );
    if (this.#stale(timeoutMs, now).length > 0) setImmediate(() => this.#judgeSilence(timeoutMs));
  }

  #stale(timeoutMs: number, now: number): Member[] {
    const clock = this.#pauseClock;
    if (clock === null || this.state.phase === "done") return [];
    return this.#live().filter((m) => !m.record.closed && clock.silence(m.lastSeen, now) > timeoutMs);
  }

  #judgeSilence(timeoutMs: number): void {
    const now = performance.now();
    for (const m of this.#stale(timeoutMs, now)) {
      const why = `no message for ${Math.round((now - m.lastSeen) / 1000)} s (missed heartbeats)`;
      this.#guard(() => this.#markLost(m, why));
    }
  }

  /** Proof of life for the islands, which give up on a silent coordinator (cluster.coordinatorTimeoutSeconds). */
  #sendHeartbeats(): void {
    for (const m of this.#members) if (!m.record.closed) m.link.send("heartbeat", {});
  }

  onWallClock(limitSeconds: number): void {
    this.requestStop("wall-clock", `the wall-clock limit of ${limitSeconds} s passed`);
  }

  onAbort(): void {
    this.requestStop("interrupted", "interrupted (signal)");
  }

  onStopTimeout(): void {
    for (const m of this.#live())
      if (!m.record.stopTicket && !m.record.closed)
        this.#guard(() => this.#markLost(m, "no ticket after stop"));
    if (this.state.phase === "stopping") this.#enter("done");
  }

  // ---- joining → running ----

  /** Assigns once every started island has either joined or ended. */
  #maybeAssign(): void {
    if (this.state.phase !== "joining" || this.#handles.length === 0) return;
    const settled = this.#handles.every(
      (h) =>
        this.state.exited.includes(h.index) ||
        this.#members.some((m) => m.record.index === h.index && !m.record.closed),
    );
    if (settled) this.#assignAll();
  }

  #assignAll(): void {
    if (this.state.phase !== "joining") return;
    const joined = this.#members
      .filter((m) => !m.record.closed)
      .sort((a, b) => a.record.index - b.record.index || a.record.pid - b.record.pid);
    for (const m of this.#members) if (!joined.includes(m)) m.link.close("not part of the run");
    if (joined.length === 0) {
      this.#finished.reject(new SltError(E_CLUSTER, "no island joined the run; see the island output above"));
      return;
    }
    this.#enter("running");
    const topology = this.#wire(joined);
    for (const m of joined) {
      m.lastSeen = performance.now();
      this.#sendAssign(m, topology);
    }
    this.#startClocks();
  }

  /**
   * Gives the joined islands their ids and builds the topology. A custom edge list names islands by
   * launcher index (one that never joined is removed, as if lost); built-in kinds number the islands
   * that joined 0 … n−1.
   */
  #wire(joined: readonly Member[]): IslandTopology {
    const { config, plan } = this.#setup;
    const custom = plan.kind === "custom";
    joined.forEach((m, i) => {
      const id = custom ? m.record.index : i;
      m.record.id = id;
      this.#byId.set(id, m);
      m.handle?.setLabel(`island ${id}`);
    });
    const restored = this.#restored(joined.length);
    const topology =
      restored?.topology ??
      buildPlannedTopology(plan, custom ? config.cluster.islands : joined.length, {
        rng: Rng.derive(config.seed, "topology"),
        present: joined.map((m) => m.id),
      });
    this.state.topology = topology;
    this.state.offsets = [
      ...(restored?.offsets ?? migrationOffsets(topology.n, config.cluster.interval, config.cluster.stagger)),
    ];
    const analysis = analyzeTopology(topology);
    this.event({
      type: "topology",
      spec: plan.label,
      n: topology.n,
      weights: topology.weights,
      edges: topology.edges,
      removed: topology.removed,
      warnings: analysis.warnings,
    });
    if (joined.length > 1)
      for (const warning of analysis.warnings) this.#setup.logger.warn({ warning }, "topology warning");
    return topology;
  }

  /**
   * A resumed run: what the coordinator takes back from the checkpoint (null when it has none, after a
   * re-shard). Every island of the checkpoint must have joined: each continues from its own snapshot.
   */
  #restored(joined: number) {
    const resume = this.#setup.resume;
    if (resume === undefined) return null;
    if (joined !== resume.islands.length)
      throw new SltError(
        E_CLUSTER,
        `resuming ${resume.islands.length} islands from ${resume.checkpoint.file}, but only ${joined} joined; resume again (--islands ${joined} re-shards the populations onto ${joined})`,
      );
    if (resume.coordinator === null) return null;
    const restored = restoreCoordinator(resume.coordinator, joined, resume.checkpoint.file);
    this.state.droppedAtResume = restored.droppedAtResume;
    return restored;
  }

  /** The heartbeat watch, an interrupt that came while joining, and the wall-clock limit. */
  #startClocks(): void {
    const { options, config } = this.#setup;
    const heartbeatTimeout = options.heartbeatTimeoutMs ?? 60_000;
    const every = watchPeriodMs(heartbeatTimeout);
    this.#pauseClock = new PauseClock(every, heartbeatTimeout);
    this.#pauseClock.tick(performance.now());
    this.#timers.every(every, () => this.onHeartbeatCheck(heartbeatTimeout));
    if (options.signal?.aborted) this.onAbort();
    this.#runningSince = performance.now();
    const limit = config.cluster.timeLimitSeconds;
    if (limit !== undefined) this.#timers.after(limit * 1000, () => this.onWallClock(limit));
  }

  #memberOf(id: number): Member {
    const m = this.#byId.get(id);
    if (m === undefined) throw new Error(`coordinator: no island ${id}`);
    return m;
  }

  #assignmentOf(m: Member, topology: IslandTopology): AssignBody {
    const { config, genomeLength, maxMigrants, checkpoints, resume } = this.#setup;
    const tls = this.#setup.options.tls;
    // a resumed island's snapshot comes with its first assignment only (repairs do not resend it)
    const from = m.lastAssign === "" ? resume?.islands[m.id] : undefined;
    return {
      island: m.id,
      seedStream: streamName(config.seed, "island", m.id),
      config: this.#islandConfig,
      genomeLength,
      interval: config.cluster.interval,
      offset: this.state.offsets[m.id] ?? 0,
      mode: config.cluster.mode,
      maxMigrants,
      weights: topology.weights,
      outNeighbours: outEdges(topology, m.id).map((e) => ({
        island: e.to,
        address: this.#memberOf(e.to).record.listen,
        weight: e.weight,
      })),
      inNeighbours: inNeighbours(topology, m.id),
      checkpointEvery: checkpoints.every,
      ...(from !== undefined ? { resume: from } : {}),
      // the peer server's certificate and key, over this TLS link (none on a plain ws:// run)
      ...(tls ? { tls: { cert: tls.cert, key: tls.key } } : {}),
    };
  }

  /** Sends an island its assignment unless its neighbour lists are what it has (`resume`: a restart's snapshot). */
  #sendAssign(m: Member, topology: IslandTopology, resume?: AssignBody["resume"]): AssignBody | null {
    const a = resume ? { ...this.#assignmentOf(m, topology), resume } : this.#assignmentOf(m, topology);
    const key = JSON.stringify([a.outNeighbours, a.inNeighbours]);
    if (key === m.lastAssign) return null;
    m.lastAssign = key;
    m.link.send("assign", a);
    const r = m.record;
    this.event({
      type: "assigned",
      island: m.id,
      index: r.index,
      host: r.host,
      pid: r.pid,
      listen: r.listen,
      offset: a.offset,
      out: a.outNeighbours.map((n) => n.island),
      in: a.inNeighbours,
    });
    return a;
  }

  // ---- running ----

  /** The islands that count: assigned, current holders of their id, not lost; in id order. */
  #live(): Member[] {
    if (this.state.phase === "joining") return [];
    return this.#members.filter((m) => this.isCurrent(m) && !m.record.lost).sort((a, b) => a.id - b.id);
  }

  /** The live islands as the checkpoints see them: ids, and those that finished their own search. */
  #liveIslands(): LiveIslands {
    const live = this.#live();
    // an island waiting for its restart is still part of the run: cuts wait for its snapshots
    const ids = [...live.map((m) => m.id), ...this.#restarting.keys()].sort((a, b) => a - b);
    return { ids, finished: live.filter((m) => m.record.finished).map((m) => m.id) };
  }

  #markLost(m: Member, reason: string): void {
    const r = m.record;
    if (r.lost || this.state.phase === "done") return;
    r.lost = true;
    this.event({ type: "lost", island: r.id, index: r.index, host: r.host, pid: r.pid, reason });
    this.#setup.logger.warn({ ...m.fields, reason }, "island lost");
    m.handle?.kill();
    if (!r.closed) m.link.close("lost");
    this.onLostIsland(m, reason);
    this.#afterChange();
  }

  /** Removes island `id` from the topology for good and sends its neighbours the repaired lists. */
  #repair(id: number): void {
    const before = this.state.topology;
    if (before !== null && !before.removed.includes(id)) {
      const topology = removeIsland(before, id);
      this.state.topology = topology;
      this.event({ type: "topology-repaired", removed: topology.removed, edges: topology.edges });
      if (this.state.phase === "running") for (const other of this.#live()) this.#sendAssign(other, topology);
    }
    this.#checkpoints.liveChanged(this.#liveIslands());
  }

  /** What follows a change: the termination policy while running; the end once every live island answered `stop`. */
  #afterChange(): void {
    if (this.state.phase === "running" && this.state.stop === null) {
      // an island waiting for its restart still counts: the run waits for it
      const decision = decideStop(
        this.#members
          .filter((m) => this.isCurrent(m))
          .map((m) => ({ ...stopViewOf(m.record), lost: m.record.lost && !this.#restarting.has(m.id) })),
        this.#setup.config,
      );
      if (decision !== null) this.requestStop(decision.reason, decision.detail);
    } else if (this.state.phase === "stopping") {
      if (this.#live().every((m) => m.record.stopTicket || m.record.closed)) this.#enter("done");
    }
  }

  // ---- handlers: losing, restarting and joining islands while the run goes on ----

  /** A hello after the start: a restarted island taking back its id, an elastic join, or a refusal. */
  onLateJoin(link: Link, hello: LateHello): void {
    const pending = [...this.#restarting.values()].find((p) => p.index === hello.island);
    // the index is the launcher's: a joiner's own (SLT_ISLAND_INDEX) names nothing, it gets the next id
    if (this.state.phase === "running" && pending !== undefined) this.onRestartJoin(link, hello, pending);
    else this.onElasticJoin(link, hello);
  }

  /** A member for an island that joined while the run goes on, holding id `id` from now on. */
  #admit(link: Link, hello: LateHello, id: number, handle: IslandHandle | null): Member {
    const record = newMember({ index: hello.island, host: hello.host, pid: hello.pid, listen: hello.listen });
    record.id = id;
    const m = new Member(record, link, handle);
    this.#members.push(m);
    this.state.members.push(record);
    this.#byId.set(id, m);
    handle?.setLabel(`island ${id}`);
    this.event({
      type: "joined",
      index: record.index,
      host: record.host,
      pid: record.pid,
      listen: record.listen,
    });
    link.onMessage = (msg) => this.onMessage(m, msg);
    link.onClose = (code, reason) => this.onLinkClose(m, code, reason);
    m.lastSeen = performance.now();
    return m;
  }

  /**
   * An island joins a running search (`slt island --join URL` with the run secret): async runs give it
   * the next id and a place by the topology's rule (core/topology.ts addIsland) and send its new
   * neighbours fresh assignments; lockstep runs refuse it (every barrier would change under the islands).
   */
  onElasticJoin(link: Link, hello: LateHello): void {
    const refuse = (reason: string) => {
      link.send("error", { code: E_CLUSTER, reason });
      link.fail(failure(R_UNEXPECTED_TYPE, reason));
    };
    if (this.state.phase !== "running" || this.state.stop !== null) {
      refuse("the run is stopping; it takes no new islands");
      return;
    }
    if (this.#setup.config.cluster.mode === "lockstep") {
      refuse("a lockstep run takes no islands after its start (use --mode async to let islands join)");
      return;
    }
    const { config, plan } = this.#setup;
    const topology = addIsland(this.state.topology as IslandTopology, {
      weight: plan.kind === "spec" ? plan.weight : 1,
    });
    const id = topology.n - 1;
    this.state.topology = topology;
    this.state.offsets[id] = migrationOffsets(topology.n, config.cluster.interval, config.cluster.stagger)[
      id
    ];
    const m = this.#admit(link, hello, id, null);
    this.event({
      type: "island-added",
      island: id,
      index: hello.island,
      host: hello.host,
      pid: hello.pid,
      in: inNeighbours(topology, id),
      out: outEdges(topology, id).map((e) => e.to),
      edges: topology.edges,
    });
    this.#sendAssign(m, topology);
    for (const other of this.#live()) this.#sendAssign(other, topology);
    this.#afterChange();
  }

  /** What follows a loss: a restart while the island has some left, else its removal from the topology. */
  onLostIsland(m: Member, reason: string): void {
    const id = m.id;
    const used = this.state.restarts[id] ?? 0;
    const restartable =
      this.state.phase === "running" &&
      this.state.stop === null &&
      this.#launcher?.restart !== undefined &&
      m.handle !== null &&
      !m.record.finished &&
      this.isCurrent(m) &&
      used < this.#setup.config.cluster.maxRestarts;
    if (restartable) this.#scheduleRestart(id, m.record.index, used + 1, reason);
    else this.#repair(id);
  }

  /** Restart number `attempt` of island `id`, after 1 s, 2 s, 4 s, … (`restartBackoffMs` doubled each time). */
  #scheduleRestart(id: number, index: number, attempt: number, reason: string): void {
    this.state.restarts[id] = attempt;
    this.#restarting.set(id, { id, index, attempt, reason, handle: null });
    const delayMs = (this.#setup.options.restartBackoffMs ?? 1000) * 2 ** (attempt - 1);
    this.#setup.logger.warn({ island: id, index, attempt, delayMs, reason }, "restarting island");
    this.#timers.after(delayMs, () => this.onRestartDue(id));
  }

  onRestartDue(id: number): void {
    const p = this.#restarting.get(id);
    const launcher = this.#launcher;
    if (p === undefined || launcher?.restart === undefined || this.state.phase !== "running") return;
    launcher.restart(p.index).then(
      (h) => this.#guard(() => this.onRestartStarted(p, h)),
      (e: Error) =>
        this.#guard(() => this.onRestartFailed(p, `the launcher could not restart it: ${e.message}`)),
    );
  }

  onRestartStarted(p: PendingRestart, h: IslandHandle): void {
    this.#handles.push(h);
    void h.exited.then((exit) => this.#guard(() => this.onIslandExit(h, exit)));
    if (this.#restarting.get(p.id) !== p) {
      h.kill(); // the run stopped, or the island was given up, while the launcher was at work
      return;
    }
    p.handle = h;
    this.event({
      type: "island-started",
      index: h.index,
      host: h.host,
      pid: h.pid,
      island: p.id,
      attempt: p.attempt,
    });
    const timeoutMs = this.#setup.options.joinTimeoutMs ?? 60_000;
    this.#timers.after(timeoutMs, () => {
      if (p.handle === h && this.#restarting.get(p.id) === p)
        this.#guard(() => this.onRestartFailed(p, `it did not join within ${timeoutMs} ms`));
    });
  }

  /** A try that did not bring the island back: the next one, or the island is removed for good. */
  onRestartFailed(p: PendingRestart, why: string): void {
    if (this.#restarting.get(p.id) !== p) return;
    const h = p.handle;
    p.handle = null;
    h?.kill();
    this.#restarting.delete(p.id);
    this.#setup.logger.warn(
      { island: p.id, index: p.index, attempt: p.attempt, reason: why },
      "island restart failed",
    );
    if (this.state.phase !== "running" || this.state.stop !== null) return;
    if (p.attempt < this.#setup.config.cluster.maxRestarts)
      this.#scheduleRestart(p.id, p.index, p.attempt + 1, p.reason);
    else this.#repair(p.id);
    this.#afterChange();
  }

  /**
   * The restarted island has joined: it takes back its id and place in the topology, resumes from its
   * latest snapshot (fresh without one), and its in-neighbours get its new address.
   */
  onRestartJoin(link: Link, hello: LateHello, p: PendingRestart): void {
    this.#restarting.delete(p.id);
    // the lost process's latest snapshot (cluster-ckpt keeps it on its Member); the new one keeps it too
    const snapshot = this.#byId.get(p.id)?.snapshot ?? null;
    const m = this.#admit(link, hello, p.id, p.handle);
    if (snapshot !== null) m.snapshot = snapshot;
    const topology = this.state.topology as IslandTopology;
    // without a snapshot of its own, the island starts as it first did (a resumed run's snapshot, or fresh)
    const resume = this.#sendAssign(m, topology, snapshot ?? undefined)?.resume ?? null;
    this.event({
      type: "island-restarted",
      island: p.id,
      index: p.index,
      attempt: p.attempt,
      fromGeneration: resume?.ga.generation ?? 0,
      fromEpoch: resume?.epoch ?? 0,
      reason: p.reason,
      host: hello.host,
      pid: hello.pid,
    });
    for (const other of this.#live()) this.#sendAssign(other, topology);
    this.#afterChange();
  }

  /** The run stops: islands waiting for a restart stay lost. */
  #cancelRestarts(): void {
    for (const p of this.#restarting.values()) p.handle?.kill();
    this.#restarting.clear();
  }

  // ---- running → stopping → done ----

  /** The one way a run stops: records why, and stops once the beforeStop hook is done. */
  requestStop(reason: ClusterStopReason, detail: string): void {
    if (this.state.stop !== null || this.state.phase !== "running") return;
    this.state.stop = { reason, detail };
    // the decision and what it rests on, when it is taken
    this.event({
      type: "termination",
      reason,
      detail,
      islands: this.#live().map((m) => ({
        island: m.id,
        generation: m.record.lastReport?.generation ?? 0,
        verdict: m.record.lastReport?.verdict ?? null,
        // what ended a finished island (null: still running)
        finished: this.#finishedOf(m),
      })),
    });
    this.#setup.options.progress?.write(`slt: stopping the run (${reason}): ${detail}\n`);
    void this.#stopAfterHook(reason);
  }

  async #stopAfterHook(reason: ClusterStopReason): Promise<void> {
    try {
      await this.#setup.options.hooks?.beforeStop?.(this.control);
    } catch (err) {
      this.#setup.logger.error({ hook: "beforeStop", err }, "a hook failed");
    }
    if (this.state.phase !== "running") return;
    this.#enter("stopping");
    this.#cancelRestarts();
    this.event({ type: "stop", reason });
    for (const m of this.#live()) m.link.send("stop", { reason });
    this.#timers.after(this.#setup.options.stopTimeoutMs ?? 30_000, () => this.onStopTimeout());
    this.#guard(() => this.#afterChange());
  }

  // ---- progress and views ----

  #finishedOf(m: Member) {
    const cap = this.#setup.config.termination.maxGenerations;
    return m.record.finished ? finishedBy(m.record.ticket?.generation ?? 0, cap) : null;
  }

  #islandInfos(): ClusterIslandInfo[] {
    return this.members
      .slice()
      .sort((a, b) => a.id - b.id || a.record.index - b.record.index)
      .map((m) => ({
        id: this.state.phase === "joining" ? null : m.id,
        index: m.record.index,
        host: m.record.host,
        pid: m.record.pid,
        listen: m.record.listen,
        lost: m.record.lost,
      }));
  }

  #progressView(now: number): ClusterView {
    const { config, started } = this.#setup;
    const since = this.#runningSince;
    return {
      elapsedSeconds: (now - started) / 1000,
      fitness: config.ga.fitness,
      maxGenerations: config.termination.maxGenerations,
      maxEvaluations: config.termination.maxEvaluations,
      timeLimit:
        since === null
          ? undefined
          : { limitSeconds: config.cluster.timeLimitSeconds, elapsedSeconds: (now - since) / 1000 },
      migrants: this.totals(),
      stopping: this.state.stop?.reason ?? null,
      islands: this.#members
        .filter((m) => this.isCurrent(m))
        .sort((a, b) => a.id - b.id)
        .map((m) => ({
          id: m.id,
          host: m.record.host,
          lost: m.record.lost,
          finished: this.#finishedOf(m),
          report: m.record.lastReport,
          rates: m.rates.rates(),
          maxEvaluations: evaluationShare(config.termination.maxEvaluations, config.cluster.islands, m.id),
        })),
    };
  }

  /** One progress block per interval at most, unless forced; what it says is cluster-progress.ts's. */
  progress(force = false): void {
    const out = this.#setup.options.progress;
    if (!out) return;
    const now = performance.now();
    if (!force && now - this.#lastProgress < (this.#setup.options.progressIntervalMs ?? 1000)) return;
    const lines = renderClusterProgress(this.#progressView(now));
    if (lines === null) return;
    this.#lastProgress = now;
    out.write(`${lines.join("\n")}\n`);
  }
}
