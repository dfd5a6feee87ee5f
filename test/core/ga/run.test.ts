import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  compareSurvivors,
  eliteCount,
  evolve,
  type FitnessMode,
  type GaDeps,
  type GaParamsInput,
  type GaState,
  gaStateFromJSON,
  gaStateToJSON,
  initRun,
  isLaxConnected,
  makeIndividual,
  newcomerCount,
  resolveGaParams,
  step,
  vary,
} from "../../../src/core/ga/index.ts";
import { hamming, type Mask, maskHash, masksEqual, randomMask } from "../../../src/core/mask.ts";
import { Rng } from "../../../src/core/rng.ts";
import { hashMetrics, spy, targetMetrics, topology } from "./fakes.ts";

const net = topology([4, 6, 3]); // 42 bits: rows straddle a word boundary
const target = randomMask(net.genomeLength, Rng.derive("target", 0));

function deps(evaluate = spy(targetMetrics(target))): GaDeps & { evaluate: ReturnType<typeof spy> } {
  return { evaluate, network: net };
}

function runFor(params: GaParamsInput, seed: number, generations: number, d = deps()): GaState {
  let s = initRun(params, d, Rng.derive(seed, "ga"));
  for (let g = 0; g < generations; g++) s = step(s, d);
  return s;
}

/** Every bit of the child equals that bit of a or of b. */
function fromParents(child: Mask, a: Mask, b: Mask): boolean {
  for (let k = 0; k < child.words.length; k++) {
    if (((child.words[k] ^ a.words[k]) & (child.words[k] ^ b.words[k])) !== 0) return false;
  }
  return true;
}

const seedArb = fc.integer({ min: 0, max: 2 ** 31 });
const modeArb = fc.constantFrom<FitnessMode>("accuracy", "loss");
const paramsArb = fc.record({
  population: fc.integer({ min: 1, max: 30 }),
  crossoverRate: fc.constantFrom(0, 0.3, 1),
  mutationRate: fc.constantFrom(0, 0.1, 1),
  newcomerFraction: fc.constantFrom(0, 0.1, 0.5),
  eliteFraction: fc.constantFrom(0.1, 0.3, 1),
  fitness: modeArb,
});

describe("initRun", () => {
  it("makes N evaluated individuals in one batch and records generation 0", () => {
    const d = deps();
    const s = initRun({ population: 12 }, d, Rng.derive(1, "ga"));
    expect(s.generation).toBe(0);
    expect(s.population).toHaveLength(12);
    expect(d.evaluate.calls).toHaveLength(1);
    expect(s.evaluations).toBe(12);
    expect(s.history).toHaveLength(1);
    expect(s.history[0].generation).toBe(0);
    expect(
      s.population.every((i) => i.origin === "initial" && i.born === 0 && i.hash === maskHash(i.mask)),
    ).toBe(true);
    expect(s.params.crossoverRate).toBe(0.3);
    expect(s.params.eliteFraction).toBe(0.3);
    expect(s.params.mutationRate).toBe(0.1);
    expect(s.params.newcomerFraction).toBe(0.1);
    expect(initRun({}, deps(), Rng.derive(1, "ga")).population).toHaveLength(100);
  });

  it("mate pool ⌊0.3·N⌋ (at least 1) and ⌊0.1·N⌋ newcomers", () => {
    const counts = (population: number) => {
      const p = resolveGaParams({ population });
      return [eliteCount(p), newcomerCount(p)];
    };
    expect(counts(100)).toEqual([30, 10]);
    expect(counts(10)).toEqual([3, 1]);
    expect(counts(15)).toEqual([4, 1]);
    expect(counts(5)).toEqual([1, 0]);
    expect(counts(2)).toEqual([1, 0]);
    expect(resolveGaParams(resolveGaParams({ population: 7 }))).toEqual(resolveGaParams({ population: 7 }));
  });

  it("rejects bad parameters", () => {
    expect(() => initRun({ population: 0 }, deps(), Rng.derive(1))).toThrow(RangeError);
    expect(() => initRun({ crossoverRate: 1.5 }, deps(), Rng.derive(1))).toThrow(RangeError);
    expect(() => initRun({ eliteFraction: 0 }, deps(), Rng.derive(1))).toThrow(RangeError);
  });
});

