// Island scaling on this host: total evaluations per second of 1 island vs 2 islands, each a real
// island process (src/coordinator/cluster.ts runCluster with the local launcher, as `slt run --islands N`
// starts them; the 1-island run goes through the cluster too, so the comparison is like for like).
//   node_modules/.bin/node bench/islands-scaling.ts [--json] [--quick]
// Workload: moons [2,75,2] on the papers' exact data, preset 2025-binary, population 100 per island,
// termination rule `none` and a cap of 100 generations (10 with --quick), so every island runs the same
// number of generations; ring topology, migration every 5 generations (2 migrants), async; no pruning.
// Run directories go to a temporary directory that is removed afterwards.
//
// Figures come from the islands' own reports (one every 5 generations: cumulative evaluations and
// evaluations per second since the island started evolving, on the island's clock): per island,
// (evaluations at its last report − at its first) / (its seconds between them), which leaves out
// process start-up, data loading and the initial population; `evals_per_s` is the sum over islands.
// `evals_per_s_makespan` is the conservative variant: all islands' evaluations between their first and
// last reports over the coordinator's wall time from the earliest first report to the latest last
// report. Rounds alternate 1 and 2 islands (2 rounds; 1 with --quick); best round per island count.
import { runCluster } from "../src/coordinator/cluster.ts";
import { type ConfigPatch, mergeConfig, resolveConfig } from "../src/core/config.ts";
import { makeEvaluator } from "../src/evaluator/index.ts";
import { captureLogger } from "../src/io/log.ts";
import { ISLAND_EVALUATOR_THREADS } from "../src/island/setup.ts";
import {
  type BenchArgs,
  createReporter,
  datasetPatch,
  median,
  round,
  runMain,
  withTempDir,
} from "./common.ts";

const ISLANDS = [1, 2];
const INTERVAL = 5;

interface Report {
  readonly island: number;
  readonly generation: number;
  readonly evaluations: number;
  readonly evaluationsPerSecond: number;
  /** coordinator clock, seconds since the run started */
  readonly t: number;
}

interface Round {
  /** sum over islands of their own rates */
  evalsPerS: number;
  perIsland: number[];
  makespanEvalsPerS: number;
  runSeconds: number;
  islandEvaluations: number;
}

function summarise(
  reports: readonly Report[],
  islands: number,
): Omit<Round, "runSeconds" | "islandEvaluations"> {
  const perIsland: number[] = [];
  let evaluations = 0;
  let tFirst = Number.POSITIVE_INFINITY;
  let tLast = Number.NEGATIVE_INFINITY;
  for (let id = 0; id < islands; id++) {
    const mine = reports.filter((r) => r.island === id).sort((a, b) => a.generation - b.generation);
    if (mine.length === 0) throw new Error(`island ${id} sent no report`);
    const first = mine[0];
    const last = mine[mine.length - 1];
    const seconds = (r: Report) => (r.evaluationsPerSecond > 0 ? r.evaluations / r.evaluationsPerSecond : 0);
    // one report only: its own average since the island started evolving
    const rate =
      mine.length === 1
        ? last.evaluationsPerSecond
        : (last.evaluations - first.evaluations) / (seconds(last) - seconds(first));
    perIsland.push(rate);
    evaluations += mine.length === 1 ? last.evaluations : last.evaluations - first.evaluations;
    tFirst = Math.min(tFirst, first.t);
    tLast = Math.max(tLast, last.t);
  }
  return {
    evalsPerS: perIsland.reduce((s, x) => s + x, 0),
    perIsland,
    makespanEvalsPerS: tLast > tFirst ? evaluations / (tLast - tFirst) : Number.NaN,
  };
}

async function main(args: BenchArgs): Promise<void> {
  const out = createReporter("islands-scaling", args);
  const generations = args.quick ? 10 : 100;
  const rounds = args.quick ? 1 : 2;
  const { patch: data, source } = datasetPatch("moons");
  await withTempDir("slt-bench-islands-", async (dir) => {
    const patch = (islands: number, name: string): ConfigPatch =>
      mergeConfig(data, {
        preset: "2025-binary",
        seed: 1,
        name,
        out: dir,
        prune: "none",
        ga: { population: 100 },
        termination: { rule: "none", maxGenerations: generations },
        cluster: { islands, topology: "ring", interval: INTERVAL, migrants: 2, mode: "async" },
      } satisfies ConfigPatch);
    const results = new Map<number, Round[]>(ISLANDS.map((n) => [n, []]));
    for (let r = 0; r < rounds; r++) {
      for (const islands of ISLANDS) {
        out.log(`round ${r + 1}/${rounds}: ${islands} island(s), ${generations} generations`);
        const config = resolveConfig({ source: "bench", patch: patch(islands, `islands${islands}-r${r}`) });
        const reports: Report[] = [];
        const { logger, records } = captureLogger();
        const summary = await runCluster(config, {
          makeEvaluator,
          logger,
          hooks: {
            onEvent(e) {
              if (e.type === "report") reports.push(e as unknown as Report);
            },
          },
        });
        if (summary.stopReason !== "max-generations" || summary.lost.length > 0) {
          throw new Error(
            `${islands} island(s): the run ended with ${summary.stopReason}, lost ${JSON.stringify(summary.lost)}\n${records.map((r) => JSON.stringify(r)).join("\n")}`,
          );
        }
        results.get(islands)?.push({
          ...summarise(reports, islands),
          runSeconds: summary.wallSeconds,
          islandEvaluations: summary.islands.reduce((s, i) => s + i.evaluations, 0),
        });
      }
    }
    const best = new Map<number, Round>();
    for (const islands of ISLANDS) {
      const all = results.get(islands) as Round[];
      const top = all.reduce((a, b) => (b.evalsPerS > a.evalsPerS ? b : a));
      best.set(islands, top);
      out.figure({
        figure: "throughput",
        dataset: "moons",
        arch: [2, 75, 2],
        islands,
        evals_per_s: round(top.evalsPerS),
        evals_per_s_median: round(median(all.map((x) => x.evalsPerS))),
        evals_per_s_per_island: top.perIsland.map((x) => round(x)),
        evals_per_s_makespan: round(top.makespanEvalsPerS),
        island_evaluations: top.islandEvaluations,
        run_seconds: round(top.runSeconds, 2),
        generations,
        population: 100,
        preset: "2025-binary",
        termination: "none",
        topology: "ring",
        interval: INTERVAL,
        migrants: 2,
        mode: "async",
        launcher: "local",
        evaluator_threads_per_island: ISLAND_EVALUATOR_THREADS,
        data: source,
        method: `best of ${rounds} rounds (rounds alternate the island counts)`,
        rounds,
      });
    }
    const one = best.get(1) as Round;
    const two = best.get(2) as Round;
    out.figure({
      figure: "ratio",
      dataset: "moons",
      arch: [2, 75, 2],
      islands: ISLANDS,
      ratio: round(two.evalsPerS / one.evalsPerS, 2),
      ratio_makespan: round(two.makespanEvalsPerS / one.makespanEvalsPerS, 2),
      generations,
      population: 100,
      method: "evals_per_s of 2 islands / of 1 island",
    });
  });
}

runMain("islands-scaling", main);
