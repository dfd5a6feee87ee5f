import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { E_CHECKPOINT, SltError } from "../../src/core/errors.ts";
import {
  compareSurvivors,
  type GaState,
  gaStateFromJSON,
  gaStateToJSON,
  generationStats,
  type Individual,
  initRun,
  makeIndividual,
  resolveGaParams,
  step,
} from "../../src/core/ga/index.ts";
import { emptyMask, setBit } from "../../src/core/mask.ts";
import {
  dealRanks,
  type IslandGaState,
  type ReshardResult,
  reshard,
  reshardStream,
} from "../../src/core/reshard.ts";
import { Rng } from "../../src/core/rng.ts";
import { hashMetrics, spy, topology } from "./ga/fakes.ts";

const net = topology([3, 4, 2]);
const deps = { evaluate: spy(hashMetrics(8)), network: net };
const P = 8;

/** Island `id` of a small run after `generations` steps. */
function island(id: number, generations: number, seed = 11): IslandGaState {
  let state = initRun({ population: P }, deps, Rng.derive(seed, "island", id, "ga"));
  for (let g = 0; g < generations; g++) state = step(state, deps);
  return { id, state };
}

/** The individual a source names, from the inputs. */
function sourceOf(inputs: readonly IslandGaState[], s: { island: number; index: number }): Individual {
  return (inputs.find((i) => i.id === s.island) as IslandGaState).state.population[s.index];
}

/** Checks what every re-shard must hold. */
function checkInvariants(inputs: readonly IslandGaState[], M: number, r: ReshardResult): void {
  const p = inputs[0].state.params;
  const total = inputs.reduce((n, i) => n + i.state.population.length, 0);
  expect(r.states).toHaveLength(M);
  expect(r.sources).toHaveLength(M);
  const evaluations = inputs.reduce((n, i) => n + i.state.evaluations, 0);
  expect(r.states.reduce((n, s) => n + s.evaluations, 0)).toBe(evaluations);
  const used = new Map<string, number>();
  r.states.forEach((s, j) => {
    // every individual is an input individual, the same object, and its source says which
    s.population.forEach((ind, k) => {
      expect(ind).toBe(sourceOf(inputs, r.sources[j][k]));
    });
    const keys = r.sources[j].map((x) => `${x.island}/${x.index}`);
    for (const key of keys) used.set(key, (used.get(key) ?? 0) + 1);
    if (!r.changed) return;
    expect(s.population).toHaveLength(p.population);
    if (total >= p.population) expect(new Set(keys).size).toBe(keys.length);
    // survivor order within each island
    const cmp = compareSurvivors(p.fitness);
    for (let k = 1; k < s.population.length; k++)
      expect(cmp(s.population[k - 1], s.population[k])).toBeLessThanOrEqual(0);
    const G = Math.max(...inputs.map((i) => i.state.generation));
    expect(s.generation).toBe(G);
    expect(s.history).toHaveLength(G + 1);
    expect(s.history.map((h) => h.generation)).toEqual(Array.from({ length: G + 1 }, (_, g) => g));
    expect(s.history[G]).toMatchObject({ generation: G, evaluations: s.evaluations, newEvaluations: 0 });
  });
  if (!r.changed) return;
  if (total >= M * p.population) expect([...used.values()].every((n) => n === 1)).toBe(true);
  else expect(used.size).toBe(total);
  // what is dropped is never better than what is kept, and island 0 holds the best of all
  const cmp = compareSurvivors(p.fitness);
  const kept = r.states.flatMap((s) => s.population);
  const worstKept = [...kept].sort(cmp)[kept.length - 1];
  for (const i of inputs)
    i.state.population.forEach((ind, index) => {
      if (!used.has(`${i.id}/${index}`)) expect(cmp(ind, worstKept)).toBeGreaterThanOrEqual(0);
    });
  const best = inputs.flatMap((i) => i.state.population).sort(cmp)[0];
  expect(cmp(r.states[0].population[0], best)).toBe(0);
}