describe("step", () => {
  it("keeps the population at N, counts every evaluation, and calls the evaluator at most once per step", () => {
    fc.assert(
      fc.property(paramsArb, seedArb, (params, seed) => {
        const d = deps();
        let s = initRun(params, d, Rng.derive(seed, "ga"));
        for (let g = 1; g <= 5; g++) {
          const calls = d.evaluate.calls.length;
          s = step(s, d);
          expect(s.population).toHaveLength(params.population);
          expect(s.generation).toBe(g);
          expect(s.history).toHaveLength(g + 1);
          expect(d.evaluate.calls.length - calls).toBeLessThanOrEqual(1);
          expect(s.evaluations).toBe(d.evaluate.count());
          expect(s.history[g].evaluations).toBe(s.evaluations);
        }
      }),
      { numRuns: 60 },
    );
  });

  it("elitism: the best individual never gets worse (fitness, then zeros)", () => {
    fc.assert(
      fc.property(paramsArb, seedArb, (params, seed) => {
        const d = deps(spy(hashMetrics(6)));
        let s = initRun(params, d, Rng.derive(seed, "ga"));
        const cmp = compareSurvivors(params.fitness);
        let best = [...s.population].sort(cmp)[0];
        for (let g = 0; g < 8; g++) {
          s = step(s, d);
          expect(cmp(s.population[0], best)).toBeLessThanOrEqual(0);
          const bf = s.history[g + 1].bestFitness;
          const prev = s.history[g].bestFitness;
          if (params.fitness === "accuracy") expect(bf).toBeGreaterThanOrEqual(prev);
          else expect(bf).toBeLessThanOrEqual(prev);
          best = s.population[0];
        }
      }),
      { numRuns: 60 },
    );
  });

  it("survivors are sorted by fitness then zeros, ties in the order old, children, mutants, newcomers", () => {
    const rank = { initial: 0, immigrant: 0, child: 1, mutant: 2, newcomer: 3 } as const;
    fc.assert(
      fc.property(paramsArb, seedArb, (params, seed) => {
        // few fitness levels → many ties
        const d = deps(spy(hashMetrics(2)));
        let s = initRun({ ...params, population: Math.max(params.population, 4) }, d, Rng.derive(seed, "ga"));
        for (let g = 1; g <= 4; g++) {
          s = step(s, d);
          const cmp = compareSurvivors(s.params.fitness);
          for (let k = 1; k < s.population.length; k++) {
            const a = s.population[k - 1];
            const b = s.population[k];
            const c = cmp(a, b);
            expect(c).toBeLessThanOrEqual(0);
            if (c === 0) {
              const oa = a.born < g ? 0 : rank[a.origin];
              const ob = b.born < g ? 0 : rank[b.origin];
              expect(oa).toBeLessThanOrEqual(ob);
            }
          }
        }
      }),
      { numRuns: 40 },
    );
  });

  it("vary: ⌊f·N⌋ newcomers, mates from the top ranks, children from their parents, mutants one bit from their source", () => {
    fc.assert(
      fc.property(paramsArb, seedArb, (params, seed) => {
        const s = runFor(params, seed, 2);
        const off = vary(s, deps());
        expect(off.newcomers).toHaveLength(Math.floor(s.params.newcomerFraction * s.params.population));
        const pool = eliteCount(s.params);
        off.children.forEach((c, k) => {
          const [i, j] = c.parents;
          if (k > 0) expect(i).toBeGreaterThan(off.children[k - 1].parents[0]);
          expect(j).toBeLessThan(pool);
          expect(fromParents(c.mask, off.ranked[i].mask, off.ranked[j].mask)).toBe(true);
        });
        const sources = [...off.ranked.map((r) => r.mask), ...off.children.map((c) => c.mask)];
        off.mutants.forEach((m, k) => {
          if (k > 0) expect(m.source).toBeGreaterThan(off.mutants[k - 1].source);
          expect(m.source).toBeLessThan(sources.length);
          expect(hamming(m.mask, sources[m.source])).toBe(1);
        });
        if (s.params.crossoverRate === 1) expect(off.children).toHaveLength(s.population.length);
        if (s.params.mutationRate === 1) expect(off.mutants).toHaveLength(sources.length);
        if (s.params.crossoverRate === 0) expect(off.children).toHaveLength(0);
      }),
      { numRuns: 60 },
    );
  });

  it("evaluates exactly the new, not-yet-known masks, in the order children, mutants, newcomers", () => {
    const big = topology([8, 16, 4]); // 192 bits: random collisions are impossible in practice
    const tgt = randomMask(big.genomeLength, Rng.derive("t2"));
    fc.assert(
      fc.property(paramsArb, seedArb, (params, seed) => {
        const ev = spy(targetMetrics(tgt));
        const d = { evaluate: ev, network: big };
        let s = initRun(params, d, Rng.derive(seed, "ga"));
        s = step(s, d);
        const off = vary(s, d);
        const fresh = [
          ...off.children.map((c) => c.mask),
          ...off.mutants.map((m) => m.mask),
          ...off.newcomers.map((n) => n.mask),
        ];
        const known: Mask[] = s.population.map((i) => i.mask);
        const expected: Mask[] = [];
        for (const m of fresh) {
          if (known.some((k) => masksEqual(k, m)) || expected.some((k) => masksEqual(k, m))) continue;
          expected.push(m);
        }
        const calls = ev.calls.length;
        const next = step(s, d);
        const batch = ev.calls.slice(calls).flat();
        expect(batch.length).toBe(expected.length);
        batch.forEach((m, k) => {
          expect(masksEqual(m, expected[k])).toBe(true);
        });
        expect(next.history[2].cacheHits).toBe(fresh.length - expected.length);
        expect(next.history[2].newEvaluations).toBe(expected.length);
      }),
      { numRuns: 40 },
    );
  });

  it("fitness cache: identical masks are never re-evaluated; a hash match with a different mask is", () => {
    const d = deps();
    const s0 = initRun(
      { population: 10, crossoverRate: 1, mutationRate: 0, newcomerFraction: 0 },
      d,
      Rng.derive(5, "ga"),
    );
    const one = s0.population[0];
    const clones: GaState = { ...s0, population: s0.population.map(() => one) };
    const calls = d.evaluate.calls.length;
    const s1 = step(clones, d);
    expect(d.evaluate.calls.length).toBe(calls); // all 10 children equal the parents: no evaluator call
    expect(s1.history[1].cacheHits).toBe(10);
    expect(s1.history[1].newEvaluations).toBe(0);
    expect(s1.evaluations).toBe(s0.evaluations);
    // Forge an individual whose stored hash is A's but whose mask is not A. It comes first, so the
    // cache entry for A's hash is the forgery. Children A×A (= A) find it, see the masks differ, and
    // are evaluated: the forged metrics must never be copied to a real A.
    const other = randomMask(net.genomeLength, Rng.derive(6));
    const liar = { ...makeIndividual(other, { accuracy: 2, loss: -1 }, "initial", 0), hash: one.hash };
    const forged: GaState = { ...clones, population: [liar, ...clones.population.slice(1)] };
    const before = d.evaluate.count();
    const s2 = step(forged, d);
    expect(d.evaluate.count()).toBeGreaterThan(before);
    const truth = targetMetrics(target)(one.mask);
    let realAs = 0;
    for (const ind of s2.population) {
      if (masksEqual(ind.mask, one.mask)) {
        realAs++;
        expect(ind.accuracy).toBe(truth.accuracy);
      }
    }
    expect(realAs).toBeGreaterThan(0);
  });

  it("deterministic: the same seed gives identical states; another seed does not", () => {
    fc.assert(
      fc.property(paramsArb, seedArb, (params, seed) => {
        const a = gaStateToJSON(runFor(params, seed, 6));
        const b = gaStateToJSON(runFor(params, seed, 6));
        expect(a).toEqual(b);
      }),
      { numRuns: 20 },
    );
    const a = gaStateToJSON(runFor({ population: 20 }, 1, 3));
    const c = gaStateToJSON(runFor({ population: 20 }, 2, 3));
    expect(a.population).not.toEqual(c.population);
  });

  it("checkpoint mid-run (JSON round trip) continues exactly like the uninterrupted run", () => {
    fc.assert(
      fc.property(paramsArb, seedArb, fc.integer({ min: 0, max: 5 }), (params, seed, at) => {
        const d = deps();
        const whole = runFor(params, seed, 8, d);
        let s = runFor(params, seed, at, deps());
        const saved = JSON.parse(JSON.stringify(gaStateToJSON(s)));
        s = gaStateFromJSON(saved);
        const d2 = deps();
        for (let g = at; g < 8; g++) s = step(s, d2);
        expect(gaStateToJSON(s)).toEqual(gaStateToJSON(whole));
      }),
      { numRuns: 30 },
    );
  });

  it("steps are pure: the input state is not changed and can be stepped again with the same result", () => {
    const d = deps();
    const s = runFor({ population: 15, mutationRate: 0.5 }, 3, 2, d);
    const before = JSON.stringify(gaStateToJSON(s));
    const a = step(s, d);
    expect(JSON.stringify(gaStateToJSON(s))).toBe(before);
    const b = step(s, d);
    expect(gaStateToJSON(a)).toEqual(gaStateToJSON(b));
  });

  it("purposes use separate streams: changing the mutation rate does not change children or newcomers", () => {
    const s = runFor({ population: 20 }, 4, 2);
    const a = vary(s, deps());
    const b = vary({ ...s, params: { ...s.params, mutationRate: 0.9 } }, deps());
    expect(a.children.map((c) => maskHash(c.mask))).toEqual(b.children.map((c) => maskHash(c.mask)));
    expect(a.newcomers.map((c) => maskHash(c.mask))).toEqual(b.newcomers.map((c) => maskHash(c.mask)));
    expect(b.mutants.length).toBeGreaterThan(a.mutants.length);
  });

  it("every stream advances each generation (no purpose replays its draws)", () => {
    const d = deps();
    let s = initRun({ population: 10 }, d, Rng.derive(8, "ga"));
    for (let g = 0; g < 3; g++) {
      const next = step(s, d);
      expect(next.rng.crossover).not.toEqual(s.rng.crossover);
      expect(next.rng.mutation).not.toEqual(s.rng.mutation);
      expect(next.rng.newcomers).not.toEqual(s.rng.newcomers);
      s = next;
    }
  });

  it("path-aware operators with the lax generator keep every individual lax-connected", () => {
    fc.assert(
      fc.property(seedArb, (seed) => {
        const s = runFor(
          { population: 12, operators: "path-aware", generator: { kind: "lax" }, mutationRate: 0.5 },
          seed,
          5,
        );
        for (const ind of s.population) expect(isLaxConnected(net, ind.mask)).toBe(true);
        for (const h of s.history) expect(h.operatorFallbacks).toBe(0);
      }),
      { numRuns: 20 },
    );
  });

  it("loss mode: best fitness is the lowest loss", () => {
    const s = runFor({ population: 10, fitness: "loss" }, 2, 3);
    const min = Math.min(...s.population.map((i) => i.loss));
    expect(s.history[3].bestFitness).toBe(min);
    expect(s.history[3].bestLoss).toBe(min);
  });
});

describe("evolve", () => {
  it("steps until the termination rule fires", () => {
    const d = deps();
    const seen: number[] = [];
    const r = evolve(
      initRun({ population: 8 }, d, Rng.derive(1, "ga")),
      d,
      { rule: "none", maxGenerations: 7 },
      (s) => seen.push(s.generation),
    );
    expect(r.reason).toBe("max-generations");
    expect(r.state.generation).toBe(7);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(evolve(r.state, d, { rule: "none", maxGenerations: 7 }).state).toBe(r.state);
  });
});
