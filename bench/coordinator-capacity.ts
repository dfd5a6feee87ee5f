// Coordinator capacity (issue 12, part 4): ONE real coordinator (runCluster, as `slt run --islands N`
// runs it, in this process) against N simulated islands (bench/sim-islands.ts, in a child process of
// their own so that this process, the coordinator's, has a core to itself) that speak the real protocol:
// handshake, authentication, frame tags, codec, heartbeats, a report at every migration epoch, checkpoints
// when due, and at the stop a last report, the final checkpoint and a genuine ticket. Evaluation is a
// timed no-op. Migrants go from island to island and never through the coordinator: what the
// coordinator does per migration epoch is take each island's report (its `report` event and, when its
// migration counters moved, a `migration` event) and re-check the termination policy.
//   node bench/coordinator-capacity.ts [--json] [--quick] [--islands 8,32] [--scenarios default]
//                                      [--sim-procs 1] [--datasets digits-10 --arch 64,4000,10]
// The run's data and architecture (default moons [2,75,2]) matter to the coordinator only through the
// genome's length: the size of snapshots and tickets (reports carry no masks).
// Per scenario and island count N, one run: N islands join and are assigned; for `idle` seconds they
// only send heartbeats (the coordinator's background cost per island), then their epochs start; after a
// warm-up, one timed window; then the wall-clock limit stops the run.
// - coordinator CPU: process.cpuUsage() of this process (the coordinator's; nothing else runs here)
//   over the window, per report processed in it; `cpu_ms_per_report` has the heartbeat-only rate
//   (measured in the idle window) taken off, `cpu_ms_per_report_gross` not;
// - report latency: from the simulated island's call to Link.send("report") (before encoding and
//   tagging) to the coordinator's write of that report's `report` event to events.jsonl (the onEvent
//   hook, called right after the write: the frame was read, its tag checked, decoded, validated and
//   recorded). Both ends read process.hrtime (CLOCK_MONOTONIC, one clock for every process of the
//   machine). Reports processed in the window; p50/p99/max;
// - an epoch at a barrier (scenario `barrier`: every island's epoch at the same moment, as lockstep
//   islands leave a barrier together): from the first report of the epoch sent to the last processed;
// - checkpoints (scenario `checkpoints`: a snapshot every 5th epoch, every cut written; the default plan
//   snapshots about every two minutes of work and writes at most every 120 s): the run checkpoints
//   written, their size, and the CPU per snapshot (what this scenario costs per report beyond `default`'s
//   at the same N when that had no snapshot, times reports per snapshot sent in the window). The snapshot is the GA's generation-0 population (a real
//   one's history grows by one entry a generation);
// - memory: the coordinator process's RSS and V8 heap, each after a full garbage collection, at the end
//   of the window less 50 ms after the run's start (data loaded, server listening, no island yet), per
//   island.
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { runCluster } from "../src/coordinator/cluster.ts";
import { type ConfigPatch, mergeConfig, resolveConfig } from "../src/core/config.ts";
import { makeEvaluator } from "../src/evaluator/index.ts";
import { captureLogger } from "../src/io/log.ts";
import {
  type BenchArgs,
  type BenchDatasetName,
  benchArch,
  createReporter,
  datasetPatch,
  type Figure,
  flagValue,
  listValue,
  quantile,
  round,
  runMain,
  withTempDir,
} from "./common.ts";
import { monotonicMs, type SentReport, type SimSchedule, simLauncher } from "./sim-islands.ts";

export interface Scenario {
  readonly name: string;
  /** the run's migration interval (generations per epoch, so per report) */
  readonly interval: number;
  /** the simulated generation time */
  readonly generationMs: number;
  readonly phase: SimSchedule["phase"];
  /** islands snapshot every this many generations and every cut is written (default: the run's plan) */
  readonly checkpointEvery?: number;
  readonly why: string;
}

/**
 * default: what a moons [2,75,2] island does with the defaults (interval 5; 35 ms per generation, the
 * `ga` benchmark's 10.6 s for 300 generations); stress: the moons target (3 s for 300
 * generations, 10 ms each) migrating every generation; barrier: the default pace with every island's
 * epoch at once.
 */
