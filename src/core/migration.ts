// Migration policies, pure: who leaves an island (selectEmigrants), who is sent along each edge
// (emigrantsToSelect, shareForEdge / planEmigration: what islands run), how arrivals enter a population (integrateImmigrants), and when
// an island migrates (isMigrationGeneration / migrationOffsets). State goes in and comes out; the
// only randomness is the Rng passed in, and policies that need none never draw from it.
//
// Migrants are copies: their masks are cloned, and a migrant keeps the fitness metrics its sender
// measured (it is never re-evaluated; every island evaluates on the same training split, so the
// numbers are comparable). Orderings are the GA's own: "better" means earlier in survivor order
// (fitness, then more zero bits), exactly as in ga/individual.ts.
import { E_MIGRATION, SltError } from "./errors.ts";
import { compareSurvivors, type FitnessMode, type Individual } from "./ga/individual.ts";
import { cloneMask, hamming, type Mask, maskHash, masksEqual, zeros } from "./mask.ts";
import { Rng } from "./rng.ts";
import type { Edge, WeightKind } from "./topology.ts";

function fail(message: string): never {
  throw new SltError(E_MIGRATION, message);
}

function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

function checkCount(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0)
    fail(`${name} must be an integer ≥ 0, got ${show(value)}`);
  return value;
}

function checkMode(mode: unknown): FitnessMode {
  if (mode !== "accuracy" && mode !== "loss")
    fail(`fitness mode must be "accuracy" or "loss", got ${show(mode)}`);
  return mode;
}

/** A copy that shares nothing mutable with the original (the mask words are cloned). */
export function copyIndividual(ind: Individual): Individual {
  return { ...ind, mask: cloneMask(ind.mask) };
}

// ---------------------------------------------------------------------------------------------
// Emigration

export type SelectionPolicyName = "best" | "random" | "tournament" | "diverse";

export type SelectionPolicy =
  | { readonly kind: "best" }
  | { readonly kind: "random" }
  | { readonly kind: "diverse" }
  | { readonly kind: "tournament"; readonly size: number };

/** Binary tournament unless a size is given. */
export const DEFAULT_TOURNAMENT_SIZE = 2;

const SELECTION_FORMS = "best, random, diverse, tournament, tournament:T (T ≥ 1 contestants; default 2)";

const PLAIN_SELECTIONS: readonly string[] = ["best", "random", "diverse"];

function normaliseSelection(policy: SelectionPolicy | SelectionPolicyName): SelectionPolicy {
  if (policy === "best" || policy === "random" || policy === "diverse") return { kind: policy };
  if (policy === "tournament") return { kind: "tournament", size: DEFAULT_TOURNAMENT_SIZE };
  if (typeof policy === "object" && policy !== null) {
    if (PLAIN_SELECTIONS.includes(policy.kind)) return { kind: policy.kind as "best" | "random" | "diverse" };
    if (policy.kind === "tournament") {
      const size = (policy as { size?: unknown }).size ?? DEFAULT_TOURNAMENT_SIZE;
      if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 1)
        fail(`tournament size must be an integer ≥ 1, got ${show(size)}`);
      return { kind: "tournament", size };
    }
  }
  return fail(`emigrant selection policy ${show(policy)} is unknown; allowed: ${SELECTION_FORMS}`);
}

/** Parses "best", "random", "diverse", "tournament" or "tournament:3". */
export function parseSelectionPolicy(text: string): SelectionPolicy {
  const s = typeof text === "string" ? text.trim() : text;
  if (typeof s === "string") {
    const m = /^tournament:(\d+)$/.exec(s);
    if (m) return normaliseSelection({ kind: "tournament", size: Number(m[1]) });
    if (s === "tournament" || PLAIN_SELECTIONS.includes(s))
      return normaliseSelection(s as SelectionPolicyName);
  }
  return fail(`emigrant selection policy ${show(text)} is unknown; allowed: ${SELECTION_FORMS}`);
}

