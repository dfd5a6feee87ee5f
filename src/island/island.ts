// One island process: joins the coordinator, gets its assignment, evolves its sub-population with the
// core GA step (async driver: masks are evaluated by the SharedArrayBuffer worker pool, so this thread
// stays free for heartbeats and peer traffic while a generation is evaluated), and every epoch sends emigrants to its out-neighbours, takes in whatever immigrants
// have arrived (async mode) and reports to the coordinator. On `stop` it sends its best individual as a
// ticket and exits. The run secret comes from the environment (SLT_TOKEN), never from argv.
//
// Peer server: a plain HTTP server on 127.0.0.1:0 (or on `listenHost`, for islands on other hosts) that
// upgrades to WebSocket only once the island knows its genome length (maxPayload follows from it); earlier
// upgrade requests get 503 and the sender's backoff retries. Every inbound connection must complete the
// HMAC handshake before anything else.
import { createSocket } from "node:dgram";
import { createServer, type Server } from "node:http";
import { isIPv6 } from "node:net";
import { hostname } from "node:os";
import { WebSocket, WebSocketServer } from "ws";
import { type ResolvedConfig, resolveConfig, withBoundSecondsPerTry } from "../core/config.ts";
import type { Dataset } from "../core/dataset.ts";
import { E_CONFIG, SltError } from "../core/errors.ts";
import {
  bestIndividual,
  evaluationShare,
  fitnessOf,
  type GaState,
  type Individual,
  initRunAsync,
  searchNeedsLoss,
  stepAsync,
  type TerminationParams,
  terminationReason,
  withBestLoss,
  withLosses,
} from "../core/ga/index.ts";
import { hamming, type Mask } from "../core/mask.ts";
import {
  integrateImmigrants,
  isMigrationGeneration,
  parseSelectionPolicy,
  selectEmigrants,
} from "../core/migration.ts";
import { initNetwork } from "../core/network.ts";
import {
  type AssignBody,
  individualFromMigrant,
  type Message,
  maxFrameBytes,
  migrantFromIndividual,
  type OutNeighbour,
  type ReportBody,
} from "../core/protocol/index.ts";
import { Rng } from "../core/rng.ts";
import { planTopology } from "../core/topology.ts";
import {
  createFastEvaluator,
  createSharedEvaluator,
  evaluatorOptionsFromEnv,
  type FastEvaluator,
  type SharedEvaluator,
} from "../evaluator/index.ts";
import { loadDataset } from "../io/datasets.ts";
import { yieldToEventLoop } from "../io/event-loop.ts";
import { Link, type LinkLimits, type LinkSelf } from "../io/link.ts";
import { RateWindow, startSample } from "../io/progress.ts";
import { HostStatsSampler } from "./host-stats.ts";
import { PeerSender, type SenderCounters } from "./peers.ts";
import { emigrantsToSelect, type ShareSettings, shareForEdge } from "./share.ts";

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
  readonly log?: (line: string) => void;
}

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

/** How often an island tells the coordinator it is alive. */
export const HEARTBEAT_MS = 1000;

/**
 * Evaluator worker threads per island (the pool's default): one moves evaluation off the main thread,
 * which stays free for peers and heartbeats; a host usually runs several islands.
 */
export const ISLAND_EVALUATOR_THREADS = 1;

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

/** Runs one island until the coordinator stops it (resolves) or the coordinator link is lost (rejects). */
export async function runIsland(options: IslandOptions): Promise<void> {
  // the evaluator's worker threads end with the island, however it ends
  const owned: { evaluator?: SharedEvaluator } = {};
  try {
    await runIslandWith(options, owned);
  } finally {
    await owned.evaluator?.close();
  }
}