export const SCENARIOS: readonly Scenario[] = [
  { name: "default", interval: 5, generationMs: 35, phase: "spread", why: "moons defaults" },
  { name: "stress", interval: 1, generationMs: 10, phase: "spread", why: "moons target, interval 1" },
  { name: "barrier", interval: 5, generationMs: 35, phase: "aligned", why: "all epochs at once" },
  {
    name: "checkpoints",
    interval: 5,
    generationMs: 35,
    phase: "spread",
    checkpointEvery: 25,
    why: "default pace, a snapshot every 5th epoch, every cut written",
  },
];

export const ISLAND_COUNTS = [8, 32, 128, 256];
/** the target: one coordinator serves this many islands with report latency p99 under 50 ms */
const TARGET = { islands: 256, p99Ms: 50 };

interface Windows {
  readonly idleMs: number;
  readonly warmMs: number;
  readonly windowMs: number;
}

interface Mark {
  readonly t: number;
  /** this process's CPU time, user + system, ms */
  readonly cpuMs: number;
  readonly reports: number;
  readonly migrations: number;
  /** run checkpoints written (`checkpoint` events) and their bytes */
  readonly cuts: number;
  readonly cutBytes: number;
  readonly eventBytes: number;
  readonly rss: number;
  readonly heap: number;
  /** the simulated islands' processes' CPU time, ms (null off Linux) */
  readonly simCpuMs: number | null;
  /** how long this process's main thread (the coordinator's event loop) waited, runnable, for a core, ms */
  readonly runqueueMs: number | null;
}

/** The main thread's run-queue wait from /proc/self/schedstat (its second field, ns); null off Linux. */
function runqueueWaitMs(): number | null {
  try {
    return Number(readFileSync("/proc/self/schedstat", "utf8").split(" ")[1]) / 1e6;
  } catch {
    return null;
  }
}

/** A full garbage collection (V8's gc(), exposed to this process only; no flag on the command line). */
const collectGarbage: () => void = (() => {
  v8.setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
})();

/** The coordinator's side of one run, from its events (ClusterHooks.onEvent) and this process's clocks. */
class Probe {
  readonly processed = new Map<number, number[]>();
  readonly marks: Partial<Record<"start" | "idle0" | "idle1" | "win0" | "win1", Mark>> = {};
  #reports = 0;
  #migrations = 0;
  #cuts = 0;
  #cutBytes = 0;
  #assigned = 0;
  #events = "";
  readonly #n: number;
  readonly #w: Windows;
  readonly #simCpuMs: () => number | null;

  constructor(n: number, w: Windows, simCpuMs: () => number | null) {
    this.#n = n;
    this.#w = w;
    this.#simCpuMs = simCpuMs;
  }

  onEvent(e: Record<string, unknown>, runDir: string): void {
    if (e.type === "report") {
      const island = e.island as number;
      const list = this.processed.get(island) ?? [];
      list.push(monotonicMs());
      this.processed.set(island, list);
      this.#reports++;
    } else if (e.type === "migration") {
      this.#migrations++;
    } else if (e.type === "checkpoint") {
      this.#cuts++;
      this.#cutBytes += e.bytes as number;
    } else if (e.type === "start") {
      this.#events = path.join(runDir, "events.jsonl");
      // once the run's start-up has returned (its temporaries collectable), before any island has joined
      this.#at(50, "start");
    } else if (e.type === "assigned" && ++this.#assigned === this.#n) {
      // every island has its assignment: the windows count from here (the islands' idle time too)
      const { idleMs, warmMs, windowMs } = this.#w;
      this.#at(300, "idle0");
      this.#at(idleMs - 100, "idle1");
      this.#at(idleMs + warmMs, "win0");
      this.#at(idleMs + warmMs + windowMs, "win1");
    }
  }

  #at(ms: number, name: keyof Probe["marks"]): void {
    setTimeout(() => this.#mark(name), ms);
  }