describe("reshard", () => {
  it("N → N returns the states unchanged (the same objects): resume on the same layout is exact", () => {
    const inputs = [island(2, 3), island(0, 3), island(1, 3)];
    const r = reshard(inputs, 3, 11);
    expect(r.changed).toBe(false);
    expect(r.states[0]).toBe(inputs[1].state);
    expect(r.states[1]).toBe(inputs[2].state);
    expect(r.states[2]).toBe(inputs[0].state);
    checkInvariants(inputs, 3, r);
  });

  it("4 → 2 keeps the best 2·P, dealt round-robin by rank", () => {
    const inputs = [0, 1, 2, 3].map((id) => island(id, 4));
    const r = reshard(inputs, 2, 11);
    expect(r.changed).toBe(true);
    checkInvariants(inputs, 2, r);
    const all = inputs.flatMap((i) => i.state.population);
    const ranked = [...all].sort(compareSurvivors("accuracy"));
    // island 0 holds the best individual; together they hold a best 2·P (fitness and zeros of rank 2P−1 at most)
    expect(r.states[0].population[0].accuracy).toBe(ranked[0].accuracy);
    const kept = r.states.flatMap((s) => s.population);
    const worstKept = [...kept].sort(compareSurvivors("accuracy"))[kept.length - 1];
    expect(compareSurvivors("accuracy")(worstKept, ranked[2 * P - 1])).toBe(0);
  });

  it("1 → 3 gives every island the whole population (its own share first, then copies), with its own streams", () => {
    const inputs = [island(0, 5)];
    const r = reshard(inputs, 3, 11);
    checkInvariants(inputs, 3, r);
    for (const s of r.states)
      expect(new Set(s.population.map((i) => i.hash))).toEqual(
        new Set(inputs[0].state.population.map((i) => i.hash)),
      );
    expect(r.states[0].evaluations + r.states[1].evaluations + r.states[2].evaluations).toBe(
      inputs[0].state.evaluations,
    );
    expect(r.states[0].evaluations - r.states[2].evaluations).toBeLessThanOrEqual(1);
    expect(r.states[1].rng.crossover).toEqual(reshardStream(11, 1, 5).child("ga").child("crossover").save());
    expect(new Set(r.states.map((s) => JSON.stringify(s.rng))).size).toBe(3);
    expect(r.states[2].generator).toEqual(inputs[0].state.generator);
    expect(r.states[2].history.slice(0, 5)).toEqual(inputs[0].state.history.slice(0, 5));
  });

  it("takes the generation, generator and history from the lead island: at the largest generation, best first", () => {
    // async islands at different generations: island 1 is ahead
    const inputs = [island(0, 6), island(1, 9), island(2, 3)];
    const r = reshard(inputs, 2, 4);
    checkInvariants(inputs, 2, r);
    expect(r.states[0].generation).toBe(9);
    expect(r.states[1].history.slice(0, 9)).toEqual(inputs[1].state.history.slice(0, 9));
  });

  it("is deterministic, whatever the order of the inputs, and its states serialise and step", () => {
    const inputs = [0, 1, 2].map((id) => island(id, 3));
    const json = (r: ReshardResult) => r.states.map((s) => gaStateToJSON(s));
    const a = reshard(inputs, 5, 7);
    expect(json(reshard([...inputs].reverse(), 5, 7))).toEqual(json(a));
    expect(reshard(inputs, 5, 7).sources).toEqual(a.sources);
    expect(json(reshard(inputs, 5, 8))).not.toEqual(json(a));
    for (const s of a.states) {
      const back = gaStateFromJSON(JSON.parse(JSON.stringify(gaStateToJSON(s))));
      expect(gaStateToJSON(back)).toEqual(gaStateToJSON(s));
      const next = step(back, deps);
      expect(next.generation).toBe(s.generation + 1);
      expect(next.evaluations).toBeGreaterThanOrEqual(s.evaluations);
    }
  });

  it("refuses what cannot be merged with E_CHECKPOINT", () => {
    const a = island(0, 1);
    const cases: [IslandGaState[], number, string][] = [
      [[a], 0, "the island count must be a positive integer, got 0"],
      [[], 2, "the checkpoint holds no island"],
      [[a, { ...a }], 1, "island 0 appears twice"],
      [[a, { id: 1, state: { ...a.state, population: [] } }], 1, "island 1 has an empty population"],
      [
        [a, { id: 1, state: { ...a.state, params: resolveGaParams({ population: P, mutationRate: 0.5 }) } }],
        1,
        "island 1's GA parameters differ from island 0's",
      ],
    ];
    for (const [inputs, M, message] of cases) {
      let error: unknown;
      try {
        reshard(inputs, M, 1);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SltError);
      expect((error as SltError).code).toBe(E_CHECKPOINT);
      expect((error as SltError).message).toBe(`cannot re-shard the checkpoint's populations: ${message}`);
    }
  });
});

