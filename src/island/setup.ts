// What an island builds from its assignment before it evolves: the run config, the dataset, the network,
// the evaluator (worker threads) and the settings of its evolution. Nothing here talks to a peer or the
// coordinator.
import { type ResolvedConfig, resolveConfig, withBoundSecondsPerTry } from "../core/config.ts";
import { E_CONFIG, SltError } from "../core/errors.ts";
import { evaluationShare, searchNeedsLoss, type TerminationParams } from "../core/ga/index.ts";
import type { Mask } from "../core/mask.ts";
import { parseSelectionPolicy } from "../core/migration.ts";
import { initNetwork } from "../core/network.ts";
import type { AssignBody } from "../core/protocol/index.ts";
import {
  createFastEvaluator,
  createSharedEvaluator,
  evaluatorOptionsFromEnv,
  type FastEvaluator,
  type SharedEvaluator,
} from "../evaluator/index.ts";
import { loadDataset } from "../io/datasets.ts";
import type { EvolutionDeps, EvolutionSettings } from "./evolution.ts";

/**
 * Evaluator worker threads per island (the pool's default): one moves evaluation off the main thread,
 * which stays free for peers and heartbeats; a host usually runs several islands.
 */
export const ISLAND_EVALUATOR_THREADS = 1;

export interface IslandSetup {
  readonly config: ResolvedConfig;
  readonly evaluator: SharedEvaluator;
  readonly deps: EvolutionDeps;
  readonly settings: EvolutionSettings;
  /** the generation cap and evaluation share: the only limits at which an island ends by itself */
  readonly capOnly: TerminationParams;
}

/** The config, data, network, evaluator and evolution settings of an assignment. */
export async function setUpIsland(a: AssignBody): Promise<IslandSetup> {
  const given: ResolvedConfig = resolveConfig({ source: "assign", patch: a.config });
  const dataset = loadDataset(given.dataset);
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
  const evaluator = await createSharedEvaluator(network, dataset.train, {
    threads: ISLAND_EVALUATOR_THREADS,
    evaluator: { loss: searchNeedsLoss(fitness, config.termination.rule) },
  });
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
  return {
    config,
    evaluator,
    deps: { evaluate: evaluator.batch, network, lossOf },
    settings: evolutionSettings(a, config),
    capOnly: {
      rule: "none",
      ruleCap: null,
      maxGenerations: config.termination.maxGenerations,
      maxEvaluations: evaluationShare(config.termination.maxEvaluations, config.cluster.islands, a.island),
    },
  };
}

function evolutionSettings(a: AssignBody, config: ResolvedConfig): EvolutionSettings {
  const cluster = config.cluster;
  return {
    island: a.island,
    ga: config.ga,
    mode: a.mode,
    fitness: config.ga.fitness,
    selection: parseSelectionPolicy(cluster.selection),
    replacement: cluster.replacement,
    emigration: {
      weights: a.weights,
      k: cluster.migrants,
      maxPerMessage: a.maxMigrants,
      seedStream: a.seedStream,
      island: a.island,
    },
    // An island stops by itself only at the generation cap. Its own rule just gives the verdict its
    // reports carry; the coordinator decides when the run ends. Lockstep runs have no rule: one firing
    // at different generations on different islands would leave their neighbours waiting at a barrier.
    ownRule: {
      rule: a.mode === "lockstep" ? "none" : config.termination.rule,
      ruleCap: null,
      plateauLogs: config.termination.plateauLogs,
    },
  };
}
