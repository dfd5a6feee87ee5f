import { describe, expect, it } from "vitest";
import { ConfigSchema } from "../../src/core/config.ts";
import { baselineIndex, groupSettings, settingFields } from "../../src/report/group.ts";
import { type FakeRun, fakeConfig } from "./fixtures.ts";

const run = (r: FakeRun, dir = `/runs/${r.islands ?? 1}-${r.topology ?? "ring"}-${r.seed ?? 1}`) => ({
  dir,
  config: fakeConfig(r, dir),
});

describe("settingFields", () => {
  it("leaves out what names, places or operates a run, and a one-population run's cluster fields", () => {
    const fields = settingFields(fakeConfig({ seed: 7, islands: 1 }));
    for (const k of ["seed", "name", "out", "runDir", "startTime", "versions.node", "network.seed"])
      expect(fields.has(k), k).toBe(false);
    expect(fields.get("cluster.islands")).toBe("1");
    expect(fields.has("cluster.topology")).toBe(false);
    expect(fields.get("ga.mutationRate")).toBe("0.1");
    expect(settingFields(fakeConfig({ islands: 4 })).get("cluster.topology")).toBe('"ring"');
  });

  it("keeps a network seed that does not follow the run seed", () => {
    const fixed = ConfigSchema.parse({ seed: 2, dataset: { name: "moons" }, network: { seed: 9 } });
    expect(settingFields(fixed).get("network.seed")).toBe("9");
  });
});

describe("groupSettings", () => {
  it("puts runs that differ only in seed (and placement) into one setting, in first-seen order", () => {
    const runs = [
      run({ seed: 1, islands: 4, topology: "ring" }),
      run({ seed: 1, islands: 1 }),
      run({ seed: 2, islands: 4, topology: "ring" }),
      run({ seed: 1, islands: 4, topology: "full" }),
      run({ seed: 2, islands: 1 }),
    ];
    const settings = groupSettings(runs);
    expect(settings.map((s) => s.runs.map((r) => r.dir))).toEqual([
      [runs[0].dir, runs[2].dir],
      [runs[1].dir, runs[4].dir],
      [runs[3].dir],
    ]);
    // labels name only what differs between settings; one population has no topology
    expect(settings.map((s) => s.label)).toEqual([
      "islands=4, topology=ring",
      "islands=1",
      "islands=4, topology=full",
    ]);
    expect(settings[0].fields).toEqual({ islands: "4", topology: "ring" });
    expect(baselineIndex(settings)).toBe(1);
  });

  it("names a field by its dotted path when short names would clash, and one setting 'all runs'", () => {
    const a = run({ mutationRate: 0.1 });
    const b = run({ mutationRate: 0.2 }, "/runs/b");
    expect(groupSettings([a, b]).map((s) => s.label)).toEqual(["mutationRate=0.1", "mutationRate=0.2"]);
    expect(groupSettings([a, run({ seed: 2 })]).map((s) => s.label)).toEqual(["all runs"]);
    // cluster.mode and ga.fitnessSubset.mode both differ: "mode" alone would not say which
    const clash = (mode: "async" | "lockstep", subset: "fixed" | "rotating", dir: string) => ({
      dir,
      config: ConfigSchema.parse({
        dataset: { name: "moons" },
        ga: { fitnessSubset: { size: 10, mode: subset } },
        cluster: { islands: 2, mode },
      }),
    });
    expect(
      groupSettings([clash("async", "fixed", "/a"), clash("lockstep", "rotating", "/b")]).map((s) => s.label),
    ).toEqual([
      "ga.fitnessSubset.mode=fixed, cluster.mode=async",
      "ga.fitnessSubset.mode=rotating, cluster.mode=lockstep",
    ]);
  });

  it("uses a sweep's setting names when each setting's runs carry one name of their own", () => {
    const runs = [run({ islands: 4 }), run({ islands: 4, seed: 2 }), run({ islands: 1 })];
    const names = new Map([
      [runs[0].dir, "ring-4"],
      [runs[1].dir, "ring-4"],
    ]);
    expect(groupSettings(runs, names).map((s) => s.label)).toEqual(["ring-4", "islands=1"]);
    // a run not recorded yet (its sweep still running) has no name: the recorded ones name the setting
    expect(groupSettings(runs, new Map([[runs[0].dir, "ring-4"]])).map((s) => s.label)).toEqual([
      "ring-4",
      "islands=1",
    ]);
    // one name for two settings is no name
    names.set(runs[2].dir, "ring-4");
    expect(groupSettings(runs, names).map((s) => s.label)).toEqual(["islands=4", "islands=1"]);
  });

  it("the baseline is the first one-population setting, else the first", () => {
    const settings = groupSettings([run({ islands: 4 }), run({ islands: 2 })]);
    expect(baselineIndex(settings)).toBe(0);
  });

  it("a gradient baseline's runs (slt baseline) are compared, not the reference, while there is a GA setting", () => {
    const trained = (method: string, r: FakeRun, dir: string) => ({
      dir,
      config: { ...fakeConfig(r, dir), baseline: { method, epochs: 100 } },
    });
    const dense = trained("dense", { islands: 1 }, "/runs/a-dense");
    const ep = trained("edge-popup", { islands: 1 }, "/runs/b-ep");
    // in name order the dense run comes first; the GA's one population is still the reference
    expect(baselineIndex(groupSettings([dense, ep, run({ islands: 4 }), run({ islands: 1 })]))).toBe(3);
    expect(baselineIndex(groupSettings([dense, ep, run({ islands: 4 })]))).toBe(2);
    expect(baselineIndex(groupSettings([dense, ep]))).toBe(0);
    // named, a baseline is the reference
    const named = groupSettings([dense, run({ islands: 1 })], new Map([["/runs/a-dense", "dense"]]));
    expect(baselineIndex(named, "dense")).toBe(0);
  });
});
