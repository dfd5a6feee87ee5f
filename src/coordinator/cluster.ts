// One island-model run over processes: config → run directory (src/run/prepare.ts; a resumed run
// continues its own, after a `resume` event) → per-run secret → the WebSocket server (io/server.ts) on
// 127.0.0.1 (or `listen`, for islands on other hosts) → islands started through a launcher → the
// coordinator (coordinator.ts: joining → running → stopping → done, with checkpoints) → the islands'
// tickets → the run's end (src/run/finish.ts: the best over islands, recheck, optional post-pruning,
// ticket.json) → a summary.
//
// Synchrony (docs/architecture.md, "Synchrony"): `async` islands never wait; each reports its own
// termination rule's verdict and goes on, and the coordinator ends the run (target, all plateaued, cap,
// wall clock; decide-stop.ts); `lockstep` islands wait at every migration for the emigrants of all their
// in-neighbours and run to the generation cap (no early rules, no target stop), so that a seed gives the
// same ticket whatever the timing.
import { randomBytes } from "node:crypto";
import type { ResolvedConfig } from "../core/config.ts";
import { E_CLUSTER, E_CONFIG, SltError } from "../core/errors.ts";
import { fitnessOf } from "../core/ga/index.ts";
import { parseSelectionPolicy } from "../core/migration.ts";
import { individualFromMigrant, MAX_MIGRANTS, maxFrameBytes } from "../core/protocol/index.ts";
import { Rng } from "../core/rng.ts";
import { buildPlannedTopology, planTopology, type TopologyPlan } from "../core/topology.ts";
import { maxPayloadFor } from "../io/link.ts";
import { createLogger, type Logger, redactSecret } from "../io/log.ts";
import { DEFAULT_ADMISSION, WsServer } from "../io/server.ts";
import type { TlsIdentity } from "../io/tls.ts";
import type { RunDashboard } from "../run/dashboard.ts";
import { finishRun, type RunSummary } from "../run/finish.ts";
import { type PreparedRun, prepareRun } from "../run/prepare.ts";
import { type ResumeFrom, resumeEvent } from "../run/resume-from.ts";
import { Coordinator, type CoordinatorOptions } from "./coordinator.ts";
import { type ClusterStopReason, type MigrationTotals, progressOf } from "./coordinator-state.ts";
import type { Launcher } from "./launcher.ts";
import { localLauncher } from "./launcher-local.ts";
import { checkpointPlan } from "./run-checkpoints.ts";
import type { EvaluatorFactory } from "./single-population.ts";

export type { ClusterControl, ClusterHooks, ClusterIslandInfo } from "./coordinator.ts";
export type { ClusterStopReason };

export interface ClusterOptions extends CoordinatorOptions {
  readonly makeEvaluator: EvaluatorFactory;
  /** default: local child processes */
  readonly launcher?: Launcher;
  /**
   * where the coordinator's WebSocket server listens (default 127.0.0.1, port 0 = any free port); the
   * join URL islands get names this host, so it must be an address the islands reach
   */
  readonly listen?: { readonly host: string; readonly port: number };
  /**
   * the coordinator's records (refused connections, lost islands, topology warnings, hook failures,
   * islands' errors and, from the local launcher, island output); default `createLogger()` (stderr).
   * Progress lines are apart from it (`progress`).
   */
  readonly logger?: Logger;
  /** continue a run from its checkpoint (src/run/resume.ts), in its own directory */
  readonly resume?: ResumeFrom;
  /**
   * the run secret (the CLI passes SLT_TOKEN from its environment, so that a user who set it can join
   * islands by hand); default: 32 random bytes, known only to this process and its launcher's islands
   */
  readonly secret?: string;
  /**
   * serve wss:// with this certificate and key (io/tls.ts loadTlsIdentity): islands pin `pin`, and their
   * peer servers get certificate and key in their assignments; default: plain ws://
   */
  readonly tls?: TlsIdentity & { readonly pin: string };
  /** the live dashboard (run/dashboard.ts): it gets every event the run writes */
  readonly dashboard?: RunDashboard;
}

export interface ClusterIslandSummary {
  readonly id: number;
  readonly host: string;
  readonly pid: number | null;
  readonly bestFitness: number | null;
  readonly generations: number;
  readonly evaluations: number;
  readonly lost: boolean;
}

