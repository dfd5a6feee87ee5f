import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { E_MIGRATION, isSltError } from "../../src/core/errors.ts";
import {
  compareSurvivors,
  type FitnessMode,
  type Individual,
  makeIndividual,
  selectSurvivors,
} from "../../src/core/ga/individual.ts";
import {
  emptyMask,
  flipBit,
  hamming,
  type Mask,
  maskHash,
  masksEqual,
  randomMask,
  setBit,
} from "../../src/core/mask.ts";
import {
  type EmigrationSettings,
  emigrantsPerEdge,
  emigrantsToSelect,
  integrateImmigrants,
  isMigrationGeneration,
  migrationOffsets,
  migrationsUpTo,
  nextMigrationGeneration,
  parseReplacementPolicy,
  parseSelectionPolicy,
  planEmigration,
  REPLACEMENT_POLICIES,
  type ReplacementPolicy,
  type SelectionPolicy,
  selectEmigrants,
  shareForEdge,
} from "../../src/core/migration.ts";
import { Rng } from "../../src/core/rng.ts";

const seedArb = fc.integer({ min: 0, max: 2 ** 31 });
const modeArb = fc.constantFrom<FitnessMode>("accuracy", "loss");
/** Short genomes so that equal masks (duplicates) and fitness ties happen often. */
const L = 6;

function expectMigrationError(f: () => unknown, pattern: RegExp): void {
  try {
    f();
  } catch (e) {
    expect(isSltError(e, E_MIGRATION), `expected SltError ${E_MIGRATION}, got ${String(e)}`).toBe(true);
    expect((e as Error).message).toMatch(pattern);
    return;
  }
  throw new Error("expected an E_MIGRATION error, but nothing was thrown");
}

/** Mask of length `length` with exactly the given bits set. */
function withBits(set: readonly number[], length = L): Mask {
  const m = emptyMask(length);
  for (const i of set) setBit(m, i, true);
  return m;
}

/** An individual; `born` is used as a tag to recognise it. */
function ind(accuracy: number, mask: Mask, born: number, loss = 1 - accuracy): Individual {
  return makeIndividual(mask, { accuracy, loss }, "initial", born);
}

/** Fitness from a few levels (ties common), random short masks; born = position. */
const popArb = (min = 1, max = 16) =>
  fc
    .tuple(
      seedArb,
      fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 4 })), {
        minLength: min,
        maxLength: max,
      }),
    )
    .map(([seed, fits]) => {
      const rng = Rng.derive(seed, "population");
      return fits.map(([a, l], i) => ind(a / 4, randomMask(L, rng), i, l / 4));
    });

const tags = (xs: readonly Individual[]) => xs.map((x) => x.born);

function expectCopyOf(copy: Individual, source: Individual): void {
  expect(copy).not.toBe(source);
  expect(copy.mask.words).not.toBe(source.mask.words);
  expect(masksEqual(copy.mask, source.mask)).toBe(true);
  expect([copy.hash, copy.accuracy, copy.loss, copy.zeros, copy.origin, copy.born]).toEqual([
    source.hash,
    source.accuracy,
    source.loss,
    source.zeros,
    source.origin,
    source.born,
  ]);
}

/** Pointwise in survivor order: rank r of `after` is never worse than rank r of `before`. */
function expectNoRankWorse(before: readonly Individual[], after: readonly Individual[], mode: FitnessMode) {
  const cmp = compareSurvivors(mode);
  const b = selectSurvivors(before, before.length, mode);
  const a = selectSurvivors(after, after.length, mode);
  expect(a.length).toBe(b.length);
  for (let r = 0; r < a.length; r++) expect(cmp(a[r], b[r]), `rank ${r}`).toBeLessThanOrEqual(0);
}

const selectionArb = fc.oneof(
  fc.constant<SelectionPolicy>({ kind: "best" }),
  fc.constant<SelectionPolicy>({ kind: "random" }),
  fc.constant<SelectionPolicy>({ kind: "diverse" }),
  fc.integer({ min: 1, max: 6 }).map((size): SelectionPolicy => ({ kind: "tournament", size })),
);

