// One island process: joins the coordinator, gets its assignment, evolves its sub-population with the
// core GA step (masks are evaluated by the SharedArrayBuffer worker pool, so this thread stays free for
// heartbeats and peer traffic while a generation is evaluated), and at every migration generation runs
// one epoch: emigrants out, immigrants in, a report to the coordinator. On `stop` it sends its best
// individual as a ticket and exits. The run secret comes from the environment (SLT_TOKEN), never argv.
//
// The island is an object with an explicit lifecycle (docs/architecture.md, "Island"):
//   connecting → assigned → evolving → stopping → done
// Coordinator messages and peer connections land on small named handlers; the waits are latches
// (latch.ts). Its evolving state lives in an Evolution (evolution.ts: state in, state out, snapshots);
// synchrony (async or lockstep) is behind one port (synchrony.ts).
//
// Peer server (io/server.ts): listens on 127.0.0.1:0 (or `listenHost`) and upgrades to WebSocket only
// once the island knows its genome length (maxPayload follows from it); earlier upgrade requests get
// 503 and the sender's backoff retries. Every inbound connection must complete the HMAC handshake.
import { createSocket } from "node:dgram";
import type { IncomingMessage } from "node:http";
import { isIPv6 } from "node:net";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { WebSocket } from "ws";
import { E_CLUSTER, E_CONFIG, SltError } from "../core/errors.ts";
import { bestIndividual, fitnessOf, type Individual, terminationReason } from "../core/ga/index.ts";
import { type IslandSnapshot, snapshotFromJSON, snapshotToJSON } from "../core/island-snapshot.ts";
import { HEARTBEAT_MS, PauseClock, watchPeriodMs } from "../core/liveness.ts";
import { hamming } from "../core/mask.ts";
import { isMigrationGeneration } from "../core/migration.ts";
import {
  type AssignBody,
  individualFromMigrant,
  MAX_SNAPSHOT_BYTES,
  type Message,
  maxFrameBytes,
  migrantFromIndividual,
  type ReportBody,
} from "../core/protocol/index.ts";
import { Rng } from "../core/rng.ts";
import { yieldToEventLoop } from "../io/event-loop.ts";
import { Link, type LinkLimits, type LinkSelf, maxPayloadFor } from "../io/link.ts";
import { createLogger, type Logger, RateLimited } from "../io/log.ts";
import { RateWindow, startSample } from "../io/progress.ts";
import { WsServer } from "../io/server.ts";
import { isWss, type TlsTrust, tlsClientOptions, tlsPinOf } from "../io/tls.ts";
import { AsyncSynchrony, inboxCapacity } from "./async-synchrony.ts";
import { EdgeCounters } from "./edge-counters.ts";
import { Evolution } from "./evolution.ts";
import { HostStatsSampler } from "./host-stats.ts";
import { Latch } from "./latch.ts";
import { LockstepSynchrony } from "./lockstep-synchrony.ts";
import type { LinkLogDestination } from "./log-link.ts";
import { PeerSender, PeerSenders } from "./peers.ts";
import { type IslandSetup, setUpIsland } from "./setup.ts";
import type { Synchrony } from "./synchrony.ts";

/** re-exported for bench/islands-scaling.ts, which sizes its runs by it */

export interface IslandOptions {
  readonly join: string;
  readonly secret: string;
  /** the launcher's index for this island (SLT_ISLAND_INDEX) */
  readonly index: number;
  /**
   * the address the peer server binds to and tells the coordinator (default 127.0.0.1); "auto" is the
   * local address of the interface that reaches the coordinator (islands on other hosts)
   */
  readonly listenHost?: string;
  /** where the island's records go (default: readable lines on stderr) */
  readonly logger?: Logger;
  /** where the logger's records go once the coordinator link is open (src/island/log-link.ts) */
  readonly toCoordinator?: LinkLogDestination;
  /**
   * give up on a coordinator silent for this long (default: the assignment's
   * cluster.coordinatorTimeoutSeconds, else COORDINATOR_TIMEOUT_MS)
   */
  readonly coordinatorTimeoutMs?: number;
  /**
   * how to trust the coordinator's certificate when the join URL is wss:// (required then): its pin
   * (SLT_TLS_PIN, --tls-pin) or a CA (--tls-ca); peers are pinned to the assignment's certificate
   */
  readonly tls?: TlsTrust | null;
}

