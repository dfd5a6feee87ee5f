// An island's complete evolving state, explicit and serialisable (issue 9's checkpoints): everything
// that decides what the island does next, so that an island restored from a snapshot continues exactly
// as the island that took it would have. Pure: the JSON form is plain data (strings, finite numbers,
// arrays, objects), so it travels in msgpack frames (`checkpoint`, `assign.resume`) and sits in JSON
// files unchanged.
//
// What is in it and why:
// - the GA state (population with fitness and losses, generation, evaluations, generator state, the
//   crossover/mutation/newcomer streams, history) in ga/serialize.ts's form;
// - the migration stream (emigrant selection and immigrant replacement draw from it);
// - the epoch (edge draws derive from it, and lockstep barriers count it), the migration counters,
//   and the plateau tracking (bestSoFar, lastImprovement) the reports carry;
// - immigrants waiting: in async mode the inbox of arrivals not yet integrated; in lockstep mode none,
//   because a lockstep snapshot is taken right after an epoch's immigrants are integrated and before the
//   next emigrants are made (arrivals for later epochs are left out: on resume their senders make and
//   send them again from their own snapshots).
// Not in it: evaluator caches and rate windows, which change how fast, never what.
//
// snapshotFromJSON accepts only a well-formed snapshot of the expected genome length and refuses
// anything else with SltError(E_SNAPSHOT) naming the field at fault.
import { E_SNAPSHOT, SltError } from "./errors.ts";
import { GENERATOR_KINDS } from "./ga/generators.ts";
import { type GaState, type Individual, isBetterFitness } from "./ga/index.ts";
import type { GaStateJSON, IndividualJSON } from "./ga/serialize.ts";
import { gaStateFromJSON, gaStateToJSON } from "./ga/serialize.ts";
import type { RngState } from "./rng.ts";

export const ISLAND_SNAPSHOT_FORMAT = "slt-island/1";

/** The most individuals a snapshot's population or inbox may hold. */
export const MAX_SNAPSHOT_POPULATION = 1 << 20;

export type SnapshotMode = "async" | "lockstep";

export interface MigrationCounters {
  sent: number;
  received: number;
  accepted: number;
  rejected: number;
  dropped: number;
}

/** The in-memory form. */
export interface IslandSnapshot {
  readonly island: number;
  readonly mode: SnapshotMode;
  readonly epoch: number;
  readonly ga: GaState;
  readonly migrationRng: RngState;
  readonly counters: Readonly<MigrationCounters>;
  /** the generation at which the best fitness last improved */
  readonly lastImprovement: number;
  /** the best fitness seen so far (accuracy or loss) */
  readonly bestSoFar: number;
  /** async: immigrants that arrived and wait for the next migration; lockstep: none */
  readonly waiting: readonly Individual[];
}

type Num = number | "NaN" | "Infinity" | "-Infinity";

/** The plain-data form (JSON- and msgpack-safe). */
export interface IslandSnapshotJSON {
  readonly format: typeof ISLAND_SNAPSHOT_FORMAT;
  readonly island: number;
  readonly mode: SnapshotMode;
  readonly epoch: number;
  readonly ga: GaStateJSON;
  readonly migrationRng: RngState;
  readonly counters: MigrationCounters;
  readonly lastImprovement: number;
  readonly bestSoFar: Num;
  readonly waiting: IndividualJSON[];
}

function num(x: number): Num {
  if (Number.isFinite(x)) return x;
  return Number.isNaN(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity";
}

export function snapshotToJSON(s: IslandSnapshot): IslandSnapshotJSON {
  const ga = gaStateToJSON(s.ga);
  // the inbox goes through the same individual form as the population
  const waiting = gaStateToJSON({ ...s.ga, population: [...s.waiting] }).population;
  return {
    format: ISLAND_SNAPSHOT_FORMAT,
    island: s.island,
    mode: s.mode,
    epoch: s.epoch,
    ga,
    migrationRng: s.migrationRng,
    counters: { ...s.counters },
    lastImprovement: s.lastImprovement,
    bestSoFar: num(s.bestSoFar),
    waiting,
  };
}

/**
 * The snapshot of one population searched in-process (`--islands 1`), as island 0 of a run checkpoint:
 * no migration has happened (epoch 0, zero counters, nothing waiting), and the plateau tracking is what
 * an island's would be after the same history (the best fitness so far, and the generation that first
 * reached it). `migrationRng` is the stream an island would migrate with; one population never draws
 * from it, and a re-shard onto islands replaces it.
 */
export function singlePopulationSnapshot(
  ga: GaState,
  mode: SnapshotMode,
  migrationRng: RngState,
): IslandSnapshot {
  const [first, ...rest] = ga.history;
  let bestSoFar = first?.bestFitness ?? Number.NaN;
  let lastImprovement = first?.generation ?? 0;
  for (const h of rest) {
    if (isBetterFitness(h.bestFitness, bestSoFar, ga.params.fitness)) {
      bestSoFar = h.bestFitness;
      lastImprovement = h.generation;
    }
  }
  return {
    island: 0,
    mode,
    epoch: 0,
    ga,
    migrationRng,
    counters: { sent: 0, received: 0, accepted: 0, rejected: 0, dropped: 0 },
    lastImprovement,
    bestSoFar,
    waiting: [],
  };
}

// ---- validation ----

function fail(path: string, what: string): never {
  throw new SltError(E_SNAPSHOT, `malformed island snapshot: ${path} ${what}`);
}

function show(v: unknown): string {
  if (v === undefined) return "nothing";
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

function obj(v: unknown, path: string): Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v))
    fail(path, `must be an object, got ${show(v)}`);
  return v as Record<string, unknown>;
}