describe("selectEmigrants", () => {
  it("every policy returns min(k, n) distinct individuals as copies with their own metrics", () => {
    fc.assert(
      fc.property(
        popArb(0),
        fc.integer({ min: 0, max: 20 }),
        selectionArb,
        modeArb,
        seedArb,
        (pop, k, policy, mode, seed) => {
          const out = selectEmigrants(pop, k, policy, mode, Rng.derive(seed, "emigrants"));
          expect(out.length).toBe(Math.min(k, pop.length));
          expect(new Set(tags(out)).size).toBe(out.length);
          for (const e of out) expectCopyOf(e, pop[e.born]);
          // determinism
          expect(tags(selectEmigrants(pop, k, policy, mode, Rng.derive(seed, "emigrants")))).toEqual(
            tags(out),
          );
        },
      ),
    );
  });

  it("mutating an emigrant does not touch the source population", () => {
    const pop = [ind(0.9, withBits([0, 1]), 0), ind(0.5, withBits([2]), 1)];
    const [e] = selectEmigrants(pop, 1, "best", "accuracy", Rng.derive(1, "x"));
    flipBit(e.mask, 5);
    expect(masksEqual(pop[0].mask, withBits([0, 1]))).toBe(true);
    expect(pop[0].hash).toBe(maskHash(withBits([0, 1])));
  });

  it("best = the first k in survivor order (fitness, then sparsity, then list order)", () => {
    fc.assert(
      fc.property(popArb(), fc.integer({ min: 0, max: 20 }), modeArb, (pop, k, mode) => {
        const out = selectEmigrants(pop, k, "best", mode, Rng.derive(0, "unused"));
        expect(tags(out)).toEqual(tags(selectSurvivors(pop, k, mode)));
      }),
    );
    const pop = [
      ind(0.5, withBits([0, 1, 2]), 0),
      ind(0.9, withBits([0, 1, 2]), 1),
      ind(0.9, withBits([0]), 2), // same fitness as 1, sparser: first
      ind(0.7, withBits([]), 3),
    ];
    expect(tags(selectEmigrants(pop, 3, { kind: "best" }, "accuracy", Rng.derive(0, "u")))).toEqual([
      2, 1, 3,
    ]);
  });

  it("random picks uniformly", () => {
    const pop = Array.from({ length: 10 }, (_, i) => ind(i / 10, withBits([i % L]), i));
    const rng = Rng.derive(77, "uniform");
    const counts = new Array(10).fill(0);
    const trials = 3000;
    for (let t = 0; t < trials; t++)
      for (const e of selectEmigrants(pop, 3, "random", "accuracy", rng)) counts[e.born]++;
    // each is chosen with probability 0.3: mean 900, sd ≈ 25
    for (const c of counts) expect(Math.abs(c - 900)).toBeLessThan(125);
  });

  it("diverse: the best first, then each pick the farthest from those chosen, the fitter half first", () => {
    fc.assert(
      fc.property(popArb(), fc.integer({ min: 1, max: 20 }), modeArb, (pop, k, mode) => {
        const out = selectEmigrants(pop, k, "diverse", mode, Rng.derive(0, "unused"));
        const ranked = selectSurvivors(pop, pop.length, mode);
        expect(out[0].born).toBe(ranked[0].born);
        const half = Math.ceil(pop.length / 2);
        const fitter = new Set(tags(ranked.slice(0, half)));
        // the fitter half is used up before any of the rest is sent
        for (const [r, e] of out.entries()) expect(fitter.has(e.born), `pick ${r}`).toBe(r < half);
        // greedy farthest point: each pick is at least as far from the earlier picks as any other
        // candidate still in the pool; any prefix is the diverse selection of its own length
        for (let r = 1; r < out.length; r++) {
          const spread = (x: Individual) => Math.min(...out.slice(0, r).map((c) => hamming(c.mask, x.mask)));
          const pool = r < half ? ranked.slice(0, half) : ranked;
          const left = pool.filter((x) => !tags(out.slice(0, r)).includes(x.born));
          for (const x of left) expect(spread(out[r])).toBeGreaterThanOrEqual(spread(x));
          expect(tags(selectEmigrants(pop, r, "diverse", mode, Rng.derive(1, "u")))).toEqual(
            tags(out.slice(0, r)),
          );
        }
      }),
    );
    // the best two are near-copies: best sends both, diverse sends the best and a distant good mask
    const pop = [
      ind(0.9, withBits([0, 1, 2]), 0),
      ind(0.89, withBits([0, 1]), 1),
      ind(0.88, withBits([3, 4, 5]), 2),
      ind(0.1, withBits([]), 3),
      ind(0.1, withBits([0, 1, 2, 3, 4, 5]), 4),
      ind(0.1, withBits([5]), 5),
    ];
    expect(tags(selectEmigrants(pop, 2, "best", "accuracy", Rng.derive(0, "u")))).toEqual([0, 1]);
    expect(tags(selectEmigrants(pop, 2, "diverse", "accuracy", Rng.derive(0, "u")))).toEqual([0, 2]);
    expect(parseSelectionPolicy("diverse")).toEqual({ kind: "diverse" });
  });

  it("tournament: winners are the best of their draw, so a full-size tournament is best-k and size 2 never picks the worst", () => {
    fc.assert(
      fc.property(popArb(2), fc.integer({ min: 1, max: 20 }), modeArb, seedArb, (pop, k, mode, seed) => {
        const full = selectEmigrants(
          pop,
          k,
          { kind: "tournament", size: pop.length },
          mode,
          Rng.derive(seed, "t"),
        );
        expect(tags(full)).toEqual(tags(selectSurvivors(pop, k, mode)));
        const [one] = selectEmigrants(pop, 1, "tournament", mode, Rng.derive(seed, "t2"));
        const worst = selectSurvivors(pop, pop.length, mode).at(-1)!;
        if (compareSurvivors(mode)(one, worst) === 0) return; // tied with the worst: indistinguishable
        expect(one.born).not.toBe(worst.born);
      }),
    );
  });

  it("tournament of size 1 is uniform random selection", () => {
    const pop = Array.from({ length: 5 }, (_, i) => ind(i / 5, withBits([i]), i));
    const rng = Rng.derive(5, "t1");
    const counts = new Array(5).fill(0);
    for (let t = 0; t < 2000; t++)
      counts[selectEmigrants(pop, 1, { kind: "tournament", size: 1 }, "accuracy", rng)[0].born]++;
    // p = 0.2: mean 400, sd ≈ 18
    for (const c of counts) expect(Math.abs(c - 400)).toBeLessThan(90);
  });

  it("parses policies and rejects bad inputs", () => {
    expect(parseSelectionPolicy("best")).toEqual({ kind: "best" });
    expect(parseSelectionPolicy("random")).toEqual({ kind: "random" });
    expect(parseSelectionPolicy("tournament")).toEqual({ kind: "tournament", size: 2 });
    expect(parseSelectionPolicy("tournament:5")).toEqual({ kind: "tournament", size: 5 });
    expectMigrationError(
      () => parseSelectionPolicy("elite"),
      /policy "elite" is unknown; allowed: best, random, diverse, tournament/,
    );
    expectMigrationError(
      () => parseSelectionPolicy("tournament:0"),
      /tournament size must be an integer ≥ 1, got 0/,
    );
    const pop = [ind(1, withBits([0]), 0)];
    const rng = Rng.derive(1, "bad");
    expectMigrationError(
      () => selectEmigrants(pop, -1, "best", "accuracy", rng),
      /emigrant count k must be an integer ≥ 0, got -1/,
    );
    expectMigrationError(() => selectEmigrants(pop, 1.5, "best", "accuracy", rng), /got 1.5/);
    expectMigrationError(
      () => selectEmigrants(pop, 1, "elite" as "best", "accuracy", rng),
      /"elite" is unknown/,
    );
    expectMigrationError(
      () => selectEmigrants(pop, 1, { kind: "tournament", size: 0 }, "accuracy", rng),
      /tournament size/,
    );
    expectMigrationError(
      () => selectEmigrants(pop, 1, "best", "acc" as FitnessMode, rng),
      /fitness mode must be "accuracy" or "loss", got "acc"/,
    );
  });
});

