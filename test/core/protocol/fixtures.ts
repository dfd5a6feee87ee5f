// Valid messages of every type, fast-check arbitraries for them, and raw-frame helpers for crafting
// malformed frames (decode a valid frame into plain objects, break something, pack it again).
import fc from "fast-check";
import { Packr, Unpackr } from "msgpackr";
import { type GaState, makeIndividual, resolveGaParams } from "../../../src/core/ga/index.ts";
import { type IslandSnapshotJSON, snapshotToJSON } from "../../../src/core/island-snapshot.ts";
import { type Mask, maskFromBytes, maskHash, zeros } from "../../../src/core/mask.ts";
import {
  type Bodies,
  type DecodeContext,
  encode,
  type Header,
  LOG_RECORD_LEVELS,
  type Message,
  type MessageType,
  type Migrant,
  makeMessage,
  NONCE_BYTES,
  PROOF_BYTES,
} from "../../../src/core/protocol/index.ts";
import { Rng } from "../../../src/core/rng.ts";

export const RUN = "run-2024.07.01-a";
export const GENOME = 1000;
export const MAX_MIGRANTS = 8;

export function ctx(over: Partial<DecodeContext> = {}): DecodeContext {
  return { runId: RUN, genomeLength: GENOME, maxMigrants: MAX_MIGRANTS, ...over };
}

export function header(over: Partial<Header> = {}): Header {
  return { runId: RUN, from: "island-3", epoch: 2, seq: 7, ...over };
}

/** A mask with a simple deterministic pattern (no rng needed). */
export function patternMask(length: number, salt = 0): Mask {
  const bytes = new Uint8Array(Math.ceil(length / 8));
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 37 + salt * 11 + 5) & 0xff;
  if (length % 8 !== 0) bytes[bytes.length - 1] &= (1 << (length % 8)) - 1;
  return maskFromBytes(bytes, length);
}

export function migrantOf(mask: Mask, accuracy = 0.75, loss = 0.5): Migrant {
  return { mask, hash: maskHash(mask), accuracy, loss, zeros: zeros(mask) };
}

/** A small valid island snapshot (3 individuals, 4 generations) of genome length `genome`. */
export function snapshotOf(
  genome: number,
  island = 3,
  salt = 0,
  mode: "async" | "lockstep" = "async",
): IslandSnapshotJSON {
  const population = [0, 1, 2].map((i) =>
    makeIndividual(patternMask(genome, salt + i), { accuracy: 0.5 + i / 10, loss: 0.4 }, "initial", 0),
  );
  const stream = (label: string) => Rng.derive(7, "snapshot", label, salt).save();
  const stats = { generation: 0, bestFitness: 0.7, bestAccuracy: 0.7, bestLoss: 0.4, bestZeros: 1 };
  const ga: GaState = {
    ...gaStateFromParts(population, stream),
    // generations 0 … 4, as a real state's history holds
    history: [0, 1, 2, 3, 4].map((generation) => ({ ...historyEntry(), ...stats, generation })),
  };
  return snapshotToJSON({
    island,
    mode,
    epoch: 2,
    ga,
    migrationRng: stream("migration"),
    counters: { sent: 4, received: 3, accepted: 2, rejected: 1, dropped: 0 },
    lastImprovement: 3,
    bestSoFar: 0.7,
    waiting: mode === "async" ? population.slice(0, 1) : [],
  });
}

function gaStateFromParts(
  population: GaState["population"],
  stream: (l: string) => ReturnType<Rng["save"]>,
): GaState {
  return {
    format: "slt-ga/1",
    params: resolveGaParams({ population: 3 }),
    generation: 4,
    population,
    evaluations: 12,
    generator: { kind: "negligent", bound: null, numRec: 1, fallbacks: 0 },
    rng: { crossover: stream("c"), mutation: stream("m"), newcomers: stream("n") },
    history: [],
  };
}

function historyEntry(): GaState["history"][number] {
  return {
    generation: 0,
    bestFitness: 0,
    bestAccuracy: 0,
    bestLoss: 0,
    bestZeros: 0,
    bestSparsity: 0,
    meanFitness: 0,
    evaluations: 3,
    newEvaluations: 3,
    cacheHits: 0,
    children: 0,
    mutants: 0,
    newcomers: 3,
    operatorFallbacks: 0,
    generatorFallbacks: 0,
    bound: null,
  };
}

const nonce = (k: number) => new Uint8Array(NONCE_BYTES).map((_, i) => (i * 7 + k) & 0xff);
const proof = (k: number) => new Uint8Array(PROOF_BYTES).map((_, i) => (i * 13 + k) & 0xff);

