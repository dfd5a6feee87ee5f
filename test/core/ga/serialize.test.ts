import { describe, expect, it } from "vitest";
import { type GaState, gaStateFromJSON, gaStateToJSON, initRun, step } from "../../../src/core/ga/index.ts";
import { masksEqual } from "../../../src/core/mask.ts";
import { Rng } from "../../../src/core/rng.ts";
import { spy, topology } from "./fakes.ts";

describe("GA state JSON", () => {
  it("round-trips masks, metrics (including non-finite ones), bound, streams and history", () => {
    const net = topology([3, 5, 2]);
    let k = 0;
    const weird = [Number.NaN, Number.POSITIVE_INFINITY, 0.25];
    const evaluate = spy(() => ({ accuracy: 0.5, loss: weird[k++ % 3] }));
    const d = { evaluate, network: net };
    let s: GaState = initRun(
      {
        population: 9,
        crossoverRate: 0,
        mutationRate: 0,
        newcomerFraction: 0,
        generator: { kind: "adaptive-bound", secondsPerTry: 1 },
      },
      d,
      Rng.derive(2),
    );
    expect(s.generator.bound).toBe(0.51);
    s = step(s, d);
    const json = JSON.parse(JSON.stringify(gaStateToJSON(s)));
    const back = gaStateFromJSON(json);
    expect(back.generation).toBe(s.generation);
    expect(back.evaluations).toBe(s.evaluations);
    expect(back.generator).toEqual(s.generator);
    expect(back.rng).toEqual(s.rng);
    expect(back.params).toEqual(s.params);
    expect(back.history).toEqual(s.history);
    back.population.forEach((ind, i) => {
      const orig = s.population[i];
      expect(masksEqual(ind.mask, orig.mask)).toBe(true);
      expect(ind.hash).toBe(orig.hash);
      expect(ind.zeros).toBe(orig.zeros);
      expect(Object.is(ind.loss, orig.loss)).toBe(true);
      expect(ind.accuracy).toBe(orig.accuracy);
      expect(ind.origin).toBe(orig.origin);
      expect(ind.born).toBe(orig.born);
    });
    expect(s.population.some((i) => Number.isNaN(i.loss))).toBe(true);
    expect(() => gaStateFromJSON({ ...json, format: "other" })).toThrow(RangeError);
    expect(() => gaStateFromJSON({ ...json, genomeLength: 7 })).toThrow(RangeError);
  });
});
