// Deterministic re-sharding: the GA states of N islands (from a checkpoint) turned into the GA states of
// M islands with ids 0 … M−1, for `slt resume --islands M`. Pure: the same states, M and seed always give
// the same result, bit for bit.
//
// The rule (README, "Long runs"; docs/architecture.md, "Checkpoints"):
// - N = M: nothing changes. New island k gets input k's state (inputs in id order) as it is, so a resume
//   on the same layout is exact.
// - Otherwise every individual of every island is ranked in one list: better training fitness first,
//   then sparser (more zero bits) first, as survivor selection orders them, then by old island id, then
//   by position in its island's population (so the order is total).
// - Each island gets P individuals (P = the GA's population size) by dealing the ranked list
//   round-robin: island j gets ranks j, j+M, j+2M, …
//   · More than M·P individuals (e.g. 4 → 2): only the best M·P are dealt; each appears once.
//   · Fewer (e.g. 1 → 3): all are dealt, and each island is then filled up to P with copies of the
//     best-ranked individuals it does not hold yet. An island never holds two copies of one individual
//     while there are at least P in all, so every island has a whole population to select from and the
//     best individuals spread to every island, as a migration would carry them. (Dealing the ranked list
//     cyclically instead would give an island the same individuals twice whenever M and the total share
//     a factor, e.g. 2 → 4.)
//   Each population is in rank order (survivor order, as after a step). No individual is made: every
//   one is an input individual (the same object, metrics as measured), traceable through `sources`.
// - generation: the largest input generation, G.
// - evaluations: the inputs' total, split as evenly as whole numbers allow (island j gets one more than
//   ⌊E/M⌋ while j < E mod M), so the run's count is kept.
// - The "lead" island, the one at generation G whose best individual ranks first, gives every new
//   island its generator state (the adaptive bound b and num_rec) and its history up to generation G−1;
//   history[G] is made anew for each island's new population (no new evaluations, children, mutants or
//   newcomers in it), so that the last entry matches the state's generation and evaluations.
// - Random streams: fresh, from `reshardStream(seed, j, G)`, the stream "island/j/reshard/G" of the
//   run seed. The GA's three streams are its child "ga"'s children "crossover", "mutation" and
//   "newcomers", as initRun makes them; the island's own streams (migration) come from the same base.
import { canonicalJson } from "./checkpoint.ts";
import { E_CHECKPOINT, SltError } from "./errors.ts";
import { compareSurvivors, type Individual } from "./ga/individual.ts";
import { type GaState, type GenerationStats, generationStats } from "./ga/run.ts";
import { evaluationShare } from "./ga/termination.ts";
import { Rng } from "./rng.ts";

export interface IslandGaState {
  /** the island's id in the checkpoint */
  readonly id: number;
  readonly state: GaState;
}

/** Where an individual of a re-sharded population came from. */
export interface ReshardSource {
  /** the input island's id */
  readonly island: number;
  /** its position in that island's population */
  readonly index: number;
}

export interface ReshardResult {
  /** states[j]: new island j's GA state */
  readonly states: readonly GaState[];
  /** sources[j][k]: where states[j].population[k] came from */
  readonly sources: readonly (readonly ReshardSource[])[];
  /** false when the island count did not change and the states are the inputs, unchanged */
  readonly changed: boolean;
}

/**
 * The base stream of new island `island` after a re-shard at `generation`: the GA's streams are
 * `.child("ga").child(purpose)`; the island's other streams (migration) are further children.
 */
export function reshardStream(seed: number | string, island: number, generation: number): Rng {
  return Rng.derive(seed, "island", island, "reshard", generation);
}

interface Ranked {
  readonly individual: Individual;
  readonly source: ReshardSource;
}

function fail(message: string): never {
  throw new SltError(E_CHECKPOINT, `cannot re-shard the checkpoint's populations: ${message}`);
}