/** One valid body per message type. */
export const BODIES: { [T in MessageType]: Bodies[T] } = {
  hello: {
    role: "island",
    island: 3,
    host: "node-a.local",
    pid: 4242,
    listen: "ws://10.0.0.2:7001",
    nonce: nonce(1),
  },
  challenge: { role: "coordinator", nonce: nonce(2), proof: proof(3) },
  auth: { proof: proof(4) },
  assign: {
    island: 3,
    seedStream: "slt/7/island/3",
    config: {
      dataset: "moons",
      architecture: [2, 75, 2],
      ga: { population: 50, fitness: "loss" },
      note: null,
    },
    genomeLength: GENOME,
    interval: 5,
    offset: 1,
    mode: "lockstep",
    maxMigrants: MAX_MIGRANTS,
    outNeighbours: [
      { island: 4, address: "ws://10.0.0.3:7001", weight: 2 },
      { island: 0, address: "ws://10.0.0.1:7001", weight: 0.5 },
    ],
    inNeighbours: [2, 0],
    weights: "count",
  },
  report: {
    island: 3,
    generation: 40,
    evaluations: 12345,
    evaluationsPerSecond: 987.5,
    bestFitness: 0.3125,
    bestAccuracy: 0.9,
    bestLoss: 0.3125,
    bestSparsity: 0.55,
    meanFitness: 0.41,
    diversity: 123.25,
    stalledGenerations: 3,
    migration: { sent: 10, received: 9, accepted: 4, rejected: 5, dropped: 1 },
    edges: { out: [{ island: 4, sent: 10 }], in: [{ island: 2, accepted: 4, rejected: 5 }] },
    host: { loadAverage: 1.5, cpuPercent: 93.2, memoryUsedBytes: 1e9, memoryTotalBytes: 8e9, rssBytes: null },
  },
  migrants: { migrants: [migrantOf(patternMask(GENOME, 1)), migrantOf(patternMask(GENOME, 2), 0.5, 0.7)] },
  heartbeat: {},
  ticket: {
    island: 3,
    generation: 40,
    evaluations: 12345,
    best: migrantOf(patternMask(GENOME, 3), 0.95, 0.2),
  },
  checkpoint: { island: 3, final: false, snapshot: snapshotOf(GENOME, 3) },
  stop: { reason: "target reached" },
  error: { code: "bad-field", reason: "body.x must be a number" },
  log: {
    level: "warn",
    time: Date.UTC(2026, 11, 7, 5, 30, 0, 125),
    msg: "connection refused",
    fields: { remote: "127.0.0.1:40000", close: 4002, code: "bad-msgpack", nested: { list: [1, "a", null] } },
  },
};

export function valid<T extends MessageType>(type: T, over: Partial<Header> = {}): Message {
  return makeMessage(type, header(over), BODIES[type]) as Message;
}

// ---- raw frames ----

const rawUnpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: "number" });
const rawPackr = new Packr({ useRecords: false });

/** A valid frame as plain objects (binary fields as Buffers) for breaking. */
// biome-ignore lint/suspicious/noExplicitAny: raw wire objects are untyped by nature
export function rawOf(message: Message): any {
  return rawUnpackr.unpack(encode(message));
}

export function pack(value: unknown): Uint8Array {
  return new Uint8Array(rawPackr.pack(value));
}

// ---- arbitraries ----

const finite = (min: number, max: number) =>
  fc.double({ min, max, noNaN: true, noDefaultInfinity: true }).map((x) => (x === 0 ? 0 : x));
const count = fc.nat({ max: 2 ** 40 });
const islandId = fc.nat({ max: 10_000 });
/** Unicode text of at most `max` UTF-16 units (a grapheme can take several). */
const text = (max: number) =>
  fc.string({ maxLength: Math.max(1, max >> 2), unit: "grapheme" }).filter((s) => s.length <= max);

export const maskArb = (minLength: number, maxLength: number): fc.Arbitrary<Mask> =>
  fc.integer({ min: minLength, max: maxLength }).chain((length) =>
    fc.uint8Array({ minLength: Math.ceil(length / 8), maxLength: Math.ceil(length / 8) }).map((bytes) => {
      if (length % 8 !== 0) bytes[bytes.length - 1] &= (1 << (length % 8)) - 1;
      return maskFromBytes(bytes, length);
    }),
  );

export const migrantArb = (mask: fc.Arbitrary<Mask>): fc.Arbitrary<Migrant> =>
  fc
    .tuple(mask, finite(0, 1), finite(0, 1e6))
    .map(([m, accuracy, loss]) => ({ mask: m, hash: maskHash(m), accuracy, loss, zeros: zeros(m) }));

const idArb = fc.stringMatching(/^[A-Za-z0-9._:-]{1,40}$/);

