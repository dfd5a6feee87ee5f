import { describe, expect, it } from "vitest";
import { isSltError } from "../../src/core/errors.ts";
import { planSweep, slugOf } from "../../src/sweep/plan.ts";
import { parseSpec } from "../../src/sweep/spec.ts";
import { COMMAND_FLAGS } from "./flags.ts";

const plan = (spec: unknown) => planSweep(parseSpec(spec, "s.json", COMMAND_FLAGS), "s.json");

describe("sweep plan", () => {
  const spec = {
    name: "t",
    base: { dataset: "digits-10", arch: [64, 75, 10], prune: "none" },
    grid: { topology: ["ring", "full"], islands: [4], interval: [5, 20] },
    settings: [
      { islands: 1, population: 100 },
      { name: "one big island", islands: 1, population: 400 },
    ],
    seeds: [1, 2, 3],
    budget: { evaluations: 50000 },
  };

  it("is the grid's points then the settings entries, times the seeds, seed-major", () => {
    const p = plan(spec);
    expect(p.settings.map((s) => s.name)).toEqual([
      "topology=ring,interval=5",
      "topology=ring,interval=20",
      "topology=full,interval=5",
      "topology=full,interval=20",
      "islands=1,population=100",
      "one big island",
    ]);
    expect(p.runs).toHaveLength(6 * 3);
    expect(p.runs.slice(0, 6).map((r) => r.seed)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(p.runs.map((r) => r.dir).slice(0, 6)).toEqual([
      "topology-ring_interval-5-s1",
      "topology-ring_interval-20-s1",
      "topology-full_interval-5-s1",
      "topology-full_interval-20-s1",
      "islands-1_population-100-s1",
      "one-big-island-s1",
    ]);
    expect(new Set(p.runs.map((r) => r.dir)).size).toBe(p.runs.length);
  });

  it("gives each run base, its setting's fields, the budget, its seed and its name as slt run flags", () => {
    const p = plan(spec);
    expect(p.runs[1].args).toEqual([
      ...["--dataset", "digits-10", "--arch", "64,75,10", "--prune", "none"],
      ...["--topology", "ring", "--islands", "4", "--interval", "20"],
      ...["--max-evaluations", "50000", "--seed", "1", "--name", "topology-ring_interval-20-s1"],
    ]);
    expect(p.settings[4].fields).toEqual({ ...spec.base, islands: 1, population: 100 });
    expect(p.settings[4].own).toEqual({ islands: 1, population: 100 });
    const timed = plan({ ...spec, budget: { seconds: 90 } });
    expect(timed.runs[0].args).toEqual(expect.arrayContaining(["--time-limit", "90"]));
    expect(timed.runs[0].args).not.toContain("--max-evaluations");
  });

  it("names are stable: the same spec gives the same names, another seed list the same settings", () => {
    expect(plan(spec)).toEqual(plan(structuredClone(spec)));
    expect(plan({ ...spec, seeds: [7] }).settings).toEqual(plan(spec).settings);
  });

  it("a spec without grid or settings is base alone; switches are flags without a value", () => {
    const p = plan({ name: "t", base: { "accept-new-host-keys": true, islands: 1 }, seeds: 2 });
    expect(p.settings.map((s) => s.name)).toEqual(["base"]);
    expect(p.runs.map((r) => r.dir)).toEqual(["base-s1", "base-s2"]);
    expect(p.runs[0].args.slice(0, 3)).toEqual(["--accept-new-host-keys", "--islands", "1"]);
    const off = plan({ name: "t", base: { "accept-new-host-keys": false }, seeds: 1 });
    expect(off.runs[0].args).not.toContain("--accept-new-host-keys");
  });

  it("refuses two settings of one name, naming it", () => {
    const twice = {
      name: "t",
      grid: { topology: ["ring", "full"] },
      settings: [{ topology: "ring" }],
      seeds: 1,
    };
    expect(() => plan(twice)).toThrow(/settings: two settings are both named "topology=ring"/);
    const slugs = { name: "t", settings: [{ name: "a b" }, { name: "a/b" }], seeds: 1 };
    expect(() => plan(slugs)).toThrow(/both named "a\/b" \(folder a-b\)/);
  });

  it("a baseline names one of the settings; another name is refused, listing them", () => {
    const spec = { name: "t", grid: { topology: ["ring", "full"] }, seeds: 1 };
    expect(plan({ ...spec, baseline: "topology=full" }).settings).toHaveLength(2);
    expect(() => plan({ ...spec, baseline: "ring" })).toThrow(
      /baseline: "ring" is not a setting's name; the settings: "topology=ring", "topology=full"/,
    );
  });

  it("refuses an evaluation budget for lockstep islands (they stop only at their cap)", () => {
    try {
      plan({
        name: "t",
        grid: { mode: ["async", "lockstep"] },
        base: { islands: 2 },
        seeds: 1,
        budget: { evaluations: 9 },
      });
      expect.unreachable();
    } catch (e) {
      expect(isSltError(e, "E_CONFIG")).toBe(true);
      expect((e as Error).message).toMatch(
        /budget\.evaluations: setting "mode=lockstep" runs lockstep islands/,
      );
    }
    // one population in lockstep mode, or a time budget, is fine
    expect(
      plan({ name: "t", base: { mode: "lockstep", islands: 1 }, seeds: 1, budget: { evaluations: 9 } }).runs,
    ).toHaveLength(1);
    expect(
      plan({ name: "t", base: { mode: "lockstep", islands: 2 }, seeds: 1, budget: { seconds: 9 } }).runs,
    ).toHaveLength(1);
  });

  it("a baseline setting runs its command with its fields as flags, without the budget", () => {
    const p = plan({
      name: "vs",
      base: { dataset: "moons", arch: [2, 75, 2] },
      settings: [
        { islands: 1 },
        { command: "baseline edge-popup", keep: 0.5 },
        { name: "dense", command: "baseline dense", epochs: 5 },
      ],
      seeds: [3],
      budget: { evaluations: 5000, seconds: 60 },
    });
    expect(p.settings.map((s) => [s.name, s.slug, s.command, s.unbudgeted])).toEqual([
      ["islands=1", "islands-1", "run", false],
      ["baseline edge-popup,keep=0.5", "baseline-edge-popup_keep-0.5", "baseline edge-popup", true],
      ["dense", "dense", "baseline dense", true],
    ]);
    expect(p.runs[0].args).toEqual(
      expect.arrayContaining(["--max-evaluations", "5000", "--time-limit", "60"]),
    );
    expect(p.runs[1].args).toEqual([
      ...["--dataset", "moons", "--arch", "2,75,2", "--keep", "0.5"],
      ...["--seed", "3", "--name", "baseline-edge-popup_keep-0.5-s3"],
    ]);
    expect(p.runs[2].args).toEqual([
      ...["--dataset", "moons", "--arch", "2,75,2", "--epochs", "5", "--seed", "3", "--name", "dense-s3"],
    ]);
    // the command stays a field of the setting (sweep.jsonl records it), never a flag
    expect(p.settings[2].fields).toEqual({
      dataset: "moons",
      arch: [2, 75, 2],
      command: "baseline dense",
      epochs: 5,
    });
    // without a budget nothing is withheld from a baseline
    const free = plan({ name: "f", base: { command: "baseline dense" }, seeds: 1 });
    expect(free.settings[0]).toMatchObject({
      name: "base",
      command: "baseline dense",
      unbudgeted: false,
      args: [],
    });
  });

  it("slugs are folder-safe and short; long names stay unique", () => {
    expect(slugOf("topology=er:0.3,arch=64x75x10")).toBe("topology-er-0.3_arch-64x75x10");
    expect(slugOf("../x")).toBe("x");
    const long = (k: string) => `${"interval=5,".repeat(12)}${k}`;
    expect(slugOf(long("a")).length).toBeLessThanOrEqual(80);
    expect(slugOf(long("a"))).not.toBe(slugOf(long("b")));
    for (const s of [slugOf(long("a")), slugOf("a b/c\\d")])
      expect(s).toMatch(/^[A-Za-z0-9_][A-Za-z0-9._-]*$/);
  });
});