/** A one-population summary (fitnessMode "full training split", fitnessSubset null) and the islands'. */
export interface ClusterSummary extends RunSummary<ClusterStopReason> {
  topology: string;
  mode: "async" | "lockstep";
  /** the island whose individual became the ticket */
  bestIsland: number;
  islands: ClusterIslandSummary[];
  migrations: MigrationTotals;
  lost: number[];
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

/** The least length of a run secret given by the user: 128 bits as hex. */
export const MIN_SECRET_CHARS = 32;

/** The run secret: the given one, checked, or a fresh random one. */
export function runSecret(given: string | undefined): string {
  if (given === undefined || given === "") return randomBytes(32).toString("hex");
  if (given.length < MIN_SECRET_CHARS || /\s/.test(given))
    throw new SltError(
      E_CONFIG,
      `SLT_TOKEN must be at least ${MIN_SECRET_CHARS} characters without spaces (e.g. the output of "openssl rand -hex 32"), got ${given.length} characters`,
    );
  return given;
}

export async function runCluster(
  resolvedConfig: ResolvedConfig,
  options: ClusterOptions,
): Promise<ClusterSummary> {
  const started = performance.now();
  const logger = options.logger ?? createLogger({ holdUntilFile: true });
  const { plan, maxWeight } = checkClusterSettings(resolvedConfig, options.listen);
  // before anything is created or listens: a bad SLT_TOKEN is a one-line error, nothing left behind
  const secret = runSecret(options.secret);
  const host = options.listen?.host ?? "127.0.0.1";
  const run = prepareRun(resolvedConfig, started, logger, options.resume, options.dashboard);
  if (options.resume) run.dir.appendEvent(resumeEvent(options.resume));
  const { config, network } = run;
  const genomeLength = network.genomeLength;
  const maxMigrants = Math.min(MAX_MIGRANTS, Math.max(1, config.cluster.migrants * maxWeight));
  const checkpoints = checkpointPlan(config, genomeLength, run.dataset.train.n, maxMigrants);
  let coordinator: Coordinator | null = null;
  const server = await WsServer.listen({
    host,
    port: options.listen?.port ?? 0,
    onConnection: (ws, req) => coordinator?.onConnection(ws, req),
    logger,
    ...(options.tls ? { tls: { cert: options.tls.cert, key: options.tls.key } } : {}),
    // every island of the run, all from one address on a local run, may be in its handshake at once;
    // an island refused at admission retries (island.ts #join), but that only delays the run
    admission: {
      maxPending: Math.max(DEFAULT_ADMISSION.maxPending, 2 * config.cluster.islands),
      maxPendingPerAddress: Math.max(DEFAULT_ADMISSION.maxPendingPerAddress, 2 * config.cluster.islands),
    },
  });
  // islands' frames: migrants and reports, and checkpoints with a snapshot each
  server.accept(maxPayloadFor(maxFrameBytes(genomeLength, maxMigrants) + checkpoints.maxSnapshotBytes));
  const runId = `run-${randomBytes(8).toString("hex")}`;
  // before anything can log it: the secret's value is replaced in every record from here on
  redactSecret(logger, secret);
  coordinator = new Coordinator({
    config,
    plan,
    genomeLength,
    maxMigrants,
    appendEvent: run.dir.appendEvent,
    runDir: run.dir.path,
    self: {
      runId,
      secret,
      name: "coordinator",
      role: "coordinator",
      island: null,
      host,
      pid: process.pid,
      listen: null,
    },
    joinUrl: `${server.address}/?run=${runId}`,
    address: server.address,
    started,
    logger,
    options,
    checkpoints,
    resume: options.resume,
  });
  const launcher = options.launcher ?? localLauncher({ logger });
  try {
    await coordinator.run(launcher);
  } finally {
    await coordinator.shutdown(launcher);
    server.close();
  }
  coordinator.progress(true);
  return finishCluster(run, plan, coordinator, options);
}

/** The first event of a resumed run: where it resumes from and what changed. */
/** The run's end from the islands' tickets: the best over islands, the ticket, the summary. */
function finishCluster(
  run: PreparedRun,
  plan: TopologyPlan,
  coordinator: Coordinator,
  options: ClusterOptions,
): ClusterSummary {
  const { config, network, dataset } = run;
  const fitness = config.ga.fitness;
  const joined = coordinator.members.filter((m) => m.id >= 0).sort((a, b) => a.id - b.id);
  const candidates = joined.flatMap((m) => {
    const t = m.record.ticket;
    return t !== null && coordinator.isCurrent(m)
      ? [{ individual: individualFromMigrant(t.best, t.generation), island: m.id }]
      : [];
  });
  if (candidates.length === 0) throw new SltError(E_CLUSTER, "no island delivered a ticket");
  const all = coordinator.members.map((m) => progressOf(m.record));
  const migrations = coordinator.totals();
  const lost = coordinator.members.filter((m) => m.record.lost).map((m) => m.id);
  const finished = finishRun({
    run,
    candidates,
    stopReason: coordinator.state.stop?.reason ?? "all-lost",
    generations: Math.max(...all.map((p) => p.generations)),
    evaluations: all.reduce((s, p) => s + p.evaluations, 0),
    evaluators: {
      train: options.makeEvaluator(network, dataset.train),
      test: options.makeEvaluator(network, dataset.test),
    },
    event: (e) => coordinator.event(e),
    extra: (best) => ({
      ticket: { islands: joined.length, bestIsland: best.island, topology: plan.label },
      end: { bestIsland: best.island, migrations, lost },
    }),
  });
  return {
    ...finished.summary,
    topology: plan.label,
    mode: config.cluster.mode,
    bestIsland: finished.best.island,
    islands: joined.map((m) => {
      const t = m.record.ticket;
      return {
        id: m.id,
        host: m.record.host,
        pid: m.record.pid,
        bestFitness: t ? fitnessOf(t.best, fitness) : (m.record.lastReport?.bestFitness ?? null),
        ...progressOf(m.record),
        lost: m.record.lost,
      };
    }),
    migrations,
    lost,
  };
}