export type IslandPhase = "connecting" | "assigned" | "evolving" | "stopping" | "done";

/**
 * The local address this host uses to reach `url`'s host: a connected UDP socket picks the route and
 * source address without sending anything.
 */
export async function localAddressToward(url: string): Promise<string> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, "");
  const sock = createSocket(isIPv6(host) ? "udp6" : "udp4");
  try {
    return await new Promise<string>((resolve, reject) => {
      sock.once("error", reject);
      sock.connect(Number(u.port) || 80, host, () => resolve(sock.address().address));
    });
  } catch (e) {
    throw new SltError(
      E_CONFIG,
      `cannot find the local address that reaches ${host}: ${(e as Error).message}`,
    );
  } finally {
    sock.close();
  }
}

/** Waits between attempts at a coordinator that refuses or resets the connection (5 attempts, ~4 s). */
export const JOIN_RETRY_MS = [250, 500, 1000, 2000] as const;
/** Waits between attempts at a coordinator that answers 503 or 429 (busy: ~30 s in all). */
export const JOIN_BUSY_RETRY_MS = [250, 500, 1000, 2000, 4000, 6000, 8000, 8000] as const;

/** How long an island waits on a silent coordinator unless the run says otherwise. */
export const COORDINATOR_TIMEOUT_MS = 300_000;

/** Mean pairwise Hamming distance of the population's masks. */
export function diversity(pop: readonly Individual[]): number {
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < pop.length; i++) {
    for (let j = i + 1; j < pop.length; j++) {
      sum += hamming(pop[i].mask, pop[j].mask);
      pairs++;
    }
  }
  return pairs === 0 ? 0 : sum / pairs;
}

function runIdOf(url: string): string {
  const id = new URL(url).searchParams.get("run");
  if (!id) throw new SltError(E_CONFIG, `the join URL ${url} has no ?run=<id>`);
  return id;
}

/**
 * Whether a lockstep island checkpoints at `epoch`: at the first barrier at or after each multiple of
 * `every` generations, counted as epoch × interval so that every island (whatever its offset) takes
 * its snapshot at the same epoch.
 */
export function lockstepCheckpointDue(epoch: number, interval: number, every: number): boolean {
  return epoch > 0 && Math.floor((epoch * interval) / every) > Math.floor(((epoch - 1) * interval) / every);
}

/** Runs one island until the coordinator stops it (resolves) or the coordinator link is lost (rejects). */
export async function runIsland(options: IslandOptions): Promise<void> {
  await new Island(options).run();
}