  #mark(name: keyof Probe["marks"]): void {
    const cpu = process.cpuUsage();
    // memory after a full collection, at the run's start and the window's end only (a pause of its own)
    if (name === "start" || name === "win1") collectGarbage();
    const mem = process.memoryUsage();
    this.marks[name] = {
      t: monotonicMs(),
      cpuMs: (cpu.user + cpu.system) / 1000,
      reports: this.#reports,
      migrations: this.#migrations,
      cuts: this.#cuts,
      cutBytes: this.#cutBytes,
      eventBytes: this.#events === "" ? 0 : statSync(this.#events).size,
      rss: mem.rss,
      heap: mem.heapUsed,
      simCpuMs: this.#simCpuMs(),
      runqueueMs: runqueueWaitMs(),
    };
  }
}

/** Report latencies of the window: the k-th report an island sent is the k-th the coordinator processed. */
function latencies(probe: Probe, sent: readonly SentReport[], from: number, to: number) {
  const bySender = new Map<number, SentReport[]>();
  for (const s of sent) bySender.set(s.island, [...(bySender.get(s.island) ?? []), s]);
  const all: number[] = [];
  const epochs = new Map<number, { first: number; lastSent: number; last: number; count: number }>();
  let missing = 0;
  for (const [island, mine] of bySender) {
    const done = probe.processed.get(island) ?? [];
    missing += Math.max(0, mine.length - done.length);
    mine.forEach((s, k) => {
      const at = done[k];
      if (at === undefined || at < from || at > to) return;
      all.push(at - s.sentMs);
      const e = epochs.get(s.generation) ?? { first: s.sentMs, lastSent: s.sentMs, last: at, count: 0 };
      epochs.set(s.generation, {
        first: Math.min(e.first, s.sentMs),
        lastSent: Math.max(e.lastSent, s.sentMs),
        last: Math.max(e.last, at),
        count: e.count + 1,
      });
    });
  }
  return { all: all.sort((a, b) => a - b), epochs, missing, sent: sent.length };
}

/** What the islands search: the coordinator's data, the genome's length (snapshots, tickets) and a preset. */
interface Workload {
  readonly dataset: BenchDatasetName;
  /** another architecture than the dataset's benchmark one (a larger genome: larger snapshots) */
  readonly arch: number[] | null;
  readonly dir: string;
  readonly w: Windows;
  readonly procs: number;
}

function configFor(s: Scenario, n: number, o: Workload): ReturnType<typeof resolveConfig> {
  const w = o.w;
  const { patch: data } = datasetPatch(o.dataset);
  const patch = mergeConfig(data, {
    preset: o.dataset === "moons" ? "2025-binary" : "2025-multiclass",
    ...(o.arch !== null ? { network: { architecture: o.arch } } : {}),
    seed: 1,
    name: `${s.name}-${n}`,
    out: o.dir,
    prune: "none",
    ...(s.checkpointEvery !== undefined ? { checkpointEvery: s.checkpointEvery } : {}),
    ga: { population: 100 },
    termination: { rule: "none", maxGenerations: null },
    cluster: {
      islands: n,
      topology: "ring",
      interval: s.interval,
      migrants: 2,
      mode: "async",
      timeLimitSeconds: (w.idleMs + w.warmMs + w.windowMs + 500) / 1000,
    },
  } satisfies ConfigPatch);
  return resolveConfig({ source: "bench", patch });
}

