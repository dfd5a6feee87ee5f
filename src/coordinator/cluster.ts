// One island-model run over processes: config → run directory → per-run secret → a WebSocket server on
// 127.0.0.1 (or `listen`, for islands on other hosts) → islands started through a launcher → handshake →
// ids (by launcher index) and the topology wired with the islands' own listen addresses → reports,
// migrations and lifecycle events into events.jsonl → global termination → stop → tickets gathered →
// the best over islands (run fitness, sparsity breaking ties) → optional post-pruning → ticket.json and
// a summary.
//
// A lost island (its connection closes before it was asked to stop, or its process exits) is recorded,
// removed from the topology (core/topology.ts removeIsland), its neighbours get a fresh assignment with
// the repaired neighbour lists, and the run goes on.
//
// Synchrony (docs/architecture.md, "Synchrony"): `async` islands never wait; each reports its own
// termination rule's verdict and goes on, and the coordinator ends the run (target, all plateaued, cap,
// wall clock); `lockstep` islands wait at every migration for the emigrants of all their in-neighbours
// and run to the generation cap (no early rules, no target stop), so that a seed gives the same ticket
// whatever the timing.
import { randomBytes } from "node:crypto";
import { isIPv6 } from "node:net";
import { WebSocketServer } from "ws";
import type { ResolvedConfig } from "../core/config.ts";
import { E_CLUSTER, E_CONFIG, SltError } from "../core/errors.ts";
import type { BatchEvaluator } from "../core/evaluate.ts";
import {
  bestIndividual,
  evaluationShare,
  fitnessOf,
  type Individual,
  postPrune,
  pruneWalk,
} from "../core/ga/index.ts";
import { type Mask, sparsity } from "../core/mask.ts";
import { migrationOffsets, parseSelectionPolicy } from "../core/migration.ts";
import {
  type AssignBody,
  failure,
  individualFromMigrant,
  MAX_MIGRANTS,
  maxFrameBytes,
  R_BAD_FIELD,
  R_UNEXPECTED_TYPE,
  type ReportBody,
  type TicketBody,
} from "../core/protocol/index.ts";
import { Rng, streamName } from "../core/rng.ts";
import { ticketToJson } from "../core/ticket.ts";
import {
  analyzeTopology,
  buildPlannedTopology,
  type Topology as IslandTopology,
  inNeighbours,
  outEdges,
  planTopology,
  removeIsland,
  type TopologyPlan,
} from "../core/topology.ts";
import { Link, type LinkLimits, type LinkSelf } from "../io/link.ts";
import { lineLogger } from "../io/log.ts";
import { RateWindow } from "../io/progress.ts";
import { createRunDir, type RunDir } from "../io/run-dir.ts";
import { softwareVersions } from "../io/versions.ts";
import { type ClusterView, finishedBy, renderClusterProgress } from "./cluster-progress.ts";
import type { IslandHandle, Launcher } from "./launcher.ts";
import { localLauncher } from "./launcher-local.ts";
import { loadRunData } from "./run-data.ts";
import type { EvaluatorFactory } from "./single-population.ts";

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

export interface ClusterOptions {
  readonly makeEvaluator: EvaluatorFactory;
  /** default: local child processes */
  readonly launcher?: Launcher;
  /**
   * where the coordinator's WebSocket server listens (default 127.0.0.1, port 0 = any free port); the
   * join URL islands get names this host, so it must be an address the islands reach
   */
  readonly listen?: { readonly host: string; readonly port: number };
  /** where progress lines go; none when undefined */
  readonly progress?: NodeJS.WritableStream;
  /** at most one progress block per this many ms, besides the last (default 1000; 0: every report) */
  readonly progressIntervalMs?: number;
  /** log lines (refused connections, island output); default stderr */
  readonly log?: (line: string) => void;
  /** aborting stops the run: islands are asked for their tickets and the ticket is written */
  readonly signal?: AbortSignal;
  readonly hooks?: ClusterHooks;
  /** how long islands have to start and join (default 60 s) */
  readonly joinTimeoutMs?: number;
  /** how long islands have to answer `stop` with a ticket (default 30 s) */
  readonly stopTimeoutMs?: number;
  /** an island that sends nothing (islands send a heartbeat every second) for this long is lost (default 60 s) */
  readonly heartbeatTimeoutMs?: number;
}

