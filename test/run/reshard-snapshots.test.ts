import { describe, expect, it } from "vitest";
import { E_CHECKPOINT, E_SNAPSHOT } from "../../src/core/errors.ts";
import { type GaState, initRun, step } from "../../src/core/ga/index.ts";
import {
  checkSnapshotJSON,
  type IslandSnapshotJSON,
  type SnapshotMode,
  snapshotFromJSON,
  snapshotToJSON,
} from "../../src/core/island-snapshot.ts";
import { reshardStream } from "../../src/core/reshard.ts";
import { Rng } from "../../src/core/rng.ts";
import { reshardSnapshots } from "../../src/run/reshard-snapshots.ts";
import { hashMetrics, spy, topology } from "../core/ga/fakes.ts";
import { errorOf } from "../io/helpers.ts";

const net = topology([3, 4, 2]);
const GENOME = net.genomeLength;
const deps = { evaluate: spy(hashMetrics(8)), network: net };
const P = 8;
const SEED = 5;

interface Options {
  readonly mode?: SnapshotMode;
  readonly epoch?: number;
  readonly waiting?: number;
}

/** Island `id` of a small run after `generations` steps, as its snapshot's plain form. */
function snapshot(id: number, generations: number, o: Options = {}): IslandSnapshotJSON {
  const mode = o.mode ?? "async";
  let ga: GaState = initRun({ population: P }, deps, Rng.derive(SEED, "island", id, "ga"));
  for (let g = 0; g < generations; g++) ga = step(ga, deps);
  return snapshotToJSON({
    island: id,
    mode,
    epoch: o.epoch ?? generations,
    ga,
    migrationRng: Rng.derive(SEED, "island", id, "migration").save(),
    counters: { sent: 10 + id, received: 7 + id, accepted: 3, rejected: 2 + id, dropped: id },
    lastImprovement: 1,
    bestSoFar: ga.history[1]?.bestFitness ?? ga.history[0].bestFitness,
    waiting: mode === "async" ? ga.population.slice(0, o.waiting ?? 1) : [],
  });
}

const individualKey = (i: unknown) => JSON.stringify(i);

/** How many times each individual (its whole plain form) occurs. */
function counts(individuals: readonly unknown[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const i of individuals) out.set(individualKey(i), (out.get(individualKey(i)) ?? 0) + 1);
  return out;
}

/** Every individual of `part` is in `whole`, at most as often (a population may hold clones). */
function expectWithin(part: readonly unknown[], whole: readonly unknown[]): void {
  const have = counts(whole);
  for (const [key, n] of counts(part)) expect(n).toBeLessThanOrEqual(have.get(key) ?? 0);
}
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** What every re-shard onto m islands must hold. */
function checkResharded(
  inputs: readonly IslandSnapshotJSON[],
  out: readonly IslandSnapshotJSON[],
  m: number,
) {
  expect(out).toHaveLength(m);
  const all = inputs.flatMap((s) => s.ga.population);
  const known = new Set(all.map(individualKey));
  const G = Math.max(...inputs.map((s) => s.ga.generation));
  const total = sum(inputs.map((s) => s.ga.population.length));
  out.forEach((s, j) => {
    // a valid snapshot of island j, which an island restores
    expect(checkSnapshotJSON(JSON.parse(JSON.stringify(s)), GENOME)).toBeTruthy();
    expect(() => snapshotFromJSON(s, GENOME)).not.toThrow();
    expect(s.island).toBe(j);
    expect(s.mode).toBe(inputs[0].mode);
    expect(s.ga.population).toHaveLength(P);
    // nothing invented: every individual is an input individual, as measured
    // and, while there are P in all, no island holds one input individual twice
    for (const ind of s.ga.population) expect(known.has(individualKey(ind))).toBe(true);
    if (total >= P) expectWithin(s.ga.population, all);
    expect(s.ga.generation).toBe(G);
    expect(s.epoch).toBe(Math.max(...inputs.map((i) => i.epoch)));
    expect(s.waiting).toEqual([]);
    expect(s.lastImprovement).toBe(G);
    expect(s.bestSoFar).toBe(s.ga.history[G].bestFitness);
    expect(s.migrationRng).toEqual(reshardStream(SEED, j, G).child("migration").save());
  });
  // the run's totals are kept: evaluations, and every counter (waiting immigrants counted as dropped)
  expect(sum(out.map((s) => s.ga.evaluations))).toBe(sum(inputs.map((s) => s.ga.evaluations)));
  for (const k of ["sent", "received", "accepted", "rejected"] as const)
    expect(sum(out.map((s) => s.counters[k]))).toBe(sum(inputs.map((s) => s.counters[k])));
  expect(sum(out.map((s) => s.counters.dropped))).toBe(
    sum(inputs.map((s) => s.counters.dropped + s.waiting.length)),
  );
  if (total >= m * P)
    expectWithin(
      out.flatMap((s) => s.ga.population),
      all,
    );
  // each island's migration stream is its own
  expect(new Set(out.map((s) => JSON.stringify(s.migrationRng))).size).toBe(m);
}

