import { describe, expect, it } from "vitest";
import { isSltError } from "../../src/core/errors.ts";
import { canonicalJson, parseSpec, specDifference } from "../../src/sweep/spec.ts";
import { RUN_FLAGS } from "./flags.ts";

const good = {
  name: "topology-digits",
  base: { dataset: "digits-10", fitness: "loss", prune: "none", population: 100, arch: [64, 75, 10] },
  grid: { topology: ["ring", "full"], islands: [4], interval: [5, 20] },
  settings: [{ islands: 1 }],
  seeds: [1, 2, 3],
  budget: { evaluations: 50000 },
};

/** The one E_CONFIG line a spec is refused with. */
function refusal(spec: unknown): string {
  try {
    parseSpec(spec, "s.json", RUN_FLAGS);
  } catch (e) {
    expect(isSltError(e, "E_CONFIG"), String(e)).toBe(true);
    const message = (e as Error).message;
    expect(message).not.toContain("\n");
    expect(message.startsWith("sweep spec s.json: ")).toBe(true);
    return message;
  }
  throw new Error("the spec was accepted");
}

describe("sweep spec", () => {
  it("accepts a spec and fills in the defaults; a count of seeds is 1…N", () => {
    const spec = parseSpec({ name: "x", seeds: 3 }, "s.json", RUN_FLAGS);
    expect(spec).toMatchObject({ name: "x", base: {}, grid: {}, settings: [], seeds: [1, 2, 3] });
    expect(parseSpec(good, "s.json", RUN_FLAGS).seeds).toEqual([1, 2, 3]);
  });

  it.each([
    [{ ...good, name: "../up" }, /^sweep spec s\.json: name: got "\.\.\/up"; a folder name/],
    [{ ...good, name: undefined }, /name: got missing/],
    [{ ...good, seeds: [] }, /seeds: got \[\]; at least one seed/],
    [{ ...good, seeds: [1, 1] }, /seeds: seed 1 is listed twice/],
    [{ ...good, seeds: [0] }, /seeds/],
    [{ ...good, grids: {} }, /grids: unknown field; a spec has name, description/],
    [{ ...good, grid: { topology: [] } }, /grid\.topology: got \[\]; a list of at least one value/],
    [{ ...good, grid: { topology: "ring" } }, /grid\.topology: got "ring"/],
    [{ ...good, base: { topolgy: "ring" } }, /base\.topolgy: "topolgy" is not an option of slt run/],
    [{ ...good, base: { fitness: "los" } }, /base\.fitness: got "los"; --fitness is one of accuracy, loss/],
    [{ ...good, grid: { mode: ["async", "sync"] } }, /grid\.mode\[1\]: got "sync"; --mode is one of async/],
    [{ ...good, settings: [{ seed: 4 }] }, /settings\[0\]\.seed: "seed" is set by the sweep/],
    [{ ...good, base: { out: "x" } }, /base\.out: "out" is set by the sweep/],
    [{ ...good, base: { "max-evaluations": 5 } }, /base\.max-evaluations: .* set by budget\.evaluations/],
    [{ ...good, base: { islands: true } }, /base\.islands: --islands takes a value, not true/],
    [{ ...good, base: { "accept-new-host-keys": "yes" } }, /--accept-new-host-keys is a switch/],
    [{ ...good, settings: [{ name: "" }] }, /settings\[0\]\.name: the setting's name/],
    [{ ...good, budget: {} }, /budget: give evaluations .* or seconds/],
    [{ ...good, budget: { minutes: 5 } }, /budget\.minutes: unknown field/],
    [{ ...good, budget: { seconds: -1 } }, /budget\.seconds: got -1/],
    [{ ...good, base: { population: { n: 1 } } }, /base\.population: got \{"n":1\}/],
    ["not an object", /\(top level\): got "not an object"/],
  ])("refuses a bad spec in one line naming the field (%#)", (spec, words) => {
    expect(refusal(spec)).toMatch(words);
  });

  it("time-limit and max-evaluations are fields when no budget sets them", () => {
    const spec = { name: "x", seeds: 1, base: { "max-evaluations": 5, "time-limit": 3 } };
    expect(parseSpec(spec, "s.json", RUN_FLAGS).base).toEqual(spec.base);
  });

  it("two specs differ for their runs in any field but seeds and description", () => {
    const a = parseSpec(good, "a", RUN_FLAGS);
    expect(specDifference(a, parseSpec({ ...good, seeds: 5, description: "more" }, "b", RUN_FLAGS))).toBe(
      null,
    );
    expect(specDifference(a, parseSpec({ ...good, budget: { seconds: 60 } }, "b", RUN_FLAGS))).toBe("budget");
    expect(specDifference(a, parseSpec({ ...good, grid: { topology: ["ring"] } }, "b", RUN_FLAGS))).toBe(
      "grid",
    );
    // key order is not a difference
    const reordered = { seeds: good.seeds, budget: good.budget, settings: good.settings, grid: good.grid };
    expect(
      specDifference(a, parseSpec({ ...reordered, base: good.base, name: good.name }, "b", RUN_FLAGS)),
    ).toBe(null);
    expect(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}');
  });
});