/**
 * Why the coordinator stopped the run: an island reached the target (100% training accuracy under
 * the 2025-binary rule), every live island reported a plateau of its rule (or sits at the cap), every
 * live island reached the generation cap, the wall-clock limit passed, Ctrl-C, or no island was left.
 */
export type ClusterStopReason =
  | "target"
  | "all-plateaued"
  | "max-generations"
  | "max-evaluations"
  | "wall-clock"
  | "interrupted"
  | "all-lost";

export interface ClusterIslandSummary {
  readonly id: number;
  readonly host: string;
  readonly pid: number | null;
  readonly bestFitness: number | null;
  readonly generations: number;
  readonly evaluations: number;
  readonly lost: boolean;
}

export interface ClusterSummary {
  trainAccuracy: number;
  trainLoss: number;
  testAccuracy: number;
  /** best test accuracy among the islands' best individuals */
  bestTestAccuracyInPopulation: number;
  sparsity: number;
  prunedSparsity: number | null;
  prunedTestAccuracy: number | null;
  pruneMode: "none" | "clean" | "published";
  /** the most generations any island ran */
  generations: number;
  /** the search's evaluations: all islands' (what `--max-evaluations` counts) */
  evaluations: number;
  /** the coordinator's post-evolutionary pruning's evaluations, counted apart; 0 without pruning */
  pruneEvaluations: number;
  wallSeconds: number;
  ticket: string;
  runDir: string;
  seed: number;
  stopReason: ClusterStopReason;
  topology: string;
  mode: "async" | "lockstep";
  /** the island whose individual became the ticket */
  bestIsland: number;
  islands: ClusterIslandSummary[];
  migrations: { sent: number; received: number; accepted: number; rejected: number; dropped: number };
  lost: number[];
}

interface Member {
  readonly link: Link;
  readonly index: number;
  readonly host: string;
  readonly pid: number;
  readonly listen: string;
  handle: IslandHandle | null;
  id: number;
  lastReport: ReportBody | null;
  ticket: TicketBody | null;
  /** the island ended its own search and sent a ticket */
  finished: boolean;
  /** a ticket arrived after `stop` */
  stopTicket: boolean;
  closed: boolean;
  lost: boolean;
  lastAssign: string;
  /** performance.now() of the last message from it */
  lastSeen: number;
  /** its reports' progress, timed on arrival: the generation rate for the ETA */
  readonly rates: RateWindow;
}

/**
 * Checks the cluster settings and the coordinator's address before anything starts (also for `slt run
 * --dry-run`); returns the topology plan and the largest edge weight.
 */
export function checkClusterSettings(
  config: ResolvedConfig,
  listen?: ClusterOptions["listen"],
): { plan: TopologyPlan; maxWeight: number } {
  const listenHost = listen?.host ?? "127.0.0.1";
  if (listenHost === "0.0.0.0" || listenHost === "::" || listenHost === "") {
    throw new SltError(
      E_CONFIG,
      `--listen needs the address islands reach the coordinator at, not "${listenHost}"`,
    );
  }
  // islands evaluate on the full training split; a mini-batch config must not be silently ignored
  if (config.ga.fitnessSubset !== undefined)
    throw new SltError(
      E_CONFIG,
      "invalid configuration: ga.fitnessSubset (mini-batch fitness) runs one population only (--islands 1); the island cluster does not support it",
    );
  try {
    const plan = planTopology(config.cluster.topology, config.cluster.migrationProbability);
    const t = buildPlannedTopology(plan, config.cluster.islands, {
      rng: Rng.derive(config.seed, "topology"),
    });
    parseSelectionPolicy(config.cluster.selection);
    return { plan, maxWeight: Math.max(1, ...t.edges.map((e) => e.weight)) };
  } catch (e) {
    // a bad topology or policy is a configuration error (exit code 2), found before anything starts
    throw e instanceof SltError ? new SltError(E_CONFIG, `invalid configuration: cluster: ${e.message}`) : e;
  }
}