export const headerArb: fc.Arbitrary<Header> = fc.record({
  runId: idArb,
  from: idArb,
  epoch: count,
  seq: count,
});

const jsonLeaf = fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), finite(-1e9, 1e9), text(20));
const configArb = fc.dictionary(
  fc.stringMatching(/^[a-z][a-zA-Z0-9]{0,10}$/),
  fc.oneof(
    jsonLeaf,
    fc.array(jsonLeaf, { maxLength: 4 }),
    fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), jsonLeaf),
  ),
  { maxKeys: 8, noNullPrototype: true },
);

const role = fc.constantFrom("island" as const, "coordinator" as const, "peer" as const);
const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });

/** Bodies of every type; masks use genome length `genome`. */
export function bodyArbs(genome: number): { [T in MessageType]: fc.Arbitrary<Bodies[T]> } {
  const migrant = migrantArb(maskArb(genome, genome));
  return {
    hello: fc.record({
      role,
      island: fc.option(islandId, { nil: null }),
      host: text(60),
      pid: fc.integer({ min: 1, max: 4_194_304 }),
      listen: fc.option(text(80), { nil: null }),
      nonce: bytes(NONCE_BYTES),
    }),
    challenge: fc.record({ role, nonce: bytes(NONCE_BYTES), proof: bytes(PROOF_BYTES) }),
    auth: fc.record({ proof: bytes(PROOF_BYTES) }),
    assign: fc
      .tuple(
        fc.uniqueArray(islandId, { maxLength: 12 }),
        fc.uniqueArray(islandId, { maxLength: 12 }),
        fc.record({
          seedStream: text(40),
          config: configArb,
          interval: fc.integer({ min: 1, max: 1000 }),
          offset: fc.nat({ max: 1000 }),
          mode: fc.constantFrom("async" as const, "lockstep" as const),
          maxMigrants: fc.nat({ max: 64 }),
          weight: finite(0, 100),
          address: text(60),
          weights: fc.constantFrom("count" as const, "probability" as const),
        }),
      )
      .map(([outs, ins, r]) => {
        const island = 10_001; // outside islandId's range, so never its own neighbour
        return {
          island,
          seedStream: r.seedStream,
          config: r.config,
          genomeLength: genome,
          interval: r.interval,
          offset: r.offset,
          mode: r.mode,
          maxMigrants: r.maxMigrants,
          outNeighbours: outs.map((id) => ({ island: id, address: r.address, weight: r.weight })),
          inNeighbours: ins,
          weights: r.weights,
        };
      }),
    report: fc.record({
      island: islandId,
      generation: count,
      evaluations: count,
      evaluationsPerSecond: finite(0, 1e9),
      bestFitness: finite(-1e6, 1e6),
      bestAccuracy: finite(0, 1),
      bestLoss: finite(0, 1e6),
      bestSparsity: finite(0, 1),
      meanFitness: finite(-1e6, 1e6),
      diversity: finite(0, 1e6),
      stalledGenerations: count,
      migration: fc.record({
        sent: count,
        received: count,
        accepted: count,
        rejected: count,
        dropped: count,
      }),
      host: fc.record({
        loadAverage: fc.option(finite(0, 512), { nil: null }),
        cpuPercent: fc.option(finite(0, 6400), { nil: null }),
        memoryUsedBytes: fc.option(count, { nil: null }),
        memoryTotalBytes: fc.option(count, { nil: null }),
        rssBytes: fc.option(count, { nil: null }),
      }),
    }),
    migrants: fc.record({ migrants: fc.array(migrant, { maxLength: MAX_MIGRANTS }) }),
    heartbeat: fc.constant({}),
    ticket: fc.record({ island: islandId, generation: count, evaluations: count, best: migrant }),
    checkpoint: fc
      .tuple(
        islandId,
        fc.boolean(),
        fc.nat({ max: 50 }),
        fc.constantFrom("async" as const, "lockstep" as const),
      )
      .map(([island, final, salt, mode]) => ({
        island,
        final,
        snapshot: snapshotOf(genome, island, salt, mode),
      })),
    stop: fc.record({ reason: text(200) }),
    error: fc.record({ code: text(64), reason: text(200) }),
    log: fc.record({
      level: fc.constantFrom(...LOG_RECORD_LEVELS),
      time: fc.nat({ max: 2 ** 45 }),
      msg: text(200),
      fields: configArb,
    }),
  };
}

export function messageArb<T extends MessageType>(type: T, genome: number): fc.Arbitrary<Message> {
  const body = bodyArbs(genome)[type] as fc.Arbitrary<Bodies[T]>;
  return fc.tuple(headerArb, body).map(([h, b]) => makeMessage(type, h, b) as Message);
}