describe("integrateImmigrants", () => {
  const policyArb = fc.constantFrom<ReplacementPolicy>(...REPLACEMENT_POLICIES);

  /** Immigrants: some fresh, some copies of residents, some repeated within the batch. */
  const batchArb = (pop: Individual[]) =>
    fc
      .tuple(
        seedArb,
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 4 })), { maxLength: 12 }),
      )
      .map(([seed, spec]) => {
        const rng = Rng.derive(seed, "immigrants");
        const out: Individual[] = [];
        spec.forEach(([what, a], i) => {
          if (what === 1 && pop.length > 0) out.push({ ...pop[rng.int(pop.length)], born: 100 + i });
          else if (what === 2 && out.length > 0) out.push({ ...out[rng.int(out.length)], born: 100 + i });
          else out.push(ind(a / 4, randomMask(L, rng), 100 + i));
        });
        return out;
      });

  const caseArb = popArb(0).chain((pop) => fc.tuple(fc.constant(pop), batchArb(pop)));

  it("keeps the population size; accepted + rejected + duplicates = immigrants; no duplicate masks brought in", () => {
    fc.assert(
      fc.property(caseArb, policyArb, modeArb, seedArb, ([pop, imms], policy, mode, seed) => {
        const r = integrateImmigrants(pop, imms, policy, mode, Rng.derive(seed, "integrate"));
        expect(r.population.length).toBe(pop.length);
        expect(r.accepted + r.rejected + r.duplicates).toBe(imms.length);
        const residents = new Set(pop);
        const arrived = r.population.filter((x) => !residents.has(x));
        expect(arrived.length).toBe(r.accepted);
        for (const a of arrived) {
          expect(a.origin).toBe("immigrant");
          for (const other of r.population)
            if (other !== a) expect(masksEqual(a.mask, other.mask)).toBe(false);
        }
        // duplicates: immigrants whose mask is in the population or earlier in the batch
        let dups = 0;
        imms.forEach((m, i) => {
          if (
            pop.some((p) => masksEqual(p.mask, m.mask)) ||
            imms.slice(0, i).some((e) => masksEqual(e.mask, m.mask))
          )
            dups++;
        });
        expect(r.duplicates).toBe(dups);
      }),
    );
  });

  it("an immigrant keeps its own fitness; origin, hash, zeros and mask are its own; the mask is a copy", () => {
    const pop = [ind(0.1, withBits([0]), 0), ind(0.2, withBits([1]), 1)];
    const mask = withBits([2, 3]);
    // metrics no evaluator would give this mask; a forged zeros count and hash that must be recomputed
    const imm: Individual = {
      mask,
      hash: "0000000000000000",
      accuracy: 0.987,
      loss: 0.123,
      zeros: 99,
      origin: "child",
      born: 7,
    };
    const r = integrateImmigrants(pop, [imm], "worst", "accuracy", Rng.derive(1, "i"));
    expect(r.accepted).toBe(1);
    const got = r.population.find((x) => x.origin === "immigrant")!;
    expect([got.accuracy, got.loss, got.zeros, got.hash, got.born]).toEqual([
      0.987,
      0.123,
      L - 2,
      maskHash(mask),
      7,
    ]);
    expect(
      integrateImmigrants(pop, [imm], "worst", "accuracy", Rng.derive(1, "i"), { born: 12 }).population.find(
        (x) => x.origin === "immigrant",
      )!.born,
    ).toBe(12);
    flipBit(mask, 5);
    expect(masksEqual(got.mask, withBits([2, 3]))).toBe(true);
  });

  it("suppresses duplicates of residents and within a batch, by hash and equal masks (a forged hash is not trusted)", () => {
    const pop = [ind(0.1, withBits([0]), 0), ind(0.2, withBits([1]), 1), ind(0.3, withBits([2]), 2)];
    const copyOfResident = ind(0.99, withBits([1]), 10);
    const a = ind(0.9, withBits([4]), 11);
    const aAgain = ind(0.9, withBits([4]), 12);
    const r = integrateImmigrants(pop, [copyOfResident, a, aAgain], "worst", "accuracy", Rng.derive(1, "d"));
    expect([r.accepted, r.rejected, r.duplicates]).toEqual([1, 0, 2]);
    expect(tags(r.population)).toEqual([11, 1, 2]);
    // claims a resident's hash but has a different mask: not a duplicate
    const forged: Individual = { ...ind(0.95, withBits([5]), 13), hash: pop[0].hash };
    const f = integrateImmigrants(pop, [forged], "worst", "accuracy", Rng.derive(1, "d"));
    expect([f.accepted, f.duplicates]).toEqual([1, 0]);
  });

  it("worst replaces the worst residents unconditionally, never an immigrant placed in the same call", () => {
    const pop = [
      ind(0.5, withBits([0]), 0),
      ind(0.2, withBits([1]), 1),
      ind(0.9, withBits([2]), 2),
      ind(0.3, withBits([3]), 3),
    ];
    const bad1 = ind(0.0, withBits([4]), 10);
    const bad2 = ind(0.0, withBits([5]), 11);
    const r = integrateImmigrants(pop, [bad1, bad2], "worst", "accuracy", Rng.derive(1, "w"));
    expect(tags(r.population)).toEqual([0, 10, 2, 11]);
    expect([r.accepted, r.rejected]).toEqual([2, 0]);
    // more immigrants than residents: the extras are rejected
    const many = [0, 1, 2, 3, 4].map((i) => ind(1, withBits([i, 5]), 20 + i));
    const m = integrateImmigrants(pop, many, "worst", "accuracy", Rng.derive(1, "w"));
    expect([m.accepted, m.rejected]).toEqual([4, 1]);
    expect(m.population.every((x) => x.origin === "immigrant")).toBe(true);
  });

  it("random replaces distinct residents, unconditionally and reproducibly; deterministic policies draw nothing", () => {
    fc.assert(
      fc.property(popArb(1), fc.integer({ min: 0, max: 20 }), seedArb, (pop, f, seed) => {
        const imms = Array.from({ length: f }, (_, i) =>
          ind(0, withBits([0, 1, 2, 3, 4, 5].slice(0, 1 + (i % 5))), 100 + i),
        )
          .filter((m, i, all) => all.findIndex((x) => masksEqual(x.mask, m.mask)) === i)
          .filter((m) => !pop.some((p) => masksEqual(p.mask, m.mask)));
        const r1 = integrateImmigrants(pop, imms, "random", "accuracy", Rng.derive(seed, "r"));
        const r2 = integrateImmigrants(pop, imms, "random", "accuracy", Rng.derive(seed, "r"));
        expect(tags(r1.population)).toEqual(tags(r2.population));
        expect(r1.accepted).toBe(Math.min(imms.length, pop.length));
      }),
    );
    const pop = [ind(0.5, withBits([0]), 0), ind(0.2, withBits([1]), 1)];
    for (const policy of ["worst", "only-if-better", "most-similar"] as const) {
      const rng = Rng.derive(3, "untouched");
      integrateImmigrants(pop, [ind(0.9, withBits([3]), 9)], policy, "accuracy", rng);
      expect(rng.next()).toBe(Rng.derive(3, "untouched").next());
    }
  });

  it("only-if-better never makes any rank of the population worse (property)", () => {
    fc.assert(
      fc.property(caseArb, modeArb, seedArb, ([pop, imms], mode, seed) => {
        const r = integrateImmigrants(pop, imms, "only-if-better", mode, Rng.derive(seed, "oib"));
        expectNoRankWorse(pop, r.population, mode);
        // and it is exactly the best n of residents ∪ new immigrants, residents winning ties
        const cmp = compareSurvivors(mode);
        const kept = selectSurvivors(r.population, pop.length, mode);
        const dropped = pop.filter((p) => !r.population.includes(p));
        for (const d of dropped) for (const k of kept) expect(cmp(k, d)).toBeLessThanOrEqual(0);
      }),
    );
  });

  it("only-if-better needs strictly better: a tie with the worst resident is rejected", () => {
    const pop = [ind(0.5, withBits([0, 1]), 0), ind(0.2, withBits([2, 3]), 1)];
    const tie = ind(0.2, withBits([4, 5]), 10); // same fitness and zeros as resident 1
    const sparser = ind(0.2, withBits([4]), 11); // same fitness, one more zero: better
    const r = integrateImmigrants(pop, [tie, sparser], "only-if-better", "accuracy", Rng.derive(1, "o"));
    expect(tags(r.population)).toEqual([0, 11]);
    expect([r.accepted, r.rejected, r.duplicates]).toEqual([1, 1, 0]);
    expect(
      integrateImmigrants(pop, [tie], "only-if-better", "accuracy", Rng.derive(1, "o")).population,
    ).toEqual(pop);
  });

  it("most-similar replaces the nearest individual by Hamming distance, only if the immigrant is better", () => {
    const pop = [
      ind(0.1, withBits([0, 1, 2, 3, 4, 5]), 0), // the worst, but far away
      ind(0.6, withBits([0, 1]), 1), // nearest to the immigrant (distance 1)
      ind(0.9, withBits([3, 4, 5]), 2),
    ];
    const imm = ind(0.7, withBits([0]), 10);
    const r = integrateImmigrants(pop, [imm], "most-similar", "accuracy", Rng.derive(1, "m"));
    expect(tags(r.population)).toEqual([0, 10, 2]);
    // not better than its nearest: rejected even though it beats the worst
    const weak = ind(0.5, withBits([0]), 11);
    const w = integrateImmigrants(pop, [weak], "most-similar", "accuracy", Rng.derive(1, "m"));
    expect(tags(w.population)).toEqual([0, 1, 2]);
    expect([w.accepted, w.rejected]).toEqual([0, 1]);
    // equally near: the worse of the two is the one challenged
    const tiePop = [ind(0.8, withBits([0, 1]), 0), ind(0.4, withBits([0, 2]), 1), ind(0.9, withBits([5]), 2)];
    const t = integrateImmigrants(
      tiePop,
      [ind(0.5, withBits([0]), 12)],
      "most-similar",
      "accuracy",
      Rng.derive(1, "m"),
    );
    expect(tags(t.population)).toEqual([0, 12, 2]);
  });

  it("most-similar replaces the nearest and never makes a rank worse (property)", () => {
    fc.assert(
      fc.property(caseArb, modeArb, seedArb, ([pop, imms], mode, seed) => {
        const r = integrateImmigrants(pop, imms, "most-similar", mode, Rng.derive(seed, "ms"));
        expectNoRankWorse(pop, r.population, mode);
        // with a single immigrant, what changed is its nearest individual
        if (imms.length >= 1 && pop.length >= 1) {
          const one = integrateImmigrants(pop, [imms[0]], "most-similar", mode, Rng.derive(seed, "ms"));
          const i = one.population.findIndex((x, j) => x !== pop[j]);
          if (i >= 0) {
            const dist = pop.map((p) => hamming(p.mask, imms[0].mask));
            expect(dist[i]).toBe(Math.min(...dist));
            expect(compareSurvivors(mode)(imms[0], pop[i])).toBeLessThan(0);
          }
        }
      }),
    );
  });

  it("rejects immigrants of the wrong genome length and unknown policies", () => {
    const pop = [ind(0.5, withBits([0]), 0)];
    expectMigrationError(
      () =>
        integrateImmigrants(pop, [ind(0.9, withBits([0], 8), 1)], "worst", "accuracy", Rng.derive(1, "e")),
      /immigrant 0 has a genome of 8 bits; this island's genome has 6 bits/,
    );
    expectMigrationError(
      () => integrateImmigrants(pop, [], "best" as ReplacementPolicy, "accuracy", Rng.derive(1, "e")),
      /replacement policy "best" is unknown; allowed: worst, random, only-if-better, most-similar/,
    );
    expectMigrationError(() => parseReplacementPolicy("fair"), /"fair" is unknown/);
    expect(parseReplacementPolicy("most-similar")).toBe("most-similar");
    expectMigrationError(
      () => integrateImmigrants(pop, [], "worst", "accuracy", Rng.derive(1, "e"), { born: -1 }),
      /born must be an integer ≥ 0, got -1/,
    );
  });
});