/** The inputs in id order, checked: ids distinct, populations not empty, one GA parameter set, one genome length. */
function checkInputs(inputs: readonly IslandGaState[], islands: number): IslandGaState[] {
  if (!Number.isInteger(islands) || islands < 1)
    fail(`the island count must be a positive integer, got ${islands}`);
  if (inputs.length === 0) fail("the checkpoint holds no island");
  const sorted = [...inputs].sort((a, b) => a.id - b.id);
  const first = sorted[0];
  const params = canonicalJson(first.state.params);
  const genome = first.state.population[0]?.mask.length;
  sorted.forEach(({ id, state }, k) => {
    if (k > 0 && id === sorted[k - 1].id) fail(`island ${id} appears twice`);
    if (state.population.length === 0) fail(`island ${id} has an empty population`);
    if (canonicalJson(state.params) !== params)
      fail(`island ${id}'s GA parameters differ from island ${first.id}'s`);
    for (const ind of state.population)
      if (ind.mask.length !== genome)
        fail(`island ${id} holds a genome of length ${ind.mask.length}, island ${first.id} of ${genome}`);
  });
  return sorted;
}

/** Every individual, best first: survivor order, then old island id, then position. */
function rankAll(inputs: readonly IslandGaState[]): Ranked[] {
  const bySurvival = compareSurvivors(inputs[0].state.params.fitness);
  const all: Ranked[] = [];
  for (const { id, state } of inputs)
    state.population.forEach((individual, index) => {
      all.push({ individual, source: { island: id, index } });
    });
  return all.sort(
    (a, b) =>
      bySurvival(a.individual, b.individual) ||
      a.source.island - b.source.island ||
      a.source.index - b.source.index,
  );
}

/** The ranks (indices into the ranked list) each of `islands` islands gets, ascending; see the header. */
export function dealRanks(total: number, islands: number, population: number): number[][] {
  const dealt = Math.min(total, islands * population);
  const out: number[][] = [];
  for (let j = 0; j < islands; j++) {
    const ranks: number[] = [];
    for (let r = j; r < dealt; r += islands) ranks.push(r);
    const held = new Set(ranks);
    for (let r = 0; r < total && ranks.length < population; r++) if (!held.has(r)) ranks.push(r);
    // fewer individuals than one population: copies again, best first
    for (let r = 0; ranks.length < population; r = (r + 1) % total) ranks.push(r);
    out.push(ranks.sort((a, b) => a - b));
  }
  return out;
}

function newHistory(
  lead: GaState,
  population: readonly Individual[],
  evaluations: number,
  generation: number,
) {
  const entry: GenerationStats = generationStats(
    generation,
    population,
    lead.params,
    population[0].mask.length,
    evaluations,
    lead.generator,
    {
      newEvaluations: 0,
      cacheHits: 0,
      children: 0,
      mutants: 0,
      newcomers: 0,
      operatorFallbacks: 0,
      generatorFallbacks: 0,
    },
  );
  return [...lead.history.filter((h) => h.generation < generation), entry];
}

/**
 * The GA states of `islands` islands (ids 0 … islands−1) made from the checkpoint's island states by the
 * rule in this file's header; `seed` is the run seed. Throws SltError(E_CHECKPOINT) when the states
 * cannot be merged (no island, an island twice, empty populations, different GA parameters or genome
 * lengths) or `islands` is not a positive integer.
 */
export function reshard(
  inputs: readonly IslandGaState[],
  islands: number,
  seed: number | string,
): ReshardResult {
  const sorted = checkInputs(inputs, islands);
  if (sorted.length === islands)
    return {
      states: sorted.map((s) => s.state),
      sources: sorted.map(({ id, state }) => state.population.map((_, index) => ({ island: id, index }))),
      changed: false,
    };
  const ranked = rankAll(sorted);
  const generation = Math.max(...sorted.map((s) => s.state.generation));
  const byId = new Map(sorted.map((s) => [s.id, s.state]));
  const leadId = ranked.find((r) => byId.get(r.source.island)?.generation === generation)?.source.island;
  const lead = byId.get(leadId as number) as GaState;
  const evaluations = sorted.reduce((sum, s) => sum + s.state.evaluations, 0);
  const deal = dealRanks(ranked.length, islands, lead.params.population);
  const states = deal.map((ranks, j): GaState => {
    const population = ranks.map((r) => ranked[r].individual);
    const own = evaluationShare(evaluations, islands, j) as number;
    const ga = reshardStream(seed, j, generation).child("ga");
    return {
      format: lead.format,
      params: lead.params,
      generation,
      population,
      evaluations: own,
      generator: lead.generator,
      rng: {
        crossover: ga.child("crossover").save(),
        mutation: ga.child("mutation").save(),
        newcomers: ga.child("newcomers").save(),
      },
      history: newHistory(lead, population, own, generation),
    };
  });
  return { states, sources: deal.map((ranks) => ranks.map((r) => ranked[r].source)), changed: true };
}