async function runIslandWith(options: IslandOptions, owned: { evaluator?: SharedEvaluator }): Promise<void> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const runId = runIdOf(options.join);
  const limits: LinkLimits = { genomeLength: null, maxMigrants: 0 };
  let peerWss: WebSocketServer | null = null;
  const inbound = new Set<Link>();
  /** async mode: immigrants in arrival order */
  const inbox: Individual[] = [];
  /** lockstep mode: immigrants by epoch, then by sender id */
  const byEpoch = new Map<number, Map<number, Individual[]>>();
  /** wakes the island when it waits at a lockstep barrier (migrants, a new assignment, stop) */
  let wake: () => void = () => {};
  const counters: SenderCounters & { received: number; accepted: number; rejected: number } = {
    sent: 0,
    dropped: 0,
    received: 0,
    accepted: 0,
    rejected: 0,
  };
  const senders = new Map<number, PeerSender>();
  let assign: AssignBody | null = null;
  let peerSelf: LinkSelf | null = null;

  // ---- peer server ----
  const http: Server = createServer((_req, res) => {
    res.writeHead(426).end();
  });
  http.on("upgrade", (req, socket, head) => {
    if (peerWss === null) {
      socket.end("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n");
      return;
    }
    peerWss.handleUpgrade(req, socket, head, (ws) => peerWss?.emit("connection", ws, req));
  });
  const listenHost =
    options.listenHost === "auto"
      ? await localAddressToward(options.join)
      : (options.listenHost ?? "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(0, listenHost, () => resolve());
  });
  const port = (http.address() as { port: number }).port;
  const listen = `ws://${isIPv6(listenHost) ? `[${listenHost}]` : listenHost}:${port}`;

  // ---- coordinator link ----
  const self: LinkSelf = {
    runId,
    secret: options.secret,
    name: `island-${options.index}`,
    role: "island",
    island: options.index,
    host: hostname(),
    pid: process.pid,
    listen,
  };
  const ws = new WebSocket(options.join, { maxPayload: maxFrameBytes(0, 0), perMessageDeflate: false });
  const coord = new Link(ws, "client", {
    self,
    limits,
    peerRole: "coordinator",
    accept: ["assign", "stop", "heartbeat", "error"],
    log,
    label: options.join,
  });

  let stopRequested = false;
  let wakeStop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    wakeStop = resolve;
  });
  let wakeAssign: (a: AssignBody) => void = () => {};
  const assigned = new Promise<AssignBody>((resolve) => {
    wakeAssign = resolve;
  });
  let lostCoordinator: (e: Error) => void = () => {};
  const coordinatorLost = new Promise<never>((_, reject) => {
    lostCoordinator = reject;
  });
  coordinatorLost.catch(() => {});

  const wireNeighbours = (outs: readonly OutNeighbour[]) => {
    if (!peerSelf) return;
    const keep = new Set(outs.map((n) => n.island));
    for (const [id, s] of senders) {
      if (!keep.has(id)) {
        s.stop();
        senders.delete(id);
      }
    }
    for (const n of outs) {
      const old = senders.get(n.island);
      if (old && old.target.address === n.address && old.target.weight === n.weight) continue;
      old?.stop();
      const sender = new PeerSender(n, peerSelf, limits, counters, log, {
        lossless: assign?.mode === "lockstep",
      });
      senders.set(n.island, sender);
      // Lockstep after a repair: a new out-neighbour may be waiting at a barrier for an epoch whose
      // emigrants went to the lost island; send it the recent epochs again (it ignores those it has
      // already integrated). Neighbours are at most one epoch apart, so the last few suffice.
      if (assign?.mode === "lockstep") {
        for (const r of recent)
          sender.enqueue(r.epoch, shareFor(n, r.emigrants, r.epoch).map(migrantFromIndividual));
      }
    }
  };
  /** lockstep: this island's emigrants of its last few epochs */
  const recent: { epoch: number; emigrants: Individual[] }[] = [];
  let share: ShareSettings | null = null;
  const shareFor = (n: OutNeighbour, emigrants: readonly Individual[], ep: number) =>
    share ? shareForEdge(n, emigrants, ep, share) : [];
  /** lockstep: the last epoch whose immigrants were integrated */
  let integratedEpoch = 0;

  coord.onMessage = (m: Message) => {
    if (m.type === "assign") {
      if (assign === null) {
        wakeAssign(m.body);
      } else if (m.body.island === assign.island) {
        // the coordinator repaired the topology around a lost island
        assign = m.body;
        wireNeighbours(m.body.outNeighbours);
        wake();
      } else {
        log(
          `slt ${self.name}: ignored an assign for island ${m.body.island}; this is island ${assign.island}`,
        );
      }
    } else if (m.type === "stop") {
      stopRequested = true;
      wakeStop();
      wake();
    } else if (m.type === "error") {
      log(`slt ${self.name}: coordinator error ${m.body.code}: ${m.body.reason}`);
    }
  };
  let shuttingDown = false;
  let coordinatorGone: Error | null = null;
  coord.onClose = (code, reason) => {
    if (shuttingDown) return;
    coordinatorGone = new Error(`lost the coordinator (${code}${reason ? ` ${reason}` : ""})`);
    lostCoordinator(coordinatorGone);
    wake(); // an island waiting at a lockstep barrier must notice too
  };
  await Promise.race([coord.ready, coordinatorLost]);
  // Proof of life for the coordinator; evaluation runs in worker threads, so this timer fires on time
  // even while a generation is being evaluated.
  const heartbeat = setInterval(() => coord.send("heartbeat", {}), HEARTBEAT_MS);
  heartbeat.unref();

  const a = await Promise.race([assigned, coordinatorLost]);
  assign = a;
  limits.genomeLength = a.genomeLength;
  limits.maxMigrants = a.maxMigrants;
  const given: ResolvedConfig = resolveConfig({ source: "assign", patch: a.config });
  const dataset: Dataset = loadDataset(given.dataset);
  // the coordinator sends the time per try filled in; this only guards a config that lacks it
  const config = withBoundSecondsPerTry(given, dataset.train.n);
  const network = initNetwork(config.network.architecture, config.network.init, config.network.seed);
  if (network.genomeLength !== a.genomeLength) {
    throw new SltError(
      E_CONFIG,
      `the assigned genome length ${a.genomeLength} differs from the network's ${network.genomeLength}`,
    );
  }
  const fitness = config.ga.fitness;
  // An accuracy-fitness search skips the loss (core/ga/loss.ts); the individuals the island reports or
  // sends get theirs from a small in-process evaluator that computes it.
  const searchLoss = searchNeedsLoss(fitness, config.termination.rule);
  const evaluator = await createSharedEvaluator(network, dataset.train, {
    threads: ISLAND_EVALUATOR_THREADS,
    evaluator: { loss: searchLoss },
  });
  owned.evaluator = evaluator;
  const deps = { evaluate: evaluator.batch, network };
  let lossEvaluator: FastEvaluator | null = null;
  const lossOf = (masks: readonly Mask[]): number[] => {
    lossEvaluator ??= createFastEvaluator(network, dataset.train, {
      ...evaluatorOptionsFromEnv(),
      loss: true,
      delta: false,
      cacheBytes: 0,
      columnCacheBytes: 0,
    });
    const ev = lossEvaluator;
    return masks.map((m) => ev.evaluate(m).loss);
  };
  // a no-op while the search computes losses itself (its best always has one)
  const withReportedLoss = (s: GaState): GaState => withBestLoss(s, fitness, lossOf);
  const id = a.island;
  peerSelf = { ...self, name: `island-${id}`, role: "peer", island: id };
  const maxPayload = maxFrameBytes(a.genomeLength, a.maxMigrants);
  peerWss = new WebSocketServer({ noServer: true, maxPayload, perMessageDeflate: false });
  const inboxCap = Math.max(1, a.maxMigrants) * Math.max(1, a.inNeighbours.length) * 4;
  peerWss.on("connection", (pws, req) => {
    const link = new Link(pws, "server", {
      self: peerSelf as LinkSelf,
      limits,
      peerRole: "peer",
      accept: ["migrants", "heartbeat"],
      log,
      label: `${req.socket.remoteAddress}:${req.socket.remotePort}`,
    });
    inbound.add(link);
    link.onClose = () => inbound.delete(link);
    link.onMessage = (m) => {
      if (m.type !== "migrants") return;
      counters.received += m.body.migrants.length;
      const arrivals = m.body.migrants.map((mig) => individualFromMigrant(mig, 0));
      if (a.mode === "lockstep") {
        // the sender's island id from its authenticated name; its epoch from the envelope
        const from = /^island-(\d+)$/.exec(m.from);
        if (!from || m.epoch <= integratedEpoch) {
          counters.rejected += arrivals.length; // not an island, or an epoch already integrated
          return;
        }
        const epochMap = byEpoch.get(m.epoch) ?? new Map<number, Individual[]>();
        byEpoch.set(m.epoch, epochMap);
        epochMap.set(Number(from[1]), [...(epochMap.get(Number(from[1])) ?? []), ...arrivals]);
        wake();
        return;
      }
      inbox.push(...arrivals);
      while (inbox.length > inboxCap) {
        inbox.shift();
        counters.rejected++;
      }
    };
  });
  wireNeighbours(a.outNeighbours);

  const rng = new Rng(a.seedStream);
  const migrationRng = rng.child("migration");
  // An island stops by itself only at the generation cap. Its own rule just gives the verdict its
  // reports carry; the coordinator decides when the run ends. Lockstep runs have no rule: one firing at
  // different generations on different islands would leave their neighbours waiting at a barrier.
  const capOnly: TerminationParams = {
    rule: "none",
    ruleCap: null,
    maxGenerations: config.termination.maxGenerations,
    maxEvaluations: evaluationShare(config.termination.maxEvaluations, config.cluster.islands, a.island),
  };
  const ownRule: TerminationParams = {
    rule: a.mode === "lockstep" ? "none" : config.termination.rule,
    ruleCap: null,
    plateauLogs: config.termination.plateauLogs,
  };
  let verdict: string | null = null;
  const hostStats = new HostStatsSampler().start();
  const cluster = config.cluster;
  const k = cluster.migrants;
  share = {
    weights: planTopology(cluster.topology, cluster.migrationProbability).weights,
    k,
    maxPerMessage: a.maxMigrants,
    seedStream: a.seedStream,
    island: id,
  };
  const selection = parseSelectionPolicy(cluster.selection);

  // the rate window's base comes before the initial population is evaluated, so that the first rate
  // reported divides those evaluations by the time they took (io/progress.ts)
  const rates = new RateWindow();
  const sample = (s: GaState) =>
    rates.add({ at: performance.now(), generation: s.generation, evaluations: s.evaluations });
  rates.add(startSample(performance.now()));
  let state: GaState = withReportedLoss(await initRunAsync(config.ga, deps, rng.child("ga")));
  sample(state);
  let epoch = 0;
  let lastImprovement = 0;
  let bestSoFar = state.history[0].bestFitness;

  const report = () => {
    const last = state.history[state.history.length - 1];
    const best = bestIndividual(state.population, fitness) as Individual;
    const mem = process.memoryUsage();
    const body: ReportBody = {
      island: id,
      generation: state.generation,
      evaluations: state.evaluations,
      evaluationsPerSecond: rates.rates()?.evaluationsPerSecond ?? 0,
      bestFitness: fitnessOf(best, fitness),
      bestAccuracy: best.accuracy,
      bestLoss: best.loss,
      bestSparsity: best.zeros / best.mask.length,
      meanFitness: last.meanFitness,
      diversity: diversity(state.population),
      stalledGenerations: state.generation - lastImprovement,
      verdict,
      migration: {
        sent: counters.sent,
        received: counters.received,
        accepted: counters.accepted,
        rejected: counters.rejected,
        dropped: counters.dropped,
      },
      host: { ...hostStats.latest(), rssBytes: mem.rss },
    };
    coord.epoch = epoch;
    coord.send("report", body);
  };

  const migrate = async () => {
    epoch++;
    const outs = assign?.outNeighbours ?? [];
    if (outs.length > 0 && k > 0) {
      const need = emigrantsToSelect(outs, share as ShareSettings);
      const emigrants = withLosses(
        selectEmigrants(state.population, need, selection, fitness, migrationRng),
        lossOf,
      );
      for (const n of outs)
        senders.get(n.island)?.enqueue(epoch, shareFor(n, emigrants, epoch).map(migrantFromIndividual));
      if (a.mode === "lockstep") {
        recent.push({ epoch, emigrants });
        if (recent.length > 3) recent.shift();
      }
    }
    let arrivals: Individual[];
    if (a.mode === "lockstep") {
      // docs/architecture.md, "Synchrony": exactly the epoch-e emigrants of every in-neighbour, in
      // neighbour-id order
      const ready = () =>
        (assign?.inNeighbours ?? []).every((n) => byEpoch.get(epoch)?.has(n)) ||
        stopRequested ||
        coordinatorGone !== null;
      while (k > 0 && !ready()) await new Promise<void>((resolve) => (wake = resolve));
      const got = byEpoch.get(epoch) ?? new Map<number, Individual[]>();
      byEpoch.delete(epoch);
      integratedEpoch = epoch;
      arrivals = [...(assign?.inNeighbours ?? [])].sort((x, y) => x - y).flatMap((n) => got.get(n) ?? []);
    } else {
      arrivals = inbox.splice(0, inbox.length);
    }
    if (arrivals.length > 0) {
      const r = integrateImmigrants(state.population, arrivals, cluster.replacement, fitness, migrationRng, {
        born: state.generation,
      });
      counters.accepted += r.accepted;
      counters.rejected += r.rejected + r.duplicates;
      state = { ...state, population: r.population };
    }
  };

  const track = () => {
    const f = state.history[state.history.length - 1].bestFitness;
    const better = fitness === "accuracy" ? f > bestSoFar : f < bestSoFar;
    if (better) {
      bestSoFar = f;
      lastImprovement = state.generation;
    }
  };

  verdict = terminationReason(state.history, ownRule);
  report();
  let finished = false;
  for (;;) {
    await yieldToEventLoop();
    if (coordinatorGone) throw coordinatorGone; // no one to report to: end, whatever the generation
    if (stopRequested) break;
    if (!finished && terminationReason(state.history, capOnly) !== null) {
      finished = true;
      report();
      sendTicket();
      await Promise.race([stopped, coordinatorLost]);
      break;
    }
    state = withReportedLoss(await stepAsync(state, deps));
    sample(state);
    track();
    const before: string | null = verdict;
    verdict = terminationReason(state.history, ownRule);
    if (isMigrationGeneration(state.generation, a.interval, a.offset)) {
      await migrate();
      report();
    } else if (verdict !== before) {
      report(); // the coordinator hears of a plateau or the target at once
    }
  }

  function sendTicket(cb?: () => void): void {
    const best = bestIndividual(state.population, fitness) as Individual;
    coord.epoch = epoch;
    const ok = coord.send(
      "ticket",
      {
        island: id,
        generation: state.generation,
        evaluations: state.evaluations,
        best: migrantFromIndividual(best),
      },
      cb ? () => cb() : undefined,
    );
    if (!ok) cb?.();
  }

  // stop: a last report and ticket, then close everything
  report();
  await new Promise<void>((resolve) => sendTicket(resolve));
  shuttingDown = true;
  clearInterval(heartbeat);
  hostStats.stop();
  for (const s of senders.values()) s.stop();
  for (const l of inbound) l.close("island stopping");
  peerWss.close();
  http.close();
  http.closeAllConnections();
  await new Promise<void>((resolve) => {
    if (ws.readyState === ws.CLOSED) return resolve();
    ws.once("close", () => resolve());
    coord.close("stopped");
  });
}