// shareForEdge only picks from the list; `born` tags each emigrant with its index
const emigrants = Array.from({ length: 8 }, (_, i) => ind(0.5, withBits([i % L]), i));
const out = (island: number, weight: number) => ({ island, weight });
const settings = (over: Partial<EmigrationSettings>): EmigrationSettings => ({
  weights: "count",
  k: 2,
  maxPerMessage: 8,
  seedStream: "s1/island/0",
  island: 0,
  ...over,
});

describe("emigrants per edge", () => {
  it("count weight w sends the first w·k and draws nothing", () => {
    const rng = Rng.derive(9, "edge");
    expect(emigrantsPerEdge({ from: 0, to: 1, weight: 3 }, "count", 2, rng)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(emigrantsPerEdge({ from: 0, to: 1, weight: 1 }, "count", 0, rng)).toEqual([]);
    expect(emigrantsPerEdge({ from: 0, to: 1, weight: 1e6 }, "count", 1e6, rng, 3)).toEqual([0, 1, 2]);
    expect(rng.next()).toBe(Rng.derive(9, "edge").next());
  });

  it("probability p sends each of the k migrants with probability p", () => {
    const rng = Rng.derive(4, "p");
    expect(emigrantsPerEdge({ from: 0, to: 1, weight: 1 }, "probability", 4, rng)).toEqual([0, 1, 2, 3]);
    const counts = [0, 0, 0];
    const trials = 5000;
    for (let t = 0; t < trials; t++)
      for (const i of emigrantsPerEdge({ from: 0, to: 1, weight: 0.3 }, "probability", 3, rng)) counts[i]++;
    // mean 1500, sd ≈ 32
    for (const c of counts) expect(Math.abs(c - 1500)).toBeLessThan(160);
    const a = emigrantsPerEdge({ from: 0, to: 1, weight: 0.5 }, "probability", 20, Rng.derive(1, "same"));
    // a cap drops indices but draws the same numbers
    const capped = Rng.derive(1, "same");
    expect(emigrantsPerEdge({ from: 0, to: 1, weight: 0.5 }, "probability", 20, capped, 5)).toEqual(
      a.filter((i) => i < 5),
    );
    const uncapped = Rng.derive(1, "same");
    emigrantsPerEdge({ from: 0, to: 1, weight: 0.5 }, "probability", 20, uncapped);
    expect(capped.next()).toBe(uncapped.next());
    expect(
      emigrantsPerEdge({ from: 0, to: 1, weight: 0.5 }, "probability", 20, Rng.derive(1, "same")),
    ).toEqual(a);
  });

  it("rejects bad weights and counts", () => {
    const rng = Rng.derive(1, "x");
    expectMigrationError(
      () => emigrantsPerEdge({ from: 0, to: 1, weight: 0.5 }, "count", 2, rng),
      /edge 0→1: count weight must be an integer ≥ 1, got 0.5/,
    );
    expectMigrationError(
      () => emigrantsPerEdge({ from: 2, to: 1, weight: 2 }, "probability", 2, rng),
      /edge 2→1: probability weight must satisfy 0 < p ≤ 1, got 2/,
    );
    expectMigrationError(
      () => emigrantsPerEdge({ from: 0, to: 1, weight: 1 }, "often" as "count", 2, rng),
      /"count" or "probability", got "often"/,
    );
    expectMigrationError(
      () => emigrantsPerEdge({ from: 0, to: 1, weight: 1 }, "count", -1, rng),
      /migrants per edge k must be an integer ≥ 0, got -1/,
    );
  });

  it("count weights: each edge gets the first w·k, capped by what a message may carry", () => {
    const s = settings({ maxPerMessage: 5 });
    expect(emigrantsToSelect([out(1, 1), out(2, 3)], s)).toBe(5);
    expect(tags(shareForEdge(out(1, 1), emigrants, 1, s))).toEqual([0, 1]);
    expect(tags(shareForEdge(out(2, 3), emigrants, 1, s))).toEqual([0, 1, 2, 3, 4]);
    expect(emigrantsToSelect([], s)).toBe(0);
    expect(emigrantsToSelect([out(1, 2)], settings({ k: 0 }))).toBe(0);
  });

  it("probability weights: each of the first k with probability p, the same draw for an (epoch, edge)", () => {
    const s = settings({ weights: "probability", k: 4 });
    expect(emigrantsToSelect([out(1, 0.3), out(2, 1)], s)).toBe(4);
    expect(tags(shareForEdge(out(2, 1), emigrants, 1, s))).toEqual([0, 1, 2, 3]);
    // a resend of epoch 3 picks what the first send picked
    const first = tags(shareForEdge(out(1, 0.5), emigrants, 3, s));
    expect(tags(shareForEdge(out(1, 0.5), emigrants, 3, s))).toEqual(first);
    // the draws are those of the edge's own stream (island, epoch, neighbour)
    const own = emigrantsPerEdge(
      { from: 0, to: 1, weight: 0.5 },
      "probability",
      4,
      Rng.derive("s1/island/0", "edge", 3, 1),
    );
    expect(first).toEqual(own);
    // over many epochs about half of the k travel, never beyond the first k
    let sent = 0;
    for (let epoch = 1; epoch <= 400; epoch++) {
      const got = tags(shareForEdge(out(1, 0.5), emigrants, epoch, s));
      expect(got.every((i) => i < 4)).toBe(true);
      sent += got.length;
    }
    expect(sent / (400 * 4)).toBeGreaterThan(0.4);
    expect(sent / (400 * 4)).toBeLessThan(0.6);
  });

  it("plans one epoch's emigrants for every out-neighbour, whatever the order edges are served in", () => {
    const s = settings({ weights: "probability", k: 3 });
    const outs = [out(2, 0.5), out(1, 0.5), out(3, 1)];
    const plan = planEmigration(outs, emigrants, 7, s);
    expect([...plan.keys()]).toEqual([2, 1, 3]);
    const reversed = planEmigration([...outs].reverse(), emigrants, 7, s);
    for (const n of outs) expect(tags(plan.get(n.island) ?? [])).toEqual(tags(reversed.get(n.island) ?? []));
    expect(tags(plan.get(3) ?? [])).toEqual([0, 1, 2]);
  });
});

describe("migration schedule", () => {
  it("migrates at generations ≡ offset (mod interval), never at generation 0", () => {
    const at = (interval: number, offset: number) =>
      Array.from({ length: 16 }, (_, g) => g).filter((g) => isMigrationGeneration(g, interval, offset));
    expect(at(5, 0)).toEqual([5, 10, 15]);
    expect(at(5, 2)).toEqual([2, 7, 12]);
    expect(at(1, 0)).toEqual(Array.from({ length: 15 }, (_, g) => g + 1));
  });

  it("migrationsUpTo counts exactly the migration generations in 1 … cap (property)", () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 12 })
          .chain((interval) =>
            fc.tuple(
              fc.constant(interval),
              fc.integer({ min: 0, max: interval - 1 }),
              fc.integer({ min: 0, max: 60 }),
            ),
          ),
        ([interval, offset, cap]) => {
          let n = 0;
          for (let g = 1; g <= cap; g++) if (isMigrationGeneration(g, interval, offset)) n++;
          expect(migrationsUpTo(cap, interval, offset)).toBe(n);
        },
      ),
    );
  });

  it("nextMigrationGeneration is the first migration generation after the given one (property)", () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 20 })
          .chain((interval) =>
            fc.tuple(
              fc.constant(interval),
              fc.integer({ min: 0, max: interval - 1 }),
              fc.integer({ min: 0, max: 200 }),
            ),
          ),
        ([interval, offset, g]) => {
          const next = nextMigrationGeneration(g, interval, offset);
          expect(next).toBeGreaterThan(g);
          expect(isMigrationGeneration(next, interval, offset)).toBe(true);
          for (let h = g + 1; h < next; h++) expect(isMigrationGeneration(h, interval, offset)).toBe(false);
        },
      ),
    );
  });

  it("staggered offsets spread islands evenly over the interval", () => {
    expect(migrationOffsets(4, 5, "none")).toEqual([0, 0, 0, 0]);
    expect(migrationOffsets(4, 8, "staggered")).toEqual([0, 2, 4, 6]);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 20 }), (n, interval) => {
        const o = migrationOffsets(n, interval, "staggered");
        expect(o.length).toBe(n);
        for (const x of o) expect(x >= 0 && x < interval && Number.isInteger(x)).toBe(true);
        const perSlot = new Array(interval).fill(0);
        for (const x of o) perSlot[x]++;
        if (n >= interval) expect(Math.max(...perSlot) - Math.min(...perSlot)).toBeLessThanOrEqual(1);
        else expect(new Set(o).size).toBe(n);
      }),
    );
  });

  it("validates interval, offset and generation", () => {
    expectMigrationError(
      () => isMigrationGeneration(3, 0, 0),
      /migration interval must be an integer ≥ 1 .*got 0/,
    );
    expectMigrationError(() => isMigrationGeneration(3, 2.5, 0), /got 2.5/);
    expectMigrationError(
      () => isMigrationGeneration(3, 5, 5),
      /migration offset must be an integer with 0 ≤ offset < interval = 5, got 5/,
    );
    expectMigrationError(() => isMigrationGeneration(3, 5, -1), /got -1/);
    expectMigrationError(() => isMigrationGeneration(-1, 5, 0), /generation must be an integer ≥ 0, got -1/);
    expectMigrationError(() => migrationOffsets(4, 0, "staggered"), /migration interval/);
    expectMigrationError(
      () => migrationOffsets(4, 3, "random" as "none"),
      /"none" or "staggered", got "random"/,
    );
    expectMigrationError(
      () => migrationOffsets(-1, 3, "none"),
      /number of islands must be an integer ≥ 0, got -1/,
    );
  });
});
