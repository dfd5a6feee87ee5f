import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  bestIndividual,
  compareSurvivors,
  type FitnessMode,
  type Individual,
  makeIndividual,
  type Origin,
  rankParents,
  selectSurvivors,
} from "../../../src/core/ga/index.ts";
import { emptyMask, setBit } from "../../../src/core/mask.ts";

const L = 10;

/** An individual with `z` zero bits (bits z … L−1 set) and the given metrics; `tag` goes into `born`. */
function ind(accuracy: number, z: number, tag: number, loss = 0, origin: Origin = "initial"): Individual {
  const m = emptyMask(L);
  for (let i = z; i < L; i++) setBit(m, i, true);
  return makeIndividual(m, { accuracy, loss }, origin, tag);
}

const tags = (xs: readonly Individual[]) => xs.map((x) => x.born);

describe("orderings", () => {
  it("survivor order: fitness first, then more zeros, then list order", () => {
    const list = [
      ind(0.5, 3, 0),
      ind(0.9, 1, 1),
      ind(0.5, 7, 2),
      ind(0.9, 4, 3),
      ind(0.5, 7, 4), // same fitness and zeros as tag 2: stays after it
      ind(0.9, 4, 5), // same as tag 3: stays after it
      ind(0.7, 0, 6),
    ];
    expect(tags(selectSurvivors(list, list.length, "accuracy"))).toEqual([3, 5, 1, 6, 2, 4, 0]);
    expect(tags(selectSurvivors(list, 3, "accuracy"))).toEqual([3, 5, 1]);
  });

  it("parent ranking uses fitness only (zeros do not matter), stable", () => {
    const list = [ind(0.5, 3, 0), ind(0.9, 1, 1), ind(0.5, 7, 2), ind(0.9, 4, 3)];
    expect(tags(rankParents(list, "accuracy"))).toEqual([1, 3, 0, 2]);
  });

  it("loss mode ranks the lowest loss first", () => {
    const list = [ind(0, 0, 0, 0.7), ind(0, 0, 1, 0.2), ind(0, 5, 2, 0.7), ind(0, 0, 3, 0.2)];
    expect(tags(rankParents(list, "loss"))).toEqual([1, 3, 0, 2]);
    expect(tags(selectSurvivors(list, 4, "loss"))).toEqual([1, 3, 2, 0]);
  });

  it("compares exactly: a difference of one ulp decides", () => {
    const a = ind(0.3, 0, 0);
    const b = ind(0.1 + 0.2, 9, 1); // 0.30000000000000004 > 0.3
    expect(tags(selectSurvivors([a, b], 2, "accuracy"))).toEqual([1, 0]);
  });

  it("NaN fitness ranks last", () => {
    const list = [ind(Number.NaN, 9, 0), ind(0, 0, 1), ind(0.5, 0, 2)];
    expect(tags(selectSurvivors(list, 3, "accuracy"))).toEqual([2, 1, 0]);
    const losses = [ind(0, 0, 0, Number.NaN), ind(0, 0, 1, 5)];
    expect(tags(rankParents(losses, "loss"))).toEqual([1, 0]);
  });

  it("bestIndividual is the first in survivor order", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: L })), {
          minLength: 1,
          maxLength: 20,
        }),
        fc.constantFrom<FitnessMode>("accuracy", "loss"),
        (spec, mode) => {
          const list = spec.map(([a, z], k) => ind(a / 4, z, k, a / 3));
          expect(bestIndividual(list, mode)).toBe(selectSurvivors(list, 1, mode)[0]);
          const sorted = selectSurvivors(list, list.length, mode);
          for (let k = 1; k < sorted.length; k++)
            expect(compareSurvivors(mode)(sorted[k - 1], sorted[k])).toBeLessThanOrEqual(0);
        },
      ),
    );
  });
});