function exactKeys(o: Record<string, unknown>, path: string, keys: readonly string[]): void {
  for (const k of keys) if (!(k in o)) fail(`${path}.${k}`, "is missing");
  for (const k of Object.keys(o)) if (!keys.includes(k)) fail(`${path}.${k}`, "is not a snapshot field");
}

function int(v: unknown, path: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
    fail(path, `must be an integer in [${min}, ${max}], got ${show(v)}`);
  return v;
}

function numeric(v: unknown, path: string): number {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (v === "NaN") return Number.NaN;
  if (v === "Infinity") return Number.POSITIVE_INFINITY;
  if (v === "-Infinity") return Number.NEGATIVE_INFINITY;
  return fail(path, `must be a finite number or "NaN", "Infinity", "-Infinity", got ${show(v)}`);
}

function list(v: unknown, path: string, max: number): unknown[] {
  if (!Array.isArray(v)) fail(path, `must be an array, got ${show(v)}`);
  if (v.length > max) fail(path, `holds ${v.length} entries, more than ${max}`);
  return v;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const ORIGINS = ["initial", "child", "mutant", "newcomer", "immigrant"];

function checkIndividual(v: unknown, path: string, genomeLength: number): void {
  const o = obj(v, path);
  exactKeys(o, path, ["mask", "accuracy", "loss", "origin", "born"]);
  const chars = 4 * Math.ceil(Math.ceil(genomeLength / 8) / 3);
  if (typeof o.mask !== "string" || o.mask.length !== chars || !BASE64.test(o.mask))
    fail(`${path}.mask`, `must be ${chars} base64 characters (${genomeLength} bits), got ${show(o.mask)}`);
  numeric(o.accuracy, `${path}.accuracy`);
  numeric(o.loss, `${path}.loss`);
  if (!ORIGINS.includes(o.origin as string)) fail(`${path}.origin`, `must be one of ${ORIGINS.join(", ")}`);
  int(o.born, `${path}.born`);
}

/** seedrandom xor4096's saved state: {i, w, X: 128 int32 words}, under the stream's name. */
function checkRngState(v: unknown, path: string): void {
  const o = obj(v, path);
  exactKeys(o, path, ["seed", "xg", "spare"]);
  if (typeof o.seed !== "string" || o.seed.length > 4096) fail(`${path}.seed`, "must be a stream name");
  if (o.spare !== null) numeric(o.spare, `${path}.spare`);
  const xg = obj(o.xg, `${path}.xg`);
  exactKeys(xg, `${path}.xg`, ["i", "w", "X"]);
  int(xg.i, `${path}.xg.i`, 0, 127);
  int(xg.w, `${path}.xg.w`, -(2 ** 31), 2 ** 32 - 1);
  const words = list(xg.X, `${path}.xg.X`, 128);
  if (words.length !== 128) fail(`${path}.xg.X`, `must hold 128 words, got ${words.length}`);
  for (const [i, w] of words.entries()) int(w, `${path}.xg.X[${i}]`, -(2 ** 31), 2 ** 32 - 1);
}

function checkGa(v: unknown, genomeLength: number): void {
  const o = obj(v, "ga");
  const keys = ["format", "genomeLength", "params", "generation", "population", "evaluations"];
  exactKeys(o, "ga", [...keys, "generator", "rng", "history"]);
  if (o.format !== "slt-ga/1") fail("ga.format", `must be "slt-ga/1", got ${show(o.format)}`);
  if (o.genomeLength !== genomeLength)
    fail("ga.genomeLength", `must be ${genomeLength}, got ${show(o.genomeLength)}`);
  obj(o.params, "ga.params");
  const generation = int(o.generation, "ga.generation");
  const pop = list(o.population, "ga.population", MAX_SNAPSHOT_POPULATION);
  if (pop.length === 0) fail("ga.population", "is empty");
  for (const [i, p] of pop.entries()) checkIndividual(p, `ga.population[${i}]`, genomeLength);
  int(o.evaluations, "ga.evaluations");
  const g = obj(o.generator, "ga.generator");
  exactKeys(g, "ga.generator", ["kind", "bound", "numRec", "fallbacks"]);
  if (!(GENERATOR_KINDS as readonly unknown[]).includes(g.kind))
    fail("ga.generator.kind", `must be one of ${GENERATOR_KINDS.join(", ")}, got ${show(g.kind)}`);
  if (g.bound !== null) numeric(g.bound, "ga.generator.bound");
  numeric(g.numRec, "ga.generator.numRec");
  int(g.fallbacks, "ga.generator.fallbacks");
  const r = obj(o.rng, "ga.rng");
  exactKeys(r, "ga.rng", ["crossover", "mutation", "newcomers"]);
  for (const k of ["crossover", "mutation", "newcomers"]) checkRngState(r[k], `ga.rng.${k}`);
  // one entry per generation 0 … generation: a resumed island reads the last one at once
  const history = list(o.history, "ga.history", generation + 1);
  if (history.length !== generation + 1)
    fail(
      "ga.history",
      `must hold ${generation + 1} entries (generations 0 … ${generation}), got ${history.length}`,
    );
  for (const [i, h] of history.entries()) checkHistoryEntry(h, `ga.history[${i}]`);
}

/** The fields of a GenerationStats entry (core/ga/run.ts); `rescored` is present only on rescoring steps. */
const HISTORY_KEYS = [
  "generation",
  "bestFitness",
  "bestAccuracy",
  "bestLoss",
  "bestZeros",
  "bestSparsity",
  "meanFitness",
  "evaluations",
  "newEvaluations",
  "cacheHits",
  "children",
  "mutants",
  "newcomers",
  "operatorFallbacks",
  "generatorFallbacks",
  "bound",
];

function checkHistoryEntry(v: unknown, path: string): void {
  const o = obj(v, path);
  for (const k of HISTORY_KEYS) if (!(k in o)) fail(`${path}.${k}`, "is missing");
  for (const [k, x] of Object.entries(o)) {
    if (!HISTORY_KEYS.includes(k) && k !== "rescored")
      fail(`${path}.${k}`, "is not a field of a generation's statistics");
    if (x !== null) numeric(x, `${path}.${k}`);
  }
}

function checkCounters(v: unknown): MigrationCounters {
  const o = obj(v, "counters");
  const keys = ["sent", "received", "accepted", "rejected", "dropped"] as const;
  exactKeys(o, "counters", keys);
  const out = {} as MigrationCounters;
  for (const k of keys) out[k] = int(o[k], `counters.${k}`);
  return out;
}

const TOP_KEYS = ["format", "island", "mode", "epoch", "ga", "migrationRng", "counters"];

/**
 * Checks a snapshot's plain form (e.g. decoded from a frame or read from a file) for an island of
 * `genomeLength` bits; returns it typed, or throws SltError(E_SNAPSHOT) naming the first fault.
 */
export function checkSnapshotJSON(v: unknown, genomeLength: number): IslandSnapshotJSON {
  const o = obj(v, "snapshot");
  if (o.format !== ISLAND_SNAPSHOT_FORMAT)
    fail("format", `must be "${ISLAND_SNAPSHOT_FORMAT}", got ${show(o.format)}`);
  exactKeys(o, "snapshot", [...TOP_KEYS, "lastImprovement", "bestSoFar", "waiting"]);
  int(o.island, "island", 0, 2 ** 31 - 1);
  if (o.mode !== "async" && o.mode !== "lockstep")
    fail("mode", `must be "async" or "lockstep", got ${show(o.mode)}`);
  int(o.epoch, "epoch");
  checkGa(o.ga, genomeLength);
  checkRngState(o.migrationRng, "migrationRng");
  checkCounters(o.counters);
  const generation = (o.ga as { generation: number }).generation;
  int(o.lastImprovement, "lastImprovement", 0, generation);
  numeric(o.bestSoFar, "bestSoFar");
  const waiting = list(o.waiting, "waiting", MAX_SNAPSHOT_POPULATION);
  if (o.mode === "lockstep" && waiting.length > 0) fail("waiting", "must be empty in a lockstep snapshot");
  for (const [i, p] of waiting.entries()) checkIndividual(p, `waiting[${i}]`, genomeLength);
  return o as unknown as IslandSnapshotJSON;
}

/** The in-memory snapshot from its plain form, after checkSnapshotJSON. */
export function snapshotFromJSON(v: unknown, genomeLength: number): IslandSnapshot {
  const json = checkSnapshotJSON(v, genomeLength);
  let ga: GaState;
  let waiting: Individual[];
  try {
    ga = gaStateFromJSON(json.ga);
    waiting = [...gaStateFromJSON({ ...json.ga, population: json.waiting }).population];
  } catch (e) {
    return fail("ga", `cannot be restored: ${(e as Error).message}`);
  }
  return {
    island: json.island,
    mode: json.mode,
    epoch: json.epoch,
    ga,
    migrationRng: json.migrationRng,
    counters: { ...json.counters },
    lastImprovement: json.lastImprovement,
    bestSoFar: numeric(json.bestSoFar, "bestSoFar"),
    waiting,
  };
}