/** One run of N islands in scenario `s`: the figure's fields. */
async function measure(s: Scenario, n: number, o: Workload): Promise<Figure> {
  const { w, procs } = o;
  const { logger, records } = captureLogger("warn");
  const launcher = simLauncher({
    procs,
    schedule: { generationMs: s.generationMs, phase: s.phase, idleMs: w.idleMs, seed: 1 },
    logger,
  });
  const probe = new Probe(n, w, () => launcher.cpuMs());
  // a real run prints its progress block once a second: rendered here too, into nothing
  const progress = new Writable({ write: (_c, _e, done) => done() });
  const config = configFor(s, n, o);
  const summary = await runCluster(config, {
    makeEvaluator,
    logger,
    launcher,
    progress,
    hooks: { onEvent: (e, control) => probe.onEvent(e, control.runDir) },
  });
  const m = probe.marks;
  if (!m.start || !m.idle0 || !m.idle1 || !m.win0 || !m.win1)
    throw new Error(`${s.name}, ${n} islands: the run ended before its windows (${summary.stopReason})`);
  if (summary.lost.length > 0)
    throw new Error(
      `${s.name}, ${n} islands: lost ${JSON.stringify(summary.lost)}: ${JSON.stringify(records)}`,
    );
  return figureOf(s, n, probe, launcher.sent, launcher.snapshots, {
    start: m.start,
    idle0: m.idle0,
    idle1: m.idle1,
    win0: m.win0,
    win1: m.win1,
    warnings: records.length,
  });
}

function figureOf(
  s: Scenario,
  n: number,
  probe: Probe,
  sent: readonly SentReport[],
  snapshots: readonly number[],
  m: { start: Mark; idle0: Mark; idle1: Mark; win0: Mark; win1: Mark; warnings: number },
): Figure {
  const snapshotsIn = snapshots.filter((t) => t >= m.win0.t && t <= m.win1.t).length;
  const idleS = (m.idle1.t - m.idle0.t) / 1000;
  const idleCpuMsPerS = (m.idle1.cpuMs - m.idle0.cpuMs) / idleS;
  const windowS = (m.win1.t - m.win0.t) / 1000;
  const cpuMs = m.win1.cpuMs - m.win0.cpuMs;
  const reports = m.win1.reports - m.win0.reports;
  const lat = latencies(probe, sent, m.win0.t, m.win1.t);
  const whole = [...lat.epochs.values()].filter((e) => e.count === n);
  const epochMs = whole.map((e) => e.last - e.first).sort((a, b) => a - b);
  const tailMs = whole.map((e) => e.last - e.lastSent).sort((a, b) => a - b);
  const simCpu =
    m.win1.simCpuMs !== null && m.win0.simCpuMs !== null
      ? (m.win1.simCpuMs - m.win0.simCpuMs) / windowS / 10
      : null;
  const periodMs = s.interval * s.generationMs;
  return {
    figure: "capacity",
    scenario: s.name,
    islands: n,
    interval: s.interval,
    generation_ms: s.generationMs,
    report_every_ms: periodMs,
    phase: s.phase,
    offered_reports_per_s: round((n * 1000) / periodMs),
    reports_per_s: round(reports / windowS),
    cpu_ms_per_report: round((cpuMs - idleCpuMsPerS * windowS) / reports, 3),
    cpu_ms_per_report_gross: round(cpuMs / reports, 3),
    coordinator_cpu_percent: round(cpuMs / windowS / 10),
    // at about 100 the simulator, not the coordinator, limits the offered load
    sim_cpu_percent: simCpu === null ? null : round(simCpu),
    // the machine's other work: ms per s the coordinator's event loop was ready to run and had no core
    coordinator_runqueue_wait_ms_per_s:
      m.win1.runqueueMs === null || m.win0.runqueueMs === null
        ? null
        : round((m.win1.runqueueMs - m.win0.runqueueMs) / windowS),
    heartbeat_cpu_ms_per_island_s: round(idleCpuMsPerS / n, 4),
    report_latency_ms_p50: round(quantile(lat.all, 0.5), 2),
    report_latency_ms_p99: round(quantile(lat.all, 0.99), 2),
    report_latency_ms_max: round(lat.all[lat.all.length - 1] ?? Number.NaN, 2),
    ...(s.phase === "aligned"
      ? {
          epoch_ms_p50: round(quantile(epochMs, 0.5), 2),
          epoch_ms_p99: round(quantile(epochMs, 0.99), 2),
          epoch_tail_ms_p50: round(quantile(tailMs, 0.5), 2),
          epoch_tail_ms_p99: round(quantile(tailMs, 0.99), 2),
          epochs: epochMs.length,
        }
      : {}),
    snapshots_in_window: snapshotsIn,
    ...(s.checkpointEvery !== undefined
      ? {
          checkpoint_every: s.checkpointEvery,
          cuts_in_window: m.win1.cuts - m.win0.cuts,
          cut_mb: round(
            (m.win1.cutBytes - m.win0.cutBytes) / Math.max(1, m.win1.cuts - m.win0.cuts) / 2 ** 20,
            2,
          ),
        }
      : {}),
    migration_events_per_report: round((m.win1.migrations - m.win0.migrations) / reports, 3),
    event_bytes_per_report: Math.round((m.win1.eventBytes - m.win0.eventBytes) / reports),
    reports_in_window: reports,
    reports_sent: lat.sent,
    reports_missing: lat.missing,
    islands_reporting: [...probe.processed.keys()].length,
    rss_mb: round(m.win1.rss / 2 ** 20),
    rss_per_island_kb: round((m.win1.rss - m.start.rss) / n / 1024),
    heap_per_island_kb: round((m.win1.heap - m.start.heap) / n / 1024),
    window_s: round(windowS, 2),
    warnings: m.warnings,
    ...(n === TARGET.islands && s.name === "default"
      ? {
          done_when: `report latency p99 < ${TARGET.p99Ms} ms with ${TARGET.islands} islands`,
          met: quantile(lat.all, 0.99) < TARGET.p99Ms,
        }
      : {}),
  };
}

