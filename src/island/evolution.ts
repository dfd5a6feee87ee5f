// An island's evolving state and the steps that change it, apart from any connection: one generation
// (the core GA step), one emigration (select, then plan each out-edge's share) and one integration of
// immigrants. State goes in and comes out as an IslandSnapshot (core/island-snapshot.ts), so an island
// restored from a snapshot continues exactly as the one that took it. The Island (island.ts) only
// orchestrates: step, and at a migration generation emigrate → synchrony → integrate.
import type { AsyncBatchEvaluator } from "../core/evaluate.ts";
import {
  type FitnessMode,
  type GaParamsInput,
  type GaState,
  type Individual,
  initRunAsync,
  isBetterFitness,
  type LossOf,
  type NetworkShape,
  stepAsync,
  type TerminationParams,
  terminationReason,
  withBestLoss,
  withLosses,
} from "../core/ga/index.ts";
import type { IslandSnapshot, MigrationCounters, SnapshotMode } from "../core/island-snapshot.ts";
import {
  type EmigrationSettings,
  emigrantsToSelect,
  integrateImmigrants,
  type OutEdge,
  planEmigration,
  type ReplacementPolicy,
  type SelectionPolicy,
  selectEmigrants,
  shareForEdge,
} from "../core/migration.ts";
import { Rng } from "../core/rng.ts";
import type { Emission } from "./synchrony.ts";

export interface EvolutionSettings {
  readonly island: number;
  /** the GA's parameters (the run config's ga section) */
  readonly ga: GaParamsInput;
  readonly mode: SnapshotMode;
  readonly fitness: FitnessMode;
  readonly selection: SelectionPolicy;
  readonly replacement: ReplacementPolicy;
  readonly emigration: EmigrationSettings;
  /** the island's own termination rule: it only gives the verdict its reports carry */
  readonly ownRule: TerminationParams;
}

export interface EvolutionDeps {
  readonly evaluate: AsyncBatchEvaluator;
  readonly network: NetworkShape;
  /** losses of masks the search did not compute one for (reports, tickets and emigrants carry one) */
  readonly lossOf: LossOf;
}

export class Evolution {
  readonly #s: EvolutionSettings;
  readonly #deps: EvolutionDeps;
  #state: GaState;
  readonly #migrationRng: Rng;
  #epoch: number;
  readonly counters: MigrationCounters;
  #lastImprovement: number;
  #bestSoFar: number;
  #verdict: string | null;

  private constructor(
    settings: EvolutionSettings,
    deps: EvolutionDeps,
    from: IslandSnapshot,
    counters: MigrationCounters,
  ) {
    this.#s = settings;
    this.#deps = deps;
    this.#state = from.ga;
    this.#migrationRng = Rng.restore(from.migrationRng);
    this.#epoch = from.epoch;
    this.counters = counters;
    this.#lastImprovement = from.lastImprovement;
    this.#bestSoFar = from.bestSoFar;
    this.#verdict = terminationReason(from.ga.history, settings.ownRule);
  }

  /**
   * A fresh island: its initial population from the GA stream of `island` (rng.child("ga")), its
   * migration draws from rng.child("migration"). `counters` (all zero) is shared with the island's
   * senders and synchrony, which count what they send, receive and drop.
   */
  static async start(
    settings: EvolutionSettings,
    deps: EvolutionDeps,
    island: Rng,
    counters: MigrationCounters,
  ): Promise<Evolution> {
    const ga = withBestLoss(
      await initRunAsync(settings.ga, deps, island.child("ga")),
      settings.fitness,
      deps.lossOf,
    );
    const fresh: IslandSnapshot = {
      island: settings.island,
      mode: settings.mode,
      epoch: 0,
      ga,
      migrationRng: island.child("migration").save(),
      counters,
      lastImprovement: 0,
      bestSoFar: ga.history[0].bestFitness,
      waiting: [],
    };
    return new Evolution(settings, deps, fresh, counters);
  }

  /**
   * An island that continues from a snapshot; `counters` starts as a copy of the snapshot's (its waiting
   * immigrants go back to its synchrony).
   */
  static restore(
    settings: EvolutionSettings,
    deps: EvolutionDeps,
    snapshot: IslandSnapshot,
    counters: MigrationCounters,
  ): Evolution {
    Object.assign(counters, snapshot.counters);
    return new Evolution(settings, deps, snapshot, counters);
  }