export async function runCluster(
  resolvedConfig: ResolvedConfig,
  options: ClusterOptions,
): Promise<ClusterSummary> {
  const started = performance.now();
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const logger = lineLogger(log);
  const { plan, maxWeight } = checkClusterSettings(resolvedConfig, options.listen);
  const listenHost = options.listen?.host ?? "127.0.0.1";
  const { config, dataset, network, datasetRecord } = loadRunData(resolvedConfig);
  const cluster = config.cluster;
  const fitness = config.ga.fitness;
  const genomeLength = network.genomeLength;
  const maxMigrants = Math.min(MAX_MIGRANTS, Math.max(1, cluster.migrants * maxWeight));

  const dir: RunDir = createRunDir(config.out, config.name, {
    startedAt: performance.timeOrigin + started,
  });
  dir.writeJson("config.json", {
    ...config,
    runDir: dir.path,
    startTime: dir.startTime,
    dataset: { ...config.dataset, resolved: datasetRecord },
    versions: softwareVersions(),
  });
  // What islands get: the resolved config (absolute data paths) as plain JSON.
  const islandConfig = JSON.parse(JSON.stringify(config)) as AssignBody["config"];

  const secret = randomBytes(32).toString("hex");
  const runId = `run-${randomBytes(8).toString("hex")}`;
  const limits: LinkLimits = { genomeLength, maxMigrants };
  const self: LinkSelf = {
    runId,
    secret,
    name: "coordinator",
    role: "coordinator",
    island: null,
    host: listenHost,
    pid: process.pid,
    listen: null,
  };

  const wss = new WebSocketServer({
    host: listenHost,
    port: options.listen?.port ?? 0,
    maxPayload: maxFrameBytes(genomeLength, maxMigrants),
    perMessageDeflate: false,
  });
  await new Promise<void>((done, fail) => {
    wss.once("listening", () => done());
    wss.once("error", fail);
  });
  const port = (wss.address() as { port: number }).port;
  const address = `ws://${isIPv6(listenHost) ? `[${listenHost}]` : listenHost}:${port}`;
  const joinUrl = `${address}/?run=${runId}`;

  const members: Member[] = [];
  const byId = new Map<number, Member>();
  let handles: IslandHandle[] = [];
  /** launcher indices whose process has ended */
  const exitedIndices = new Set<number>();
  let phase: "joining" | "running" | "stopping" | "done" = "joining";
  let topology: IslandTopology | null = null;
  let stopReason: ClusterStopReason = "all-lost";
  let resolveDone: () => void = () => {};
  let rejectDone: (e: Error) => void = () => {};
  const done = new Promise<void>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  const timers: NodeJS.Timeout[] = [];

  const control: ClusterControl = {
    runId,
    joinUrl,
    runDir: dir.path,
    islands: () =>
      [...members]
        .sort((a, b) => a.id - b.id || a.index - b.index)
        .map((m) => ({
          id: phase === "joining" ? null : m.id,
          index: m.index,
          host: m.host,
          pid: m.pid,
          listen: m.listen,
          lost: m.lost,
        })),
    kill: (id) => byId.get(id)?.handle?.kill(),
  };

  const event = (e: Record<string, unknown>) => {
    const full = dir.appendEvent(e);
    try {
      options.hooks?.onEvent?.(full, control);
    } catch (err) {
      log(`slt coordinator: an event hook failed: ${(err as Error).message}`);
    }
  };

  // ---- progress ----
  // One block per interval at most, unless forced; what it says is cluster-progress.ts's.
  const cap = config.termination.maxGenerations;
  const finishedOf = (m: Member) => (m.finished ? finishedBy(m.ticket?.generation ?? 0, cap) : null);
  /** performance.now() when the islands got their assignments: the time limit counts from there */
  let runningSince: number | null = null;
  const progressView = (now: number): ClusterView => ({
    elapsedSeconds: (now - started) / 1000,
    fitness,
    maxGenerations: cap,
    maxEvaluations: config.termination.maxEvaluations,
    timeLimit:
      runningSince === null
        ? undefined
        : { limitSeconds: cluster.timeLimitSeconds, elapsedSeconds: (now - runningSince) / 1000 },
    migrants: totals(),
    stopping: stopRequested ? stopReason : null,
    islands: members
      .filter((m) => m.id >= 0 && byId.get(m.id) === m)
      .sort((a, b) => a.id - b.id)
      .map((m) => ({
        id: m.id,
        host: m.host,
        lost: m.lost,
        finished: finishedOf(m),
        report: m.lastReport,
        rates: m.rates.rates(),
        maxEvaluations: evaluationShare(config.termination.maxEvaluations, cluster.islands, m.id),
      })),
  });
  const progressInterval = options.progressIntervalMs ?? 1000;
  let lastProgress = Number.NEGATIVE_INFINITY;
  const progress = (force = false) => {
    if (!options.progress) return;
    const now = performance.now();
    if (!force && now - lastProgress < progressInterval) return;
    const lines = renderClusterProgress(progressView(now));
    if (lines === null) return;
    lastProgress = now;
    options.progress.write(`${lines.join("\n")}\n`);
  };

  const totals = () => {
    const t = { sent: 0, received: 0, accepted: 0, rejected: 0, dropped: 0 };
    for (const m of members) {
      const c = m.lastReport?.migration;
      if (!c) continue;
      t.sent += c.sent;
      t.received += c.received;
      t.accepted += c.accepted;
      t.rejected += c.rejected;
      t.dropped += c.dropped;
    }
    return t;
  };

  // ---- assignment and topology ----
  const assignmentOf = (m: Member): AssignBody => {
    const t = topology as IslandTopology;
    return {
      island: m.id,
      seedStream: streamName(config.seed, "island", m.id),
      config: islandConfig,
      genomeLength,
      interval: cluster.interval,
      offset: offsets[m.id] ?? 0,
      mode: cluster.mode,
      maxMigrants,
      outNeighbours: outEdges(t, m.id).map((e) => ({
        island: e.to,
        address: (byId.get(e.to) as Member).listen,
        weight: e.weight,
      })),
      inNeighbours: inNeighbours(t, m.id),
    };
  };
  let offsets: number[] = [];

  const sendAssign = (m: Member) => {
    const a = assignmentOf(m);
    const key = JSON.stringify([a.outNeighbours, a.inNeighbours]);
    if (key === m.lastAssign) return;
    m.lastAssign = key;
    m.link.send("assign", a);
    event({
      type: "assigned",
      island: m.id,
      index: m.index,
      host: m.host,
      pid: m.pid,
      listen: m.listen,
      offset: a.offset,
      out: a.outNeighbours.map((n) => n.island),
      in: a.inNeighbours,
    });
  };

  const assignAll = () => {
    if (phase !== "joining") return;
    const joined = members.filter((m) => !m.closed).sort((a, b) => a.index - b.index || a.pid - b.pid);
    for (const m of members) if (!joined.includes(m)) m.link.close("not part of the run");
    if (joined.length === 0) {
      rejectDone(new SltError(E_CLUSTER, "no island joined the run; see the island output above"));
      return;
    }
    phase = "running";
    // A custom edge list names islands by launcher index (one that never joined is removed, as if
    // lost); built-in kinds number the islands that joined 0 … n−1.
    const custom = plan.kind === "custom";
    joined.forEach((m, i) => {
      const id = custom ? m.index : i;
      m.id = id;
      byId.set(id, m);
      m.handle?.setLabel(`island ${id}`);
    });
    topology = buildPlannedTopology(plan, custom ? cluster.islands : joined.length, {
      rng: Rng.derive(config.seed, "topology"),
      present: joined.map((m) => m.id),
    });
    offsets = migrationOffsets(topology.n, cluster.interval, cluster.stagger);
    const analysis = analyzeTopology(topology);
    event({
      type: "topology",
      spec: plan.label,
      n: topology.n,
      weights: topology.weights,
      edges: topology.edges,
      removed: topology.removed,
      warnings: analysis.warnings,
    });
    if (joined.length > 1) for (const w of analysis.warnings) log(`slt: topology warning: ${w}`);
    for (const m of joined) {
      m.lastSeen = performance.now();
      sendAssign(m);
    }
    const heartbeatTimeout = options.heartbeatTimeoutMs ?? 60_000;
    const watch = setInterval(
      () =>
        guard(() => {
          const now = performance.now();
          for (const m of live()) {
            if (!m.closed && now - m.lastSeen > heartbeatTimeout)
              markLost(m, `no message for ${Math.round((now - m.lastSeen) / 1000)} s (missed heartbeats)`);
          }
        }),
      Math.max(100, Math.min(1000, heartbeatTimeout / 4)),
    );
    timers.push(watch);
    if (options.signal?.aborted) requestStop("interrupted", "interrupted (signal)");
    runningSince = performance.now();
    const limit = cluster.timeLimitSeconds;
    if (limit !== undefined) {
      timers.push(
        setTimeout(
          () => requestStop("wall-clock", `the wall-clock limit of ${limit} s passed`),
          limit * 1000,
        ),
      );
    }
  };

  /** Assigns once every started island has either joined or ended. */
  const maybeAssign = () => {
    if (phase !== "joining" || handles.length === 0) return;
    const settled = handles.every(
      (h) => exitedIndices.has(h.index) || members.some((m) => m.index === h.index && !m.closed),
    );
    if (settled) assignAll();
  };

  /** Runs a state change from an event handler; a failure ends the run instead of the process. */
  const guard = (f: () => void) => {
    try {
      f();
    } catch (e) {
      rejectDone(e as Error);
    }
  };

  const live = () =>
    members.filter((m) => phase !== "joining" && byId.get(m.id) === m && !m.lost).sort((a, b) => a.id - b.id);

  const markLost = (m: Member, why: string) => {
    if (m.lost || phase === "done") return;
    m.lost = true;
    event({ type: "lost", island: m.id, index: m.index, host: m.host, pid: m.pid, reason: why });
    log(`slt: island ${m.id} (pid ${m.pid} on ${m.host}) lost: ${why}`);
    m.handle?.kill();
    if (!m.closed) m.link.close("lost");
    if (topology && !topology.removed.includes(m.id)) {
      topology = removeIsland(topology, m.id);
      event({ type: "topology-repaired", removed: topology.removed, edges: topology.edges });
      if (phase === "running") for (const other of live()) sendAssign(other);
    }
    afterChange();
  };

  // Global termination. An island stops by itself only at the generation cap (it then sends its
  // ticket and waits); its own rule's verdict (plateau, perfect accuracy) comes in its reports while it
  // goes on evolving and migrating, and the coordinator decides here. Lost islands do not count.
  const afterChange = () => {
    if (phase === "running") {
      const l = live();
      if (l.length === 0) requestStop("all-lost", "no island is left");
      else if (l.every((m) => m.finished)) {
        // an island below the generation cap stopped at its share of the evaluation budget
        // (without a cap, only the budget can have finished them)
        const budget = config.termination.maxEvaluations;
        if (budget !== undefined && (cap === null || l.some((m) => (m.ticket?.generation ?? cap) < cap)))
          requestStop(
            "max-evaluations",
            `every live island spent its share of the budget of ${budget} evaluations`,
          );
        else requestStop("max-generations", `every live island reached the cap of ${cap} generations`);
      } else if (
        cluster.mode === "async" &&
        l.every((m) => m.finished || m.lastReport?.verdict === "plateau")
      ) {
        const done = l.filter((m) => m.finished).map((m) => `${m.id} (${finishedOf(m)})`);
        requestStop(
          "all-plateaued",
          `islands ${l
            .filter((m) => !m.finished)
            .map((m) => m.id)
            .join(", ")} report a plateau (rule ${config.termination.rule})` +
            (done.length > 0 ? `; islands ${done.join(", ")} are done` : ""),
        );
      }
    } else if (phase === "stopping") {
      if (live().every((m) => m.stopTicket || m.closed)) {
        phase = "done";
        resolveDone();
      }
    }
  };

  let stopRequested = false;
  const requestStop = (reason: ClusterStopReason, detail: string) => {
    if (stopRequested || phase !== "running") return;
    stopRequested = true;
    stopReason = reason;
    // the decision and what it rests on, when it is taken
    event({
      type: "termination",
      reason,
      detail,
      islands: live().map((m) => ({
        island: m.id,
        generation: m.lastReport?.generation ?? 0,
        verdict: m.lastReport?.verdict ?? null,
        // what ended a finished island (null: still running)
        finished: finishedOf(m),
      })),
    });
    options.progress?.write(`slt: stopping the run (${reason}): ${detail}\n`);
    void (async () => {
      try {
        await options.hooks?.beforeStop?.(control);
      } catch (e) {
        log(`slt coordinator: the beforeStop hook failed: ${(e as Error).message}`);
      }
      phase = "stopping";
      event({ type: "stop", reason });
      for (const m of live()) m.link.send("stop", { reason });
      timers.push(
        setTimeout(() => {
          for (const m of live()) if (!m.stopTicket && !m.closed) markLost(m, "no ticket after stop");
          if (phase === "stopping") {
            phase = "done";
            resolveDone();
          }
        }, options.stopTimeoutMs ?? 30_000),
      );
      afterChange();
    })();
  };
  const onAbort = () => requestStop("interrupted", "interrupted (signal)");
  options.signal?.addEventListener("abort", onAbort);

  // ---- connections ----
  wss.on("connection", (ws, req) => {
    const remote = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    const link = new Link(ws, "server", {
      self,
      limits,
      peerRole: "island",
      accept: ["report", "ticket", "heartbeat", "error"],
      logger,
      label: remote,
    });
    link.ready.then(
      () => {},
      (e: Error) => event({ type: "connection-refused", remote, reason: e.message }),
    );
    link.ready.then(
      () => guard(() => onJoin(link)),
      () => {},
    );
  });

  const onJoin = (link: Link) => {
    const hello = link.peerHello;
    if (!hello || hello.island === null || hello.listen === null) {
      link.fail(failure(R_BAD_FIELD, "an island's hello must carry its launcher index and listen address"));
      return;
    }
    if (phase !== "joining") {
      link.fail(failure(R_UNEXPECTED_TYPE, "the run has started; it takes no new islands"));
      return;
    }
    if (hello.island >= cluster.islands) {
      link.fail(failure(R_BAD_FIELD, `island index ${hello.island} is not one this run started`));
      return;
    }
    const handle = handles.find((h) => h.index === hello.island) ?? null;
    if (members.some((m) => m.index === hello.island && !m.closed)) {
      link.fail(failure(R_BAD_FIELD, `island index ${hello.island} has already joined`));
      return;
    }
    const m: Member = {
      link,
      index: hello.island,
      host: hello.host,
      pid: hello.pid,
      listen: hello.listen,
      handle,
      id: -1,
      lastReport: null,
      ticket: null,
      finished: false,
      stopTicket: false,
      closed: false,
      lost: false,
      lastAssign: "",
      lastSeen: performance.now(),
      rates: new RateWindow(),
    };
    members.push(m);
    event({ type: "joined", index: m.index, host: m.host, pid: m.pid, listen: m.listen });
    link.onMessage = (msg) => {
      m.lastSeen = performance.now();
      if (msg.type === "report") guard(() => onReport(m, msg.body, msg.epoch));
      else if (msg.type === "ticket") guard(() => onTicket(m, msg.body));
      else if (msg.type === "error")
        log(`slt: island ${m.id} sent error ${msg.body.code}: ${msg.body.reason}`);
    };
    link.onClose = (code, reason) => {
      m.closed = true;
      if (phase === "joining") {
        event({ type: "left-before-start", index: m.index, host: m.host, pid: m.pid, code, reason });
        guard(maybeAssign);
        return;
      }
      if (phase === "running" || (phase === "stopping" && !m.stopTicket)) {
        guard(() => markLost(m, `connection closed (${code}${reason ? ` ${reason}` : ""}) without a ticket`));
      } else {
        event({ type: "island-closed", island: m.id, host: m.host, pid: m.pid, code });
      }
      afterChange();
    };
    maybeAssign();
  };

  const onReport = (m: Member, r: ReportBody, epoch: number) => {
    if (r.island !== m.id) {
      m.link.fail(failure(R_BAD_FIELD, `a report for island ${r.island} on island ${m.id}'s connection`));
      return;
    }
    const before = m.lastReport?.migration;
    m.lastReport = r;
    m.rates.add({ at: performance.now(), generation: r.generation, evaluations: r.evaluations });
    event({
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
      host: r.host,
    });
    const c = r.migration;
    const delta = {
      sent: c.sent - (before?.sent ?? 0),
      received: c.received - (before?.received ?? 0),
      accepted: c.accepted - (before?.accepted ?? 0),
      rejected: c.rejected - (before?.rejected ?? 0),
      dropped: c.dropped - (before?.dropped ?? 0),
    };
    if (Object.values(delta).some((v) => v !== 0))
      event({ type: "migration", island: m.id, epoch, ...delta });
    // (lockstep runs go to the cap: a stop at whatever generation each island has reached by then
    // would depend on timing)
    if (
      cluster.mode === "async" &&
      (r.verdict === "perfect-accuracy" ||
        (config.termination.rule === "2025-binary" && r.bestAccuracy === 1))
    )
      requestStop("target", `island ${m.id} reached 100% training accuracy at generation ${r.generation}`);
    afterChange();
    progress();
  };

  const onTicket = (m: Member, t: TicketBody) => {
    if (t.island !== m.id) {
      m.link.fail(failure(R_BAD_FIELD, `a ticket for island ${t.island} on island ${m.id}'s connection`));
      return;
    }
    m.ticket = t;
    event({
      type: "ticket",
      island: m.id,
      generation: t.generation,
      evaluations: t.evaluations,
      fitness: fitnessOf(t.best, fitness),
      accuracy: t.best.accuracy,
      loss: t.best.loss,
      sparsity: t.best.zeros / genomeLength,
      afterStop: phase === "stopping",
    });
    if (phase === "stopping") m.stopTicket = true;
    else m.finished = true;
    afterChange();
  };

  // ---- start ----
  const launcher = options.launcher ?? localLauncher({ logger });
  event({
    type: "start",
    name: config.name,
    seed: config.seed,
    runId,
    genomeLength,
    population: config.ga.population,
    islands: cluster.islands,
    topology: plan.label,
    interval: cluster.interval,
    migrants: cluster.migrants,
    mode: cluster.mode,
    launcher: launcher.name,
    coordinator: { host: self.host, pid: process.pid, address },
  });
  try {
    handles = await launcher.start(cluster.islands, joinUrl, secret);
    for (const h of handles) {
      event({ type: "island-started", index: h.index, host: h.host, pid: h.pid });
      for (const m of members) if (m.handle === null && m.index === h.index) m.handle = h;
      void h.exited.then((exit) => {
        event({ type: "island-exited", index: h.index, host: h.host, pid: h.pid, ...exit });
        const m = members.find((x) => x.index === h.index);
        exitedIndices.add(h.index);
        if (!m || phase === "joining") {
          guard(maybeAssign);
          return;
        }
        if (phase === "running")
          guard(() => markLost(m, `process exited (code ${exit.code}, signal ${exit.signal})`));
        else if (phase === "stopping") {
          m.closed = true;
          afterChange();
        }
      });
    }
    timers.push(
      setTimeout(() => {
        if (phase === "joining") {
          log(`slt: only ${members.length} of ${cluster.islands} islands joined in time; going on with them`);
          guard(assignAll);
        }
      }, options.joinTimeoutMs ?? 60_000),
    );
    maybeAssign();
    await done;
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    for (const t of timers) clearTimeout(t);
    phase = "done";
    for (const m of members) if (!m.closed) m.link.close("run finished");
    const exits = Promise.all(handles.map((h) => h.exited));
    const grace = new Promise<void>((res) => timers.push(setTimeout(res, 10_000)));
    await Promise.race([exits, grace]);
    for (const t of timers) clearTimeout(t);
    await launcher.close();
    await new Promise<void>((res) => wss.close(() => res()));
  }
  progress(true);

  // ---- the best ticket over islands ----
  // in id order, so that ties between islands go the same way in every run
  const withTickets = members
    .filter((m) => m.ticket !== null && byId.get(m.id) === m)
    .sort((a, b) => a.id - b.id);
  if (withTickets.length === 0) throw new SltError(E_CLUSTER, "no island delivered a ticket");
  const candidates: Individual[] = withTickets.map((m) => {
    const t = m.ticket as TicketBody;
    return individualFromMigrant(t.best, t.generation);
  });
  const best = bestIndividual(candidates, fitness) as Individual;
  const bestMember = withTickets[candidates.indexOf(best)];
  const evaluateTrain: BatchEvaluator = options.makeEvaluator(network, dataset.train);
  const evaluateTest: BatchEvaluator = options.makeEvaluator(network, dataset.test);
  const evaluations = members.reduce(
    (s, m) => s + Math.max(m.ticket?.evaluations ?? 0, m.lastReport?.evaluations ?? 0),
    0,
  );
  // The islands' metrics are the ticket's; check them once here, where nothing can be forged.
  const [recheck] = evaluateTrain([best.mask]);
  if (recheck.accuracy !== best.accuracy || recheck.loss !== best.loss) {
    throw new SltError(
      E_CLUSTER,
      `island ${bestMember.id} reported accuracy ${best.accuracy} and loss ${best.loss} for its best mask, but it has ${recheck.accuracy} and ${recheck.loss}`,
    );
  }
  const testMetrics = evaluateTest(candidates.map((c) => c.mask));
  const bestTest = testMetrics[candidates.indexOf(best)];
  const bestTestAccuracyInPopulation = Math.max(...testMetrics.map((m) => m.accuracy));

  let ticketMask: Mask = best.mask;
  let pruned: ReturnType<typeof postPrune> | null = null;
  if (config.prune !== "none" && (stopReason as ClusterStopReason) !== "interrupted") {
    const accuracyOf = (ev: BatchEvaluator) => ({
      one: (m: Mask) => ev([m])[0].accuracy,
      batch: (ms: readonly Mask[]) => ev(ms).map((r) => r.accuracy),
    });
    const te = accuracyOf(evaluateTest);
    const tr = accuracyOf(evaluateTrain);
    pruned = postPrune(config.prune, candidates, {
      fitness,
      test: te.one,
      testBatch: te.batch,
      train: tr.one,
      trainBatch: tr.batch,
      walk: pruneWalk(network, config.pruneOrder),
    });
    ticketMask = pruned.mask;
    event({
      type: "prune",
      mode: pruned.mode,
      order: config.pruneOrder,
      selectedBy: pruned.selectedBy,
      prunedOn: pruned.prunedOn,
      sparsityBefore: pruned.sparsityBefore,
      sparsityAfter: pruned.sparsityAfter,
      testAccuracyBefore: pruned.testAccuracyBefore,
      testAccuracyAfter: pruned.testAccuracyAfter,
      pruneEvaluations: pruned.evaluations,
    });
  }
  const pruneEvaluations = pruned?.evaluations ?? 0;
  const [ticketTrain] =
    ticketMask === best.mask ? [{ accuracy: best.accuracy, loss: best.loss }] : evaluateTrain([ticketMask]);
  const [ticketTest] = ticketMask === best.mask ? [bestTest] : evaluateTest([ticketMask]);
  const generations = Math.max(
    ...members.map((m) => Math.max(m.ticket?.generation ?? 0, m.lastReport?.generation ?? 0)),
  );
  const ticketPath = dir.writeJson(
    "ticket.json",
    ticketToJson({
      network,
      mask: ticketMask,
      ...(pruned ? { evolvedMask: pruned.individual.mask } : {}),
      dataset: datasetRecord,
      pruneMode: config.prune === "none" || pruned === null ? "none" : config.prune,
      metrics: {
        trainAccuracy: ticketTrain.accuracy,
        trainLoss: ticketTrain.loss,
        testAccuracy: ticketTest.accuracy,
        testLoss: ticketTest.loss,
        sparsity: sparsity(ticketMask),
        bestOnTrainTrainAccuracy: best.accuracy,
        bestOnTrainTestAccuracy: bestTest.accuracy,
        bestTestAccuracyInPopulation,
        evolvedSparsity: sparsity(best.mask),
        selectedBy: pruned ? pruned.selectedBy : "best-training-fitness",
        prunedOn: pruned ? pruned.prunedOn : null,
        fitness,
        generations,
        evaluations,
        pruneEvaluations,
        stopReason,
        islands: members.filter((m) => m.id >= 0).length,
        bestIsland: bestMember.id,
        topology: plan.label,
      },
    }),
  );
  const migrations = totals();
  const lost = members.filter((m) => m.lost).map((m) => m.id);
  const wallSeconds = (performance.now() - started) / 1000;
  event({
    type: "end",
    stopReason,
    generations,
    evaluations,
    pruneEvaluations,
    bestIsland: bestMember.id,
    migrations,
    lost,
  });
  return {
    trainAccuracy: best.accuracy,
    trainLoss: best.loss,
    testAccuracy: bestTest.accuracy,
    bestTestAccuracyInPopulation,
    sparsity: sparsity(best.mask),
    prunedSparsity: pruned ? pruned.sparsityAfter : null,
    prunedTestAccuracy: pruned ? pruned.testAccuracyAfter : null,
    pruneMode: pruned ? pruned.mode : "none",
    generations,
    evaluations,
    pruneEvaluations,
    wallSeconds,
    ticket: ticketPath,
    runDir: dir.path,
    seed: config.seed,
    stopReason,
    topology: plan.label,
    mode: cluster.mode,
    bestIsland: bestMember.id,
    islands: members
      .filter((m) => m.id >= 0)
      .sort((a, b) => a.id - b.id)
      .map((m) => ({
        id: m.id,
        host: m.host,
        pid: m.pid,
        bestFitness: m.ticket ? fitnessOf(m.ticket.best, fitness) : (m.lastReport?.bestFitness ?? null),
        generations: Math.max(m.ticket?.generation ?? 0, m.lastReport?.generation ?? 0),
        evaluations: Math.max(m.ticket?.evaluations ?? 0, m.lastReport?.evaluations ?? 0),
        lost: m.lost,
      })),
    migrations,
    lost,
  };
}