describe("dealRanks", () => {
  it("deals round-robin, then fills with the best ranks an island lacks", () => {
    expect(dealRanks(8, 2, 3)).toEqual([
      [0, 2, 4],
      [1, 3, 5],
    ]);
    expect(dealRanks(4, 2, 3)).toEqual([
      [0, 1, 2],
      [0, 1, 3],
    ]);
    expect(dealRanks(2, 1, 5)).toEqual([[0, 0, 0, 1, 1]]);
  });
});

// Synthetic island states with ties (few accuracy levels, few zero counts) and NaN losses.
const genomeLength = net.genomeLength;
const params = resolveGaParams({ population: 4, fitness: "loss" });

function syntheticState(
  generation: number,
  evaluations: number,
  people: [number, number, number][],
): GaState {
  const population = people.map(([bits, acc, loss], k) => {
    const mask = emptyMask(genomeLength);
    for (let i = 0; i < genomeLength; i++) if ((bits >> (i % 12)) & 1) setBit(mask, i, true);
    return makeIndividual(
      mask,
      { accuracy: acc / 4, loss: loss === 0 ? Number.NaN : loss / 4 },
      "child",
      k % (generation + 1),
    );
  });
  const gen = { kind: "negligent" as const, bound: null, numRec: 1, fallbacks: 0 };
  // a generation's counters, each g in generation g: their values play no part in a re-shard
  const counters = ["newEvaluations", "cacheHits", "children", "mutants", "newcomers", "operatorFallbacks"];
  const history = Array.from({ length: generation + 1 }, (_, g) => {
    const extra = { ...Object.fromEntries(counters.map((c) => [c, g])), generatorFallbacks: 0 };
    return generationStats(
      g,
      population,
      params,
      genomeLength,
      evaluations,
      gen,
      extra as Parameters<typeof generationStats>[6],
    );
  });
  const rng = Rng.derive(generation).save();
  return {
    format: "slt-ga/1",
    params,
    generation,
    population,
    evaluations,
    generator: gen,
    rng: { crossover: rng, mutation: rng, newcomers: rng },
    history,
  };
}

const person = fc.tuple(
  fc.integer({ min: 0, max: 4095 }),
  fc.integer({ min: 0, max: 4 }),
  fc.integer({ min: 0, max: 3 }),
);
const islandsArb = fc
  .array(
    fc.tuple(
      fc.integer({ min: 0, max: 6 }),
      fc.integer({ min: 0, max: 500 }),
      fc.array(person, { minLength: 1, maxLength: 6 }),
    ),
    {
      minLength: 1,
      maxLength: 5,
    },
  )
  .map((xs) => xs.map(([g, e, people], id) => ({ id: id * 2, state: syntheticState(g, e, people) })));

describe("reshard's ranking", () => {
  it("breaks ties of fitness and sparsity by old island id, then by position", () => {
    // equal masks and metrics everywhere except the one better individual at island 4, position 1
    const same: [number, number, number] = [5, 2, 2];
    const inputs = [
      { id: 4, state: syntheticState(2, 10, [same, [5, 2, 1], same]) },
      { id: 1, state: syntheticState(2, 10, [same, same]) },
    ];
    const r = reshard(inputs, 1, 3);
    expect(r.sources[0]).toEqual([
      { island: 4, index: 1 },
      { island: 1, index: 0 },
      { island: 1, index: 1 },
      { island: 4, index: 0 },
    ]);
  });
});

describe("reshard, properties", () => {
  it("holds its invariants for any island states and island count", () => {
    fc.assert(
      fc.property(islandsArb, fc.integer({ min: 1, max: 7 }), (inputs, M) => {
        checkInvariants(inputs, M, reshard(inputs, M, 3));
      }),
    );
  });

  it("is a function of its input: shuffled inputs give the same states", () => {
    fc.assert(
      fc.property(islandsArb, fc.integer({ min: 1, max: 7 }), fc.integer(), (inputs, M, shift) => {
        const k = Math.abs(shift) % inputs.length;
        const rotated = [...inputs.slice(k), ...inputs.slice(0, k)];
        const a = reshard(inputs, M, 3);
        const b = reshard(rotated, M, 3);
        expect(b.sources).toEqual(a.sources);
        expect(b.states.map((s) => gaStateToJSON(s))).toEqual(a.states.map((s) => gaStateToJSON(s)));
      }),
    );
  });
});