  get state(): GaState {
    return this.#state;
  }

  get epoch(): number {
    return this.#epoch;
  }

  get generation(): number {
    return this.#state.generation;
  }

  get verdict(): string | null {
    return this.#verdict;
  }

  get stalledGenerations(): number {
    return this.#state.generation - this.#lastImprovement;
  }

  /** One generation; true when the verdict changed (the coordinator hears of it at once). */
  async step(): Promise<boolean> {
    const next = await stepAsync(this.#state, this.#deps);
    this.#state = withBestLoss(next, this.#s.fitness, this.#deps.lossOf);
    const f = this.#state.history[this.#state.history.length - 1].bestFitness;
    if (isBetterFitness(f, this.#bestSoFar, this.#s.fitness)) {
      this.#bestSoFar = f;
      this.#lastImprovement = this.#state.generation;
    }
    const before = this.#verdict;
    this.#verdict = terminationReason(this.#state.history, this.#s.ownRule);
    return this.#verdict !== before;
  }

  /** Starts the next epoch: selects its emigrants (with losses) and plans every out-edge's share. */
  emigrate(outs: readonly OutEdge[]): { epoch: number; emission: Emission } {
    this.#epoch++;
    const epoch = this.#epoch;
    const s = this.#s.emigration;
    const emigrants =
      outs.length > 0 && s.k > 0
        ? withLosses(
            selectEmigrants(
              this.#state.population,
              emigrantsToSelect(outs, s),
              this.#s.selection,
              this.#s.fitness,
              this.#migrationRng,
            ),
            this.#deps.lossOf,
          )
        : [];
    return {
      epoch,
      emission: {
        byNeighbour: planEmigration(outs, emigrants, epoch, s),
        forEdge: (edge) => shareForEdge(edge, emigrants, epoch, s),
      },
    };
  }

  /**
   * Ends the epoch: the immigrants enter the population by the replacement policy. A migrant's metrics
   * are only its sender's claim: each is evaluated here by this island's own evaluator first (one batch,
   * counted in the island's evaluations), so a forged accuracy never competes. The evaluation is a
   * deterministic function of the mask, so a lockstep run still gives the same ticket for a seed.
   * Returns the mask hashes of the immigrants that entered the population.
   */
  async integrate(arrivals: readonly Individual[]): Promise<ReadonlySet<string>> {
    if (arrivals.length === 0) return new Set();
    const measured = await this.#deps.evaluate(arrivals.map((a) => a.mask));
    const genuine = arrivals.map((a, k) => ({
      ...a,
      accuracy: measured[k].accuracy,
      loss: measured[k].loss,
    }));
    const r = integrateImmigrants(
      this.#state.population,
      genuine,
      this.#s.replacement,
      this.#s.fitness,
      this.#migrationRng,
      { born: this.#state.generation },
    );
    const before = new Set(this.#state.population);
    // the immigrants placed: the population's new members (the counts by neighbour read their masks)
    const placed = new Set(r.population.filter((ind) => !before.has(ind)).map((ind) => ind.hash));
    this.counters.accepted += r.accepted;
    this.counters.rejected += r.rejected + r.duplicates;
    const evaluations = this.#state.evaluations + arrivals.length;
    const history = [...this.#state.history];
    const last = history.length - 1;
    history[last] = { ...history[last], evaluations };
    // an immigrant that became the best needs its loss (reports and the ticket carry one)
    this.#state = withBestLoss(
      { ...this.#state, population: r.population, evaluations, history },
      this.#s.fitness,
      this.#deps.lossOf,
    );
    return placed;
  }

  /** The complete state now, with the immigrants waiting in the synchrony. */
  snapshot(waiting: readonly Individual[]): IslandSnapshot {
    return {
      island: this.#s.island,
      mode: this.#s.mode,
      epoch: this.#epoch,
      ga: this.#state,
      migrationRng: this.#migrationRng.save(),
      counters: { ...this.counters },
      lastImprovement: this.#lastImprovement,
      bestSoFar: this.#bestSoFar,
      waiting: [...waiting],
    };
  }
}