/** One bit per weight of a fully connected network. */
function genomeBits(arch: readonly number[]): number {
  return arch.slice(1).reduce((sum, width, i) => sum + arch[i] * width, 0);
}

async function main(args: BenchArgs): Promise<void> {
  const out = createReporter("coordinator-capacity", args);
  const argv = process.argv.slice(2);
  const counts = (listValue(argv, "--islands") ?? (args.quick ? ["4"] : ISLAND_COUNTS.map(String))).map(
    Number,
  );
  const names = listValue(argv, "--scenarios") ?? (args.quick ? ["default"] : SCENARIOS.map((s) => s.name));
  const scenarios = SCENARIOS.filter((s) => names.includes(s.name));
  const procs = Number(flagValue(argv, "--sim-procs") ?? 1);
  const dataset = (args.datasets?.[0] ?? "moons") as BenchDatasetName;
  const arch = listValue(argv, "--arch")?.map(Number) ?? null;
  const w: Windows = args.quick
    ? { idleMs: 1500, warmMs: 500, windowMs: 2000 }
    : { idleMs: 4000, warmMs: 1000, windowMs: 10_000 };
  // the default scenario's CPU per report by island count, when it had no snapshot in its window: what
  // the checkpoints scenario adds is the snapshots'
  const plain = new Map<number, number>();
  await withTempDir("slt-bench-capacity-", async (dir) => {
    for (const s of scenarios) {
      for (const n of counts) {
        out.log(`${s.name} (${s.why}): ${n} islands, a report every ${s.interval * s.generationMs} ms each`);
        const fields = await measure(s, n, { dataset, arch, dir, w, procs });
        const perReport = fields.cpu_ms_per_report as number;
        if (s.name === "default" && fields.snapshots_in_window === 0) plain.set(n, perReport);
        const base = plain.get(n);
        const snapshots = fields.snapshots_in_window as number;
        const perSnapshot =
          s.checkpointEvery !== undefined && base !== undefined && snapshots > 0
            ? {
                cpu_ms_per_snapshot: round(
                  ((perReport - base) * (fields.reports_in_window as number)) / snapshots,
                  3,
                ),
              }
            : {};
        out.figure({
          ...fields,
          ...perSnapshot,
          sim_procs: procs,
          topology: "ring",
          mode: "async",
          dataset,
          arch: arch ?? benchArch(dataset),
          genome_bits: genomeBits(arch ?? benchArch(dataset)),
        });
      }
    }
  });
}

if (import.meta.main) runMain("coordinator-capacity", main);