export class Island {
  phase: IslandPhase = "connecting";
  readonly #o: IslandOptions;
  readonly #logger: Logger;
  readonly #runId: string;
  /** the coordinator link's limits: snapshots may come with an assignment (resume) */
  readonly #coordLimits: LinkLimits = {
    genomeLength: null,
    maxMigrants: 0,
    maxSnapshotBytes: MAX_SNAPSHOT_BYTES,
  };
  /** the peer links' limits, set from the assignment */
  readonly #peerLimits: LinkLimits = { genomeLength: null, maxMigrants: 0 };
  readonly #assigned = new Latch<AssignBody>();
  readonly #stopped = new Latch();
  readonly #lost = new Latch<never>();
  readonly #inbound = new Set<Link>();
  readonly #rates = new RateWindow();
  #server: WsServer | null = null;
  #coord: Link | null = null;
  #self: LinkSelf | null = null;
  #peerSelf: LinkSelf | null = null;
  #assign: AssignBody | null = null;
  #setup: IslandSetup | null = null;
  #evo: Evolution | null = null;
  /** migrants from a peer that is not an assigned in-neighbour: records rate-limited as everywhere else */
  readonly #refused = new RateLimited<{ sender: string; migrants: number }>((r, count) =>
    this.#logger.warn(
      count === 1 ? r : { ...r, messages: count },
      "migrants refused: sender is not an in-neighbour",
    ),
  );
  #sync: Synchrony | null = null;
  readonly #edges = new EdgeCounters();
  #senders: PeerSenders | null = null;
  #heartbeat: NodeJS.Timeout | null = null;
  /** the watch on the coordinator, and when it was last heard from */
  #watch: NodeJS.Timeout | null = null;
  #lastHeard = 0;
  #hostStats: HostStatsSampler | null = null;
  #shuttingDown = false;
  #closed = false;

  constructor(options: IslandOptions) {
    this.#o = options;
    this.#logger = options.logger ?? createLogger();
    this.#runId = runIdOf(options.join);
  }

  /** The whole lifecycle; the evaluator's worker threads and every socket end with it, however it ends. */
  async run(): Promise<void> {
    try {
      await this.#connect();
      const a = await Promise.race([this.#assigned.promise, this.#lost.promise]);
      this.#assign = a;
      this.phase = "assigned";
      const setup = await this.#prepare(a);
      this.phase = "evolving";
      await this.#evolve(setup);
      this.phase = "stopping";
      await this.#finish();
    } finally {
      this.#close();
      await this.#setup?.evaluator.close();
      this.phase = "done";
    }
  }

  // ---- connecting ----

  async #connect(): Promise<void> {
    const o = this.#o;
    const secure = isWss(o.join);
    if (secure && !o.tls)
      throw new SltError(
        E_CONFIG,
        `the join URL ${o.join} is wss:// but no certificate pin (SLT_TLS_PIN, --tls-pin) or CA (--tls-ca) was given`,
      );
    const listenHost =
      o.listenHost === "auto" ? await localAddressToward(o.join) : (o.listenHost ?? "127.0.0.1");
    this.#server = await WsServer.listen({
      host: listenHost,
      port: 0,
      onConnection: (ws, req) => this.peerOnConnection(ws, req),
      logger: this.#logger,
      // wss:// like the coordinator; the certificate comes with the assignment (#peerTls)
      ...(secure ? { tls: {} } : {}),
    });
    this.#self = {
      runId: this.#runId,
      secret: o.secret,
      name: `island-${o.index}`,
      role: "island",
      island: o.index,
      host: hostname(),
      pid: process.pid,
      listen: this.#server.address,
    };
    const coord = await this.#join(this.#self);
    // Proof of life for the coordinator; evaluation runs in worker threads, so this timer fires on time
    // even while a generation is being evaluated.
    this.#heartbeat = setInterval(() => coord.send("heartbeat", {}), HEARTBEAT_MS);
    this.#heartbeat.unref();
    this.#lastHeard = performance.now();
    this.#watchCoordinator(null);
  }

  /**
   * The authenticated coordinator link. A coordinator that answers but is busy (503, 429: its caps on
   * unauthenticated connections, io/server.ts) is tried again over about half a minute (JOIN_BUSY_RETRY_MS);
   * a refused or reset connection (a coordinator a moment from listening, or none) a few times over a few
   * seconds (JOIN_RETRY_MS), so that a wrong address fails soon. Anything else fails at once.
   */
  async #join(self: LinkSelf): Promise<Link> {
    for (let attempt = 1; ; attempt++) {
      const { coord, failed } = this.#openCoordinatorLink(self);
      try {
        await coord.ready;
        return coord;
      } catch (e) {
        const why = failed() ?? (e as Error).message;
        const busy = /Unexpected server response: (503|429)/.test(why);
        const schedule = busy ? JOIN_BUSY_RETRY_MS : JOIN_RETRY_MS;
        if ((!busy && !/ECONNREFUSED|ECONNRESET/.test(why)) || attempt > schedule.length)
          throw new SltError(
            E_CLUSTER,
            `cannot reach the coordinator at ${this.#o.join}: ${why} (after ${attempt} attempt${attempt > 1 ? "s" : ""})`,
          );
        this.#logger.debug(
          { join: this.#o.join, reason: why, attempt },
          "coordinator not reached yet, retrying",
        );
        await sleep(schedule[attempt - 1]);
      }
    }
  }

  /** One attempt at the coordinator link; `failed()` is the socket's error, if it had one. */
  #openCoordinatorLink(self: LinkSelf): { coord: Link; failed: () => string | null } {
    const o = this.#o;
    const ws = new WebSocket(o.join, {
      maxPayload: maxPayloadFor(maxFrameBytes(0, 0) + MAX_SNAPSHOT_BYTES),
      perMessageDeflate: false,
      ...tlsClientOptions(o.join, o.tls ?? null),
    });
    let error: string | null = null;
    ws.once("error", (e: NodeJS.ErrnoException) => {
      error = e.code && !e.message.includes(e.code) ? `${e.code}: ${e.message}` : e.message;
    });
    const coord = new Link(ws, "client", {
      self,
      limits: this.#coordLimits,
      peerRole: "coordinator",
      expectedPeer: "coordinator",
      accept: ["assign", "stop", "heartbeat", "error"],
      logger: this.#logger,
      label: o.join,
      quietConnectErrors: true, // #join reports them, once, after its retries
    });
    coord.onMessage = (m) => this.coordinatorOnMessage(m);
    coord.ready.then(
      () => {
        this.#coord = coord;
        // the island's records travel to the coordinator from now on (stderr before that)
        this.#o.toCoordinator?.attach(coord);
        coord.onClose = (code, reason) => this.coordinatorOnClose(code, reason);
      },
      () => {},
    );
    return { coord, failed: () => error };
  }

  // ---- the watch on the coordinator ----

  /** The silence this island allows its coordinator: the run's, once assigned. */
  #coordinatorTimeoutMs(a: AssignBody | null): number {
    const cluster = a?.config.cluster;
    const seconds =
      cluster !== null && typeof cluster === "object" && !Array.isArray(cluster)
        ? cluster.coordinatorTimeoutSeconds
        : undefined;
    return (
      this.#o.coordinatorTimeoutMs ?? (typeof seconds === "number" ? seconds * 1000 : COORDINATOR_TIMEOUT_MS)
    );
  }

  /** (Re)starts the watch with the current timeout; the coordinator sends a heartbeat every second. */
  #watchCoordinator(a: AssignBody | null): void {
    if (this.#watch) clearInterval(this.#watch);
    const timeoutMs = this.#coordinatorTimeoutMs(a);
    const every = watchPeriodMs(timeoutMs);
    const clock = new PauseClock(every, timeoutMs);
    clock.tick(performance.now());
    this.#watch = setInterval(() => {
      // a stale coordinator is judged after setImmediate: the poll phase reads what its socket holds first
      // (this island may itself have been paused), and the island's own pauses do not count
      const now = performance.now();
      clock.tick(now);
      if (clock.silence(this.#lastHeard, now) > timeoutMs)
        setImmediate(() => this.onCoordinatorSilent(clock, timeoutMs));
    }, every);
  }

  /** Behaves as on a lost coordinator: no final checkpoint is possible without it; the island ends. */
  onCoordinatorSilent(clock: PauseClock, timeoutMs: number): void {
    const silentMs = clock.silence(this.#lastHeard, performance.now());
    if (silentMs <= timeoutMs || this.#shuttingDown || this.#lost.settled || this.#closed) return;
    const seconds = Math.round(silentMs / 1000);
    this.#logger.warn(
      { index: this.#o.index, island: this.#assign?.island, silentMs: Math.round(silentMs), timeoutMs },
      "the coordinator is silent; giving up on it",
    );
    this.#shuttingDown = true; // the close that follows is this island's doing
    this.#lost.fail(
      new SltError(
        E_CLUSTER,
        `the coordinator at ${this.#o.join} sent nothing for ${seconds} s (allowed: ${timeoutMs / 1000} s, cluster.coordinatorTimeoutSeconds); this island ends`,
      ),
    );
    this.#sync?.release();
    this.#coord?.ws.terminate();
  }

  // ---- coordinator handlers ----

  coordinatorOnMessage(m: Message): void {
    this.#lastHeard = performance.now();
    if (m.type === "assign") this.coordinatorOnAssign(m.body);
    else if (m.type === "stop") this.coordinatorOnStop();
    else if (m.type === "error") this.coordinatorOnError(m.body.code, m.body.reason);
  }

  coordinatorOnAssign(a: AssignBody): void {
    const current = this.#assign;
    if (current === null) {
      this.#assigned.open(a);
      this.#watchCoordinator(a); // with the run's timeout
    } else if (a.island === current.island) {
      // the coordinator repaired the topology around a lost island
      this.#assign = a;
      this.#senders?.wire(a.outNeighbours, (n) => this.#sync?.resend(n));
      this.#sync?.rewire(a.inNeighbours);
    } else {
      this.#logger.warn(
        { index: this.#o.index, island: current.island, assigned: a.island },
        "ignored an assign for another island",
      );
    }
  }

  coordinatorOnStop(): void {
    this.#stopped.open();
    this.#sync?.release();
  }

  coordinatorOnError(code: string, reason: string): void {
    this.#logger.warn(
      { index: this.#o.index, island: this.#assign?.island, code, reason },
      "coordinator error",
    );
  }

  coordinatorOnClose(code: number, reason: string): void {
    if (this.#shuttingDown) return;
    this.#lost.fail(new Error(`lost the coordinator (${code}${reason ? ` ${reason}` : ""})`));
    this.#sync?.release(); // an island waiting at a lockstep barrier must notice too
  }

  // ---- peer handlers ----

  peerOnConnection(ws: WebSocket, req: IncomingMessage): void {
    const link = new Link(ws, "server", {
      self: this.#peerSelf as LinkSelf,
      limits: this.#peerLimits,
      peerRole: "peer",
      accept: ["migrants", "heartbeat"],
      logger: this.#logger,
      label: `${req.socket.remoteAddress}:${req.socket.remotePort}`,
    });
    this.#inbound.add(link);
    link.onClose = () => this.#inbound.delete(link);
    link.onMessage = (m) => this.peerOnMessage(m);
  }

  peerOnMessage(m: Message): void {
    if (m.type !== "migrants") return;
    // the sender's island id from its authenticated name; its epoch from the envelope
    const match = /^island-(\d+)$/.exec(m.from);
    const from = match ? Number(match[1]) : null;
    const count = m.body.migrants.length;
    if (from === null || !(this.#assign?.inNeighbours ?? []).includes(from)) {
      this.#refused.add({ sender: m.from, migrants: count });
      // lockstep keeps an island's batch by epoch: a repair that makes the sender an in-neighbour may
      // arrive after its first batch; the barrier integrates only in-neighbours' and rejects the rest
      if (from === null || this.#assign?.mode !== "lockstep") {
        const counters = (this.#evo as Evolution | null)?.counters;
        if (counters) {
          counters.received += count;
          counters.rejected += count;
        }
        return;
      }
    }
    const arrivals = m.body.migrants.map((mig) => individualFromMigrant(mig, 0));
    if (from !== null) this.#edges.arrived(from, arrivals);
    this.#sync?.arrive(from, m.epoch, arrivals);
  }

  // ---- assigned: set up, then open the peer server ----

  async #prepare(a: AssignBody): Promise<IslandSetup> {
    this.#coordLimits.genomeLength = a.genomeLength;
    this.#coordLimits.maxMigrants = a.maxMigrants;
    this.#peerLimits.genomeLength = a.genomeLength;
    this.#peerLimits.maxMigrants = a.maxMigrants;
    const setup = await setUpIsland(a);
    this.#setup = setup;
    // a repair that arrived while the data was loading updated #assign only (nothing was wired yet):
    // wire the neighbours it names, not the first assignment's
    const wiring = this.#assign ?? a;
    const resume: IslandSnapshot | null = a.resume ? snapshotFromJSON(a.resume, a.genomeLength) : null;
    const counters = { sent: 0, received: 0, accepted: 0, rejected: 0, dropped: 0 };
    if (resume) Object.assign(counters, resume.counters);
    this.#peerSelf = {
      ...(this.#self as LinkSelf),
      name: `island-${a.island}`,
      role: "peer",
      island: a.island,
    };
    const peerSelf = this.#peerSelf;
    const send = (n: number, epoch: number, migrants: readonly Individual[]) =>
      this.#senders?.enqueue(n, epoch, migrants.map(migrantFromIndividual));
    this.#sync =
      a.mode === "lockstep"
        ? new LockstepSynchrony({
            send,
            counters,
            inNeighbours: wiring.inNeighbours,
            expectMigrants: setup.settings.emigration.k > 0,
            integratedEpoch: resume?.epoch ?? 0,
          })
        : new AsyncSynchrony({
            send,
            counters,
            inNeighbours: wiring.inNeighbours,
            capacity: inboxCapacity(a.maxMigrants, wiring.inNeighbours.length),
            waiting: resume?.waiting ?? [],
          });
    if (this.#stopped.settled || this.#lost.settled) this.#sync.release();
    const tls = this.#peerTls(a);
    (this.#server as WsServer).accept(maxPayloadFor(maxFrameBytes(a.genomeLength, a.maxMigrants)));
    this.#senders = new PeerSenders(
      (n) =>
        new PeerSender(n, peerSelf, this.#peerLimits, counters, this.#logger, {
          lossless: a.mode === "lockstep",
          tls,
          onSent: (count) => this.#edges.sent(n.island, count),
        }),
      counters,
    );
    this.#senders.wire(wiring.outNeighbours, (n) => this.#sync?.resend(n));
    this.#hostStats = new HostStatsSampler().start();
    // the rate window's base comes before the initial population is evaluated, so that the first rate
    // reported divides those evaluations by the time they took (io/progress.ts)
    this.#rates.add(startSample(performance.now()));
    this.#evo = resume
      ? Evolution.restore(setup.settings, setup.deps, resume, counters)
      : await Evolution.start(setup.settings, setup.deps, new Rng(a.seedStream), counters);
    this.#sample();
    return setup;
  }

  /** In a wss:// run: the peer server serves the assignment's certificate, and peers are pinned to it. */
  #peerTls(a: AssignBody): TlsTrust | null {
    if (!isWss(this.#o.join)) return null;
    if (!a.tls)
      throw new SltError(
        E_CLUSTER,
        `the coordinator at ${this.#o.join} runs wss:// but its assignment carries no certificate for the peer server`,
      );
    (this.#server as WsServer).useCertificate(a.tls);
    return { pin: tlsPinOf(a.tls.cert) };
  }

  // ---- evolving ----

  async #evolve(setup: IslandSetup): Promise<void> {
    const a = this.#assign as AssignBody;
    const evo = this.#evo as Evolution;
    this.#report();
    let finished = false;
    for (;;) {
      await yieldToEventLoop();
      await this.#throwIfLost(); // no one to report to: end, whatever the generation
      if (this.#stopped.settled) return;
      if (!finished && terminationReason(evo.state.history, setup.capOnly) !== null) {
        finished = true;
        this.#report();
        this.#sendTicket();
        await Promise.race([this.#stopped.promise, this.#lost.promise]);
        return;
      }
      const verdictChanged = await evo.step();
      this.#sample();
      if (isMigrationGeneration(evo.generation, a.interval, a.offset)) {
        await this.#epoch();
        this.#report();
        // a barrier that a stop (or the coordinator's loss) released holds only part of the epoch's
        // immigrants: no consistent cut, so no checkpoint there
        const released = this.#stopped.settled || this.#lost.settled;
        if (a.mode === "lockstep" && !released && this.#checkpointDue(evo.epoch)) this.#sendCheckpoint(false);
      } else if (verdictChanged) {
        this.#report(); // the coordinator hears of a plateau or the target at once
      }
      const every = a.checkpointEvery ?? null;
      if (a.mode === "async" && every !== null && evo.generation % every === 0) this.#sendCheckpoint(false);
    }
  }

  /** One epoch, as pagmo2's island::evolve: get migrants → replace → set individuals. */
  async #epoch(): Promise<void> {
    const evo = this.#evo as Evolution;
    const sync = this.#sync as Synchrony;
    const outs = this.#assign?.outNeighbours ?? [];
    const { epoch, emission } = evo.emigrate(outs);
    sync.emit(epoch, emission);
    const arrivals = await sync.collect(epoch);
    this.#edges.integrated(arrivals, await evo.integrate(arrivals));
  }

  #checkpointDue(epoch: number): boolean {
    const a = this.#assign as AssignBody;
    return a.checkpointEvery != null && lockstepCheckpointDue(epoch, a.interval, a.checkpointEvery);
  }

  async #throwIfLost(): Promise<void> {
    if (this.#lost.settled) await this.#lost.promise;
  }

  #sample(): void {
    const s = (this.#evo as Evolution).state;
    this.#rates.add({ at: performance.now(), generation: s.generation, evaluations: s.evaluations });
  }

  // ---- messages to the coordinator ----

  #report(): void {
    const evo = this.#evo as Evolution;
    const fitness = (this.#setup as IslandSetup).settings.fitness;
    const state = evo.state;
    const last = state.history[state.history.length - 1];
    const best = bestIndividual(state.population, fitness) as Individual;
    const body: ReportBody = {
      island: (this.#assign as AssignBody).island,
      generation: state.generation,
      evaluations: state.evaluations,
      evaluationsPerSecond: this.#rates.rates()?.evaluationsPerSecond ?? 0,
      bestFitness: fitnessOf(best, fitness),
      bestAccuracy: best.accuracy,
      bestLoss: best.loss,
      bestSparsity: best.zeros / best.mask.length,
      meanFitness: last.meanFitness,
      diversity: diversity(state.population),
      stalledGenerations: evo.stalledGenerations,
      verdict: evo.verdict,
      migration: { ...evo.counters },
      edges: this.#edges.report(
        (this.#assign?.outNeighbours ?? []).map((n) => n.island),
        this.#assign?.inNeighbours ?? [],
      ),
      host: { ...(this.#hostStats as HostStatsSampler).latest(), rssBytes: process.memoryUsage().rss },
    };
    this.#coord?.send("report", body, { epoch: evo.epoch });
  }

  /** The island's complete state to the coordinator (only when the assignment asks for checkpoints). */
  #sendCheckpoint(final: boolean): void {
    const evo = this.#evo as Evolution;
    const sync = this.#sync as Synchrony;
    const taken = evo.snapshot(sync.waiting());
    // arrivals for later epochs are not in a lockstep snapshot (their senders send them again on
    // resume), so they are not counted as received in it either: a resumed run's totals stay exact
    const held = sync.heldForLater();
    // lockstep: this epoch's emigrants still queued (a link not open yet) are written by this process
    // and never again by one resumed from the snapshot, so the snapshot counts them as sent already
    const queued = this.#assign?.mode === "lockstep" ? (this.#senders?.queuedUpTo(evo.epoch) ?? 0) : 0;
    const counters = {
      ...taken.counters,
      received: taken.counters.received - held,
      sent: taken.counters.sent + queued,
    };
    const snapshot = snapshotToJSON(held === 0 && queued === 0 ? taken : { ...taken, counters });
    this.#coord?.send("checkpoint", { island: snapshot.island, final, snapshot }, { epoch: evo.epoch });
  }

  /** The best individual as a ticket; `written` once the frame is written (or could not be sent). */
  #sendTicket(written?: () => void): void {
    const evo = this.#evo as Evolution;
    const best = bestIndividual(
      evo.state.population,
      (this.#setup as IslandSetup).settings.fitness,
    ) as Individual;
    const body = {
      island: (this.#assign as AssignBody).island,
      generation: evo.generation,
      evaluations: evo.state.evaluations,
      best: migrantFromIndividual(best),
    };
    const ok = this.#coord?.send("ticket", body, { epoch: evo.epoch, onWritten: () => written?.() }) ?? false;
    if (!ok) written?.();
  }

  // ---- stopping ----

  /** Stop: a last report (and checkpoint, when asked for) and the ticket, then close the coordinator link. */
  async #finish(): Promise<void> {
    this.#report();
    if ((this.#assign as AssignBody).checkpointEvery != null) this.#sendCheckpoint(true);
    await new Promise<void>((resolve) => this.#sendTicket(resolve));
    this.#shuttingDown = true;
    this.#close();
    const coord = this.#coord as Link;
    await new Promise<void>((resolve) => {
      if (coord.ws.readyState === coord.ws.CLOSED) return resolve();
      coord.ws.once("close", () => resolve());
      coord.close("stopped");
    });
  }

  /** Ends timers, senders, inbound links and the peer server (idempotent). */
  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
    if (this.#watch) clearInterval(this.#watch);
    this.#watch = null;
    this.#hostStats?.stop();
    this.#refused.flush();
    this.#senders?.stop();
    for (const l of this.#inbound) l.close("island stopping");
    this.#server?.close();
  }
}
