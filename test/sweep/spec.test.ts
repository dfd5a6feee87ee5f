import { describe, expect, it } from "vitest";
import { isSltError } from "../../src/core/errors.ts";
import { canonicalJson, parseSpec, specDifference } from "../../src/sweep/spec.ts";
import { COMMAND_FLAGS } from "./flags.ts";

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
    parseSpec(spec, "s.json", COMMAND_FLAGS);
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
    const spec = parseSpec({ name: "x", seeds: 3 }, "s.json", COMMAND_FLAGS);
    expect(spec).toMatchObject({ name: "x", base: {}, grid: {}, settings: [], seeds: [1, 2, 3] });
    expect(parseSpec(good, "s.json", COMMAND_FLAGS).seeds).toEqual([1, 2, 3]);
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
    expect(parseSpec(spec, "s.json", COMMAND_FLAGS).base).toEqual(spec.base);
  });

  it("two specs differ for their runs in any field but seeds and description", () => {
    const a = parseSpec(good, "a", COMMAND_FLAGS);
    expect(specDifference(a, parseSpec({ ...good, seeds: 5, description: "more" }, "b", COMMAND_FLAGS))).toBe(
      null,
    );
    expect(specDifference(a, parseSpec({ ...good, budget: { seconds: 60 } }, "b", COMMAND_FLAGS))).toBe(
      "budget",
    );
    expect(specDifference(a, parseSpec({ ...good, grid: { topology: ["ring"] } }, "b", COMMAND_FLAGS))).toBe(
      "grid",
    );
    // key order is not a difference
    const reordered = { seeds: good.seeds, budget: good.budget, settings: good.settings, grid: good.grid };
    expect(
      specDifference(a, parseSpec({ ...reordered, base: good.base, name: good.name }, "b", COMMAND_FLAGS)),
    ).toBe(null);
    expect(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}');
  });
});

describe("sweep spec: baseline settings", () => {
  const study = {
    name: "vs",
    base: { dataset: "moons", arch: [2, 75, 2] },
    settings: [
      { islands: 1, population: 100 },
      { command: "baseline edge-popup", keep: 0.5 },
      { name: "dense", command: "baseline dense", epochs: 5 },
    ],
    seeds: 2,
    budget: { evaluations: 5000 },
  };

  it("accepts GA settings beside baselines, each setting's fields checked against its own command", () => {
    expect(parseSpec(study, "s.json", COMMAND_FLAGS).settings).toEqual(study.settings);
    // base's command is every setting's default
    const dense = {
      name: "d",
      base: { command: "baseline dense", dataset: "moons" },
      settings: [{ epochs: 3 }],
      seeds: 1,
    };
    expect(parseSpec(dense, "s.json", COMMAND_FLAGS).base).toEqual(dense.base);
    // a grid may vary the command: its other values go to both commands
    const grid = {
      name: "g",
      grid: { command: ["run", "baseline dense"], arch: ["2,8,2", "2,16,2"] },
      seeds: 1,
    };
    expect(parseSpec(grid, "s.json", COMMAND_FLAGS).grid).toEqual(grid.grid);
    // an option both baselines have means the same in both
    const both = {
      name: "b",
      base: { "batch-size": 64 },
      settings: [{ command: "baseline dense" }, { command: "baseline edge-popup" }],
      seeds: 1,
    };
    expect(parseSpec(both, "s.json", COMMAND_FLAGS).base).toEqual(both.base);
  });

  it.each([
    [
      { ...study, settings: [{ keep: 0.5 }] },
      /settings\[0\]\.keep: "keep" is not an option of slt run, which settings\[0\] runs \(fields are its flags without the dashes; a setting's "command" chooses its command\)$/,
    ],
    [
      { ...study, settings: [{ command: "baseline dense", islands: 2 }] },
      /settings\[0\]\.islands: "islands" is not an option of slt baseline dense, which settings\[0\] runs/,
    ],
    // --keep is edge-popup's alone
    [
      { ...study, settings: [{ name: "d", command: "baseline dense", keep: 0.5 }] },
      /settings\[0\]\.keep: "keep" is not an option of slt baseline dense, which settings\[0\] \("d"\) runs/,
    ],
    // a base field goes to every setting that does not set it, baselines included
    [
      { ...study, base: { ...study.base, population: 100 } },
      /base\.population: "population" is not an option of slt baseline edge-popup, which settings\[1\] runs/,
    ],
    [
      { name: "d", base: { command: "baseline dense" }, settings: [{ epochs: 3 }, { islands: 2 }], seeds: 1 },
      /settings\[1\]\.islands: "islands" is not an option of slt baseline dense/,
    ],
    [
      { name: "g", grid: { command: ["run", "baseline dense"], population: [50] }, seeds: 1 },
      /grid\.population\[0\]: "population" is not an option of slt baseline dense, which the grid runs/,
    ],
    [
      { ...study, settings: [{ command: "baseline" }] },
      /settings\[0\]\.command: got "baseline"; the setting's slt command is one of "run", "baseline edge-popup", "baseline dense" \(default "run"\)/,
    ],
    [
      { ...study, grid: { command: ["run", "dense"] } },
      /grid\.command\[1\]: got "dense"; the setting's slt command/,
    ],
    [{ ...study, base: { command: 5 } }, /base\.command: got 5; the setting's slt command/],
    // the budget is slt run's: a baseline has no such flag, whatever the budget
    [
      { ...study, budget: undefined, settings: [{ command: "baseline dense", "max-evaluations": 5 }] },
      /settings\[0\]\.max-evaluations: "max-evaluations" is not an option of slt baseline dense/,
    ],
    [
      { ...study, settings: [{ command: "baseline dense", seed: 3 }] },
      /settings\[0\]\.seed: "seed" is set by the sweep/,
    ],
    // one name, two options: --batch-size is mini-batch fitness for slt run, the SGD batch for a baseline
    [
      { ...study, base: { ...study.base, "batch-size": 50 }, settings: [{}, { command: "baseline dense" }] },
      /base\.batch-size: --batch-size means different things in slt run \("NON-PAPER mini-batch fitness"\) and slt baseline dense \("rows per SGD step"\), which this field reaches; set it in each setting instead$/,
    ],
  ])(
    "refuses a field its setting's command does not take, naming field, setting and command (%#)",
    (spec, words) => {
      expect(refusal(spec)).toMatch(words);
    },
  );
});