/**
 * Picks up to k distinct individuals (by position) to send away and returns copies of them; fewer
 * when the population is smaller than k.
 *   best        the first k in survivor order (fitness, then sparsity, then list order);
 *   random      k distinct individuals, uniformly (partial Fisher–Yates);
 *   tournament  k rounds; each draws `size` distinct contestants uniformly from those not yet chosen
 *               (all of them when fewer remain) and the best in survivor order wins (list order on ties);
 *   diverse     NOT IN THE PAPERS (an island-model option, for diversity): the best, then each next the
 *               one of the fitter half farthest in Hamming distance from those already chosen (the
 *               smallest distance to any of them; ties: survivor order); past half the population, the
 *               same over the rest. It
 *               sends neighbours several distinct good masks instead of the best few near-copies of
 *               one, which is what `best` sends once a small island has converged. No draws.
 * The result is in selection order, so any prefix of it is itself a valid selection under the policy
 * (planEmigration relies on this when edges carry different migrant counts).
 */
export function selectEmigrants(
  population: readonly Individual[],
  k: number,
  policy: SelectionPolicy | SelectionPolicyName,
  mode: FitnessMode,
  rng: Rng,
): Individual[] {
  const p = normaliseSelection(policy);
  const cmp = compareSurvivors(checkMode(mode));
  const take = Math.min(checkCount(k, "emigrant count k"), population.length);
  let chosen: number[];
  if (p.kind === "best") {
    chosen = population
      .map((_, i) => i)
      .sort((a, b) => cmp(population[a], population[b]) || a - b)
      .slice(0, take);
  } else if (p.kind === "diverse") {
    chosen = selectDiverse(population, take, cmp);
  } else if (p.kind === "random") {
    const idx = population.map((_, i) => i);
    for (let i = 0; i < take; i++) {
      const j = i + rng.int(idx.length - i);
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    chosen = idx.slice(0, take);
  } else {
    const pool = population.map((_, i) => i);
    chosen = [];
    for (let round = 0; round < take; round++) {
      const size = Math.min(p.size, pool.length);
      // draw `size` distinct positions of the pool: a partial shuffle of its front
      for (let i = 0; i < size; i++) {
        const j = i + rng.int(pool.length - i);
        [pool[i], pool[j]] = [pool[j], pool[i]];
      }
      let w = 0;
      for (let i = 1; i < size; i++) {
        const c = cmp(population[pool[i]], population[pool[w]]);
        if (c < 0 || (c === 0 && pool[i] < pool[w])) w = i;
      }
      chosen.push(pool[w]);
      pool.splice(w, 1);
    }
  }
  return chosen.map((i) => copyIndividual(population[i]));
}

/**
 * `diverse` selection (see selectEmigrants): greedy farthest-point, over the fitter half while any of
 * it is left, then over the rest. The candidates never depend on k, so every prefix of a selection is
 * the selection of its own length (planEmigration relies on that).
 */
function selectDiverse(
  population: readonly Individual[],
  take: number,
  cmp: (a: Individual, b: Individual) => number,
): number[] {
  const ranked = population.map((_, i) => i).sort((a, b) => cmp(population[a], population[b]) || a - b);
  const half = Math.ceil(ranked.length / 2);
  const chosen: number[] = [];
  // nearest[j]: the Hamming distance from ranked[j] to the nearest individual chosen so far
  const nearest = ranked.map(() => Number.POSITIVE_INFINITY);
  for (let round = 0; round < take; round++) {
    const end = round < half ? half : ranked.length;
    let w = -1;
    for (let j = 0; j < end; j++) if (nearest[j] >= 0 && (w < 0 || nearest[j] > nearest[w])) w = j;
    chosen.push(ranked[w]);
    nearest[w] = -1; // chosen: never again
    const m = population[ranked[w]].mask;
    for (let j = 0; j < ranked.length; j++)
      if (nearest[j] >= 0) nearest[j] = Math.min(nearest[j], hamming(m, population[ranked[j]].mask));
  }
  return chosen;
}

/**
 * Which of the k emigrants travel along one edge, as ascending indices into the emigrant list.
 *   count weight w:        the first w·k (indices 0 … w·k−1), no draws;
 *   probability weight p:  each of the first k independently with probability p (exactly k draws).
 * `available` (default: no limit) drops indices at or beyond it, e.g. the emigrants a small population
 * could supply; probability weights still make exactly k draws, so the stream does not depend on it.
 */
export function emigrantsPerEdge(
  edge: Edge,
  weights: WeightKind,
  k: number,
  rng: Rng,
  available = Number.POSITIVE_INFINITY,
): number[] {
  checkCount(k, "migrants per edge k");
  if (available !== Number.POSITIVE_INFINITY) checkCount(available, "available emigrants");
  const w = edge.weight;
  if (weights === "count") {
    if (typeof w !== "number" || !Number.isSafeInteger(w) || w < 1)
      fail(`edge ${edge.from}→${edge.to}: count weight must be an integer ≥ 1, got ${show(w)}`);
    return Array.from({ length: Math.min(w * k, available) }, (_, i) => i);
  }
  if (weights === "probability") {
    if (typeof w !== "number" || !(w > 0) || w > 1)
      fail(`edge ${edge.from}→${edge.to}: probability weight must satisfy 0 < p ≤ 1, got ${show(w)}`);
    const out: number[] = [];
    for (let i = 0; i < k; i++) if (rng.next() < w && i < available) out.push(i);
    return out;
  }
  return fail(`edge weights must be "count" or "probability", got ${show(weights)}`);
}

/** One out-edge of an island as its assignment gives it: the neighbour and the edge's weight. */
export interface OutEdge {
  readonly island: number;
  /** a migrant count or a probability, as `EmigrationSettings.weights` says */
  readonly weight: number;
}

/** What an island's emigration depends on besides its population and out-edges. */
export interface EmigrationSettings {
  readonly weights: WeightKind;
  /** migrants per out-edge and migration */
  readonly k: number;
  /** the most migrants one message may carry */
  readonly maxPerMessage: number;
  /** the island's seed stream (probability draws derive from it) */
  readonly seedStream: string;
  readonly island: number;
}

/** How many emigrants to select so that every out-edge can be served (0 without out-edges). */
export function emigrantsToSelect(outs: readonly OutEdge[], s: EmigrationSettings): number {
  checkCount(s.k, "migrants per edge k");
  if (outs.length === 0 || s.k === 0) return 0;
  const per = (n: OutEdge) => (s.weights === "count" ? Math.round(n.weight) * s.k : s.k);
  return Math.min(s.maxPerMessage, Math.max(...outs.map(per)));
}

/**
 * The emigrants for one out-edge in one epoch, picked from the selected emigrants (emigrantsPerEdge).
 * Probability draws come from a stream of their own per (island, epoch, neighbour),
 * Rng.derive(seedStream, "edge", epoch, neighbour), so a lockstep resend after a topology repair picks
 * the same ones and nothing depends on timing or on the order edges are served in.
 */
export function shareForEdge(
  n: OutEdge,
  emigrants: readonly Individual[],
  epoch: number,
  s: EmigrationSettings,
): Individual[] {
  const available = Math.min(emigrants.length, s.maxPerMessage);
  const edge = {
    from: s.island,
    to: n.island,
    weight: s.weights === "count" ? Math.round(n.weight) : n.weight,
  };
  const rng = Rng.derive(s.seedStream, "edge", epoch, n.island);
  return emigrantsPerEdge(edge, s.weights, s.k, rng, available).map((i) => emigrants[i]);
}

/** The emigrants of one epoch by out-neighbour (every out-edge has an entry, maybe empty). */
export function planEmigration(
  outs: readonly OutEdge[],
  emigrants: readonly Individual[],
  epoch: number,
  s: EmigrationSettings,
): Map<number, Individual[]> {
  return new Map(outs.map((n) => [n.island, shareForEdge(n, emigrants, epoch, s)]));
}

// ---------------------------------------------------------------------------------------------
// Immigration

export type ReplacementPolicy = "worst" | "random" | "only-if-better" | "most-similar";

export const REPLACEMENT_POLICIES: readonly ReplacementPolicy[] = [
  "worst",
  "random",
  "only-if-better",
  "most-similar",
];

/** Parses a replacement policy name. */
export function parseReplacementPolicy(text: string): ReplacementPolicy {
  const s = typeof text === "string" ? text.trim() : text;
  if ((REPLACEMENT_POLICIES as readonly unknown[]).includes(s)) return s as ReplacementPolicy;
  return fail(`replacement policy ${show(text)} is unknown; allowed: ${REPLACEMENT_POLICIES.join(", ")}`);
}

export interface Integration {
  /** same length as the population given */
  readonly population: Individual[];
  /** immigrants of this batch present in the returned population */
  readonly accepted: number;
  /** immigrants that were not duplicates but are not in the returned population */
  readonly rejected: number;
  /** immigrants dropped because their mask was already in the population or earlier in the batch */
  readonly duplicates: number;
}

export interface IntegrateOptions {
  /** `born` for the new individuals (e.g. the receiver's generation); default: keep the immigrant's */
  readonly born?: number;
}

class MaskSet {
  readonly #byHash = new Map<string, Mask[]>();
  add(hash: string, m: Mask): void {
    const list = this.#byHash.get(hash);
    if (list) list.push(m);
    else this.#byHash.set(hash, [m]);
  }
  /** A hash match alone is not enough: the masks must be equal bit for bit. */
  has(hash: string, m: Mask): boolean {
    return this.#byHash.get(hash)?.some((x) => masksEqual(x, m)) ?? false;
  }
}

/**
 * Puts immigrants into a population of unchanged size, and counts what happened.
 *
 * First, duplicates are dropped: an immigrant whose mask is already in the population (hash match and
 * equal masks), or equal to an earlier immigrant of the same batch. The others become individuals
 * with origin "immigrant", a cloned mask, their own accuracy and loss (not re-evaluated), hash and zero
 * count recomputed from the mask. Then, in arrival order (lockstep runs pass them in neighbour-id
 * order), the policy decides:
 *   worst           unconditional: the i-th immigrant replaces the i-th worst resident (survivor order,
 *                   later list position = worse among equals); never an immigrant placed in this call.
 *   random          unconditional: each immigrant replaces a distinct resident chosen uniformly (this
 *                   can replace the island's best; choose only-if-better to protect it).
 *   only-if-better  the result is the best n of residents ∪ immigrants in survivor order, with
 *                   residents winning ties, so an immigrant gets in only by being strictly better than
 *                   whoever it displaces (pagmo's fair replacement). No rank of the population ever
 *                   gets worse. Displaced slots, ascending, take the entering immigrants in arrival order.
 *   most-similar    each immigrant finds the current individual nearest in Hamming distance (ties: the
 *                   worse in survivor order, then the lower position) and replaces it only if strictly
 *                   better (deterministic crowding): an immigrant competes only with its own niche, so
 *                   migration cannot wipe out distinct lineages. An immigrant placed earlier in the
 *                   batch can be displaced by a later one; it then counts as rejected.
 * Immigrants beyond the population size are rejected by "worst" and "random". Only "random" draws from rng.
 */
export function integrateImmigrants(
  population: readonly Individual[],
  immigrants: readonly Individual[],
  policy: ReplacementPolicy,
  mode: FitnessMode,
  rng: Rng,
  options: IntegrateOptions = {},
): Integration {
  if (!(REPLACEMENT_POLICIES as readonly unknown[]).includes(policy))
    fail(`replacement policy ${show(policy)} is unknown; allowed: ${REPLACEMENT_POLICIES.join(", ")}`);
  const cmp = compareSurvivors(checkMode(mode));
  if (options.born !== undefined) checkCount(options.born, "born");
  const length = population.length > 0 ? population[0].mask.length : immigrants[0]?.mask.length;
  const present = new MaskSet();
  for (const r of population) present.add(r.hash, r.mask);
  const fresh: Individual[] = [];
  let duplicates = 0;
  immigrants.forEach((imm, i) => {
    if (imm.mask.length !== length)
      fail(`immigrant ${i} has a genome of ${imm.mask.length} bits; this island's genome has ${length} bits`);
    const hash = maskHash(imm.mask);
    if (present.has(hash, imm.mask)) {
      duplicates++;
      return;
    }
    const mask = cloneMask(imm.mask);
    present.add(hash, mask);
    fresh.push({
      mask,
      hash,
      accuracy: imm.accuracy,
      loss: imm.loss,
      zeros: zeros(mask),
      origin: "immigrant",
      born: options.born ?? imm.born,
    });
  });

  const n = population.length;
  const out = population.slice();
  if (policy === "worst") {
    const worstFirst = out
      .map((_, i) => i)
      .sort((a, b) => cmp(out[a], out[b]) || a - b)
      .reverse();
    for (let j = 0; j < Math.min(fresh.length, n); j++) out[worstFirst[j]] = fresh[j];
  } else if (policy === "random") {
    const slots = out.map((_, i) => i);
    for (let j = 0; j < Math.min(fresh.length, n); j++) {
      const s = j + rng.int(n - j);
      [slots[j], slots[s]] = [slots[s], slots[j]];
      out[slots[j]] = fresh[j];
    }
  } else if (policy === "only-if-better") {
    type Entry = { ind: Individual; resident: boolean; pos: number };
    const entries: Entry[] = [
      ...out.map((ind, pos) => ({ ind, resident: true, pos })),
      ...fresh.map((ind, pos) => ({ ind, resident: false, pos })),
    ];
    entries.sort((a, b) => cmp(a.ind, b.ind) || Number(b.resident) - Number(a.resident) || a.pos - b.pos);
    const kept = entries.slice(0, n);
    const keptResidents = new Set(kept.filter((e) => e.resident).map((e) => e.pos));
    const entering = kept
      .filter((e) => !e.resident)
      .sort((a, b) => a.pos - b.pos)
      .map((e) => e.ind);
    let j = 0;
    for (let pos = 0; pos < n; pos++) if (!keptResidents.has(pos)) out[pos] = entering[j++];
  } else {
    for (const imm of fresh) {
      let near = -1;
      let nearDist = Number.POSITIVE_INFINITY;
      for (let i = 0; i < n; i++) {
        const d = hamming(imm.mask, out[i].mask);
        if (d < nearDist || (d === nearDist && cmp(out[i], out[near]) > 0)) {
          near = i;
          nearDist = d;
        }
      }
      if (near >= 0 && cmp(imm, out[near]) < 0) out[near] = imm;
    }
  }
  const placed = new Set<Individual>(fresh);
  const accepted = out.filter((x) => placed.has(x)).length;
  return { population: out, accepted, rejected: fresh.length - accepted, duplicates };
}

// ---------------------------------------------------------------------------------------------
// Schedule

function checkSchedule(interval: unknown, offset: unknown): void {
  if (typeof interval !== "number" || !Number.isSafeInteger(interval) || interval < 1)
    fail(`migration interval must be an integer ≥ 1 (generations between migrations), got ${show(interval)}`);
  if (typeof offset !== "number" || !Number.isSafeInteger(offset) || offset < 0 || offset >= interval)
    fail(`migration offset must be an integer with 0 ≤ offset < interval = ${interval}, got ${show(offset)}`);
}

/**
 * True if an island migrates at the end of this generation: generation ≥ 1 and
 * generation ≡ offset (mod interval). With offset 0: interval, 2·interval, …; with offset o > 0 the
 * first migration comes after o generations, then every interval.
 */
export function isMigrationGeneration(generation: number, interval: number, offset: number): boolean {
  checkSchedule(interval, offset);
  checkCount(generation, "generation");
  return generation >= 1 && generation % interval === offset;
}

/** How many migration generations (isMigrationGeneration) fall in generations 1 … cap. */
export function migrationsUpTo(cap: number, interval: number, offset: number): number {
  checkSchedule(interval, offset);
  checkCount(cap, "generation cap");
  if (offset === 0) return Math.floor(cap / interval);
  return cap >= offset ? Math.floor((cap - offset) / interval) + 1 : 0;
}

/** The first migration generation strictly after `generation`. */
export function nextMigrationGeneration(generation: number, interval: number, offset: number): number {
  checkSchedule(interval, offset);
  checkCount(generation, "generation");
  let g = generation + 1;
  const r = g % interval;
  if (r !== offset) g += (offset - r + interval) % interval;
  return g;
}

export type Stagger = "none" | "staggered";

/**
 * Per-island offsets. "none": every island migrates in the same generations (what lockstep needs).
 * "staggered": island i gets ⌊i·interval/n⌋, spreading the n islands evenly over the interval so
 * that their traffic does not all leave at once (with n > interval several share each offset).
 */
export function migrationOffsets(n: number, interval: number, stagger: Stagger): number[] {
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0)
    fail(`number of islands must be an integer ≥ 0, got ${show(n)}`);
  checkSchedule(interval, 0);
  if (stagger === "none") return new Array<number>(n).fill(0);
  if (stagger === "staggered") return Array.from({ length: n }, (_, i) => Math.floor((i * interval) / n));
  return fail(`migration stagger must be "none" or "staggered", got ${show(stagger)}`);
}