describe("reshardSnapshots", () => {
  it("N → N gives the snapshots back unchanged: the same objects, the same JSON", () => {
    const inputs = [0, 1, 2].map((id) => snapshot(id, 3 + id));
    const text = JSON.stringify(inputs);
    const out = reshardSnapshots(inputs, 3, SEED);
    expect(out).toHaveLength(3);
    out.forEach((s, k) => {
      expect(s).toBe(inputs[k]);
    });
    expect(JSON.stringify(out)).toBe(text);
    const single = [snapshot(0, 4, { epoch: 0 })];
    expect(reshardSnapshots(single, 1, SEED)[0]).toBe(single[0]);
  });

  it("as many islands but ids with a gap (a lost island left out of the cut): re-sharded onto 0 … m−1", () => {
    const inputs = [0, 2].map((id) => snapshot(id, 4));
    const out = reshardSnapshots(inputs, 2, SEED);
    expect(out.map((s) => s.island)).toEqual([0, 1]);
    expect(out[1]).not.toBe(inputs[1]);
    checkResharded(inputs, out, 2);
  });

  it("4 → 2: the best 2·P individuals, each once, valid snapshots, totals kept", () => {
    const inputs = [0, 1, 2, 3].map((id) => snapshot(id, 4 + (id % 2), { waiting: id }));
    const out = reshardSnapshots(inputs, 2, SEED);
    checkResharded(inputs, out, 2);
    expect(out.flatMap((s) => s.ga.population)).toHaveLength(2 * P);
  });

  it("1 → 3: one population (epoch 0, zero counters) onto three islands", () => {
    const one = snapshotToJSON({
      ...snapshotFromJSON(snapshot(0, 6, { mode: "lockstep" }), GENOME),
      epoch: 0,
      counters: { sent: 0, received: 0, accepted: 0, rejected: 0, dropped: 0 },
    });
    const out = reshardSnapshots([one], 3, SEED);
    checkResharded([one], out, 3);
    for (const s of out) {
      expect(s.epoch).toBe(0);
      expect(s.counters).toEqual({ sent: 0, received: 0, accepted: 0, rejected: 0, dropped: 0 });
    }
    // every individual of the single population is dealt, and each island holds all of them
    for (const s of out) expect(counts(s.ga.population)).toEqual(counts(one.ga.population));
  });

  it("3 → 1: one island with the best P of all, at the largest generation and epoch", () => {
    const inputs = [0, 1, 2].map((id) => snapshot(id, 2 + id, { epoch: 2 + id }));
    const out = reshardSnapshots(inputs, 1, SEED);
    checkResharded(inputs, out, 1);
    expect(out[0].epoch).toBe(4);
    expect(out[0].ga.generation).toBe(4);
  });

  it("is deterministic: the same inputs, m and seed give the same snapshots; another seed other streams", () => {
    const inputs = [0, 1, 2, 3].map((id) => snapshot(id, 3));
    const a = reshardSnapshots(inputs, 3, SEED);
    const b = reshardSnapshots(JSON.parse(JSON.stringify(inputs)), 3, SEED);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    const c = reshardSnapshots(inputs, 3, SEED + 1);
    expect(c.map((s) => s.ga.population)).toEqual(a.map((s) => s.ga.population));
    expect(c[0].migrationRng).not.toEqual(a[0].migrationRng);
    expect(c[0].ga.rng).not.toEqual(a[0].ga.rng);
  });

  it("refuses what cannot be merged, in one line", () => {
    const inputs = [snapshot(0, 2), snapshot(1, 2)];
    expect(errorOf(() => reshardSnapshots(inputs, 0, SEED), E_CHECKPOINT).message).toMatch(
      /island count must be a positive integer, got 0/,
    );
    expect(errorOf(() => reshardSnapshots([], 2, SEED), E_CHECKPOINT).message).toMatch(/holds no island/);
    const mixed = [snapshot(0, 2), snapshot(1, 2, { mode: "lockstep" })];
    expect(errorOf(() => reshardSnapshots(mixed, 3, SEED), E_CHECKPOINT).message).toMatch(
      /island 1's snapshot is lockstep, island 0's async/,
    );
    const broken = { ...snapshot(1, 2), epoch: -1 };
    expect(errorOf(() => reshardSnapshots([snapshot(0, 2), broken], 3, SEED), E_SNAPSHOT).message).toMatch(
      /epoch must be an integer/,
    );
  });
});
