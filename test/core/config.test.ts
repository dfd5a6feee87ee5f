import { describe, expect, it } from "vitest";
import { PRESETS, resolveConfig } from "../../src/core/config.ts";
import { SltError } from "../../src/core/errors.ts";

const cli = (patch: unknown) => ({ source: "command line", patch });

function configError(...patches: unknown[]): SltError {
  try {
    resolveConfig(...patches.map(cli));
  } catch (e) {
    expect(e).toBeInstanceOf(SltError);
    expect((e as SltError).code).toBe("E_CONFIG");
    return e as SltError;
  }
  throw new Error("expected a configuration error");
}

describe("config", () => {
  it("defaults to the papers' moons task with the 2025 binary settings", () => {
    const c = resolveConfig();
    expect(c.dataset.name).toBe("moons");
    expect(c.preset).toBe("2025-binary");
    expect(c.network.architecture).toEqual([2, 75, 2]);
    expect(c.network.init).toEqual({ kind: "uniform", range: 1 });
    expect(c.ga).toMatchObject({
      population: 100,
      crossoverRate: 0.3,
      eliteFraction: 0.3,
      mutationRate: 0.1,
      newcomerFraction: 0.1,
      fitness: "accuracy",
    });
    expect(c.termination).toMatchObject({ rule: "2025-binary", maxGenerations: 300 });
    expect(c.network.seed).toBe(c.seed);
    expect(c.name).toBe("moons-2x75x2-s1");
  });

  it("picks the multi-class preset and architecture for digits and blobs", () => {
    const d = resolveConfig(cli({ dataset: { name: "digits-10" } }));
    expect(d.preset).toBe("2025-multiclass");
    expect(d.ga.fitness).toBe("loss");
    expect(d.network.architecture).toEqual([64, 75, 10]);
    expect(resolveConfig(cli({ dataset: { name: "blobs-4" } })).network.architecture).toEqual([2, 100, 4]);
  });

  it("layers override in order: preset < file < flags", () => {
    const c = resolveConfig(
      { source: "file.json", patch: { preset: "2024-adaptive", seed: 5, ga: { population: 50 } } },
      cli({ seed: 9 }),
    );
    expect(c.seed).toBe(9);
    expect(c.ga.population).toBe(50);
    expect(c.ga.generator).toEqual({ kind: "adaptive-bound" });
    expect(c.termination.maxGenerations).toBe(200);
    expect(c.dataset.variant).toBe("2024");
  });

  it("a different generator kind replaces the preset's generator fields", () => {
    const c = resolveConfig(cli({ preset: "2024-static", ga: { generator: { kind: "negligent" } } }));
    expect(c.ga.generator).toEqual({ kind: "negligent" });
  });

  it("every preset resolves", () => {
    for (const name of Object.keys(PRESETS)) expect(resolveConfig(cli({ preset: name })).preset).toBe(name);
  });

  it("rejects bad values naming the field, the value and what is allowed", () => {
    expect(configError({ ga: { population: 0 } }).message).toMatch(/ga\.population: got 0; .*>=?\s*2/);
    expect(configError({ ga: { fitness: "speed" } }).message).toMatch(
      /ga\.fitness: got "speed"; .*"accuracy".*"loss"/,
    );
    expect(configError({ ga: { crossoverRate: 1.5 } }).message).toMatch(/ga\.crossoverRate: got 1\.5/);
    expect(configError({ seed: -1 }).message).toMatch(/seed: got -1/);
    expect(configError({ network: { architecture: [2, 0, 2] } }).message).toMatch(
      /network\.architecture\.1: got 0/,
    );
    expect(configError({ network: { init: { kind: "xavier" } } }).message).toMatch(
      /network\.init\.kind: got "xavier"/,
    );
    expect(configError({ prune: "always" }).message).toMatch(/prune: got "always"/);
    expect(configError({ preset: "2023" }).message).toMatch(/preset: got "2023"; allowed: 2024-ga/);
    expect(configError({ name: "../escape" }).message).toMatch(/name: got "\.\.\/escape"/);
  });

  it("rejects unknown keys and inconsistent dataset choices", () => {
    expect(configError({ ga: { popsize: 10 } }).message).toMatch(/ga\.popsize: unknown field/);
    expect(configError({ dataset: { train: "a.csv" } }).message).toMatch(
      /dataset\.test: got missing; train and test files must be given together/,
    );
    expect(configError({ dataset: { name: "moons", train: "a.csv", test: "b.csv" } }).message).toMatch(
      /not both/,
    );
    expect(configError({ dataset: { train: "a.csv", test: "b.csv" } }).message).toMatch(
      /network\.architecture: missing/,
    );
    expect(configError([1, 2]).message).toMatch(/expected a JSON object/);
  });

  it("rejects 0 migrants on any topology that has edges to carry them", () => {
    for (const topology of ["ring", "full", "torus", "er:0.5"]) {
      expect(configError({ cluster: { topology, migrants: 0 } }).message).toMatch(
        new RegExp(
          `cluster\\.migrants: got 0 with topology ${topology.replace(".", "\\.")}.*allowed 1\\.\\.1024, or 0 only with topology "isolated"`,
        ),
      );
    }
    // the default topology (ring) too, and an edge list with edges
    expect(configError({ cluster: { migrants: 0 } }).message).toMatch(
      /cluster\.migrants: got 0 with topology ring/,
    );
    const ring3 = {
      n: 3,
      edges: [
        [0, 1],
        [1, 2],
        [2, 0],
      ],
    };
    expect(configError({ cluster: { topology: ring3, migrants: 0 } }).message).toMatch(
      /cluster\.migrants: got 0/,
    );
    expect(resolveConfig(cli({ cluster: { topology: "isolated", migrants: 0 } })).cluster.migrants).toBe(0);
    expect(
      resolveConfig(cli({ cluster: { topology: { n: 2, edges: [] }, migrants: 0 } })).cluster.migrants,
    ).toBe(0);
    expect(resolveConfig(cli({ cluster: { topology: "ring", migrants: 1 } })).cluster.migrants).toBe(1);
  });

  it("takes a custom edge list inline, its island count with it, and checks it", () => {
    const edges = {
      n: 3,
      weights: "count",
      edges: [
        [0, 1, 2],
        [1, 2],
        [2, 0],
      ],
    };
    const c = resolveConfig(cli({ cluster: { topology: edges } }));
    expect(c.cluster.islands).toBe(3);
    expect(c.cluster.topology).toEqual(edges);
    expect(configError({ cluster: { topology: edges, islands: 4 } }).message).toMatch(
      /cluster\.topology: cluster\.islands is 4, but the custom topology has n = 3 islands/,
    );
    expect(configError({ cluster: { topology: { n: 3, edges: [[0, 0]] } } }).message).toMatch(
      /cluster\.topology: custom topology: edges\[0\] is a self-loop/,
    );
    expect(configError({ cluster: { topology: "moebius" } }).message).toMatch(
      /cluster\.topology: topology "moebius"/,
    );
    expect(configError({ cluster: { topology: edges, migrationProbability: 0.5 } }).message).toMatch(
      /a migration probability applies to built-in topologies/,
    );
    expect(resolveConfig(cli({ cluster: { migrationProbability: 0.5 } })).cluster.migrationProbability).toBe(
      0.5,
    );
    expect(configError({ cluster: { migrationProbability: 0 } }).message).toMatch(
      /cluster\.migrationProbability: got 0/,
    );
  });
});

describe("lockstep with staggered migrations", () => {
  const lockstep = (maxGenerations: number, islands = 2) => ({
    cluster: { islands, mode: "lockstep", interval: 5, stagger: "staggered" },
    termination: { maxGenerations },
  });

  it("refuses a cap at which the islands would migrate unequally often (one would wait forever)", () => {
    const e = configError(lockstep(14));
    expect(e.code).toBe("E_CONFIG");
    expect(e.message).toMatch(
      /termination\.maxGenerations: .* 14 generations at interval 5 give 2 islands between 2 and 3 migrations .* e\.g\. 10 or 15$/,
    );
    expect(configError(lockstep(7, 5)).message).toMatch(/between 1 and 2 migrations/);
  });

  it("accepts a multiple of the interval, and any cap without stagger or in async mode", () => {
    for (const cap of [10, 15, 300])
      expect(resolveConfig(cli(lockstep(cap))).termination.maxGenerations).toBe(cap);
    expect(
      resolveConfig(cli({ cluster: { islands: 2, mode: "lockstep" }, termination: { maxGenerations: 14 } })),
    ).toBeTruthy();
    expect(
      resolveConfig(
        cli({
          cluster: { islands: 2, mode: "async", stagger: "staggered" },
          termination: { maxGenerations: 14 },
        }),
      ),
    ).toBeTruthy();
  });
});

describe("config: prototype keys", () => {
  it('refuses {"ga":{"__proto__":{"population":7}}} as JSON.parse reads it, naming the path', () => {
    const patch = JSON.parse('{"ga":{"__proto__":{"population":7}}}');
    const e = configError(patch);
    expect(e.message).toMatch(/ga\.__proto__: "__proto__", "constructor" and "prototype" are not allowed/);
    expect(e.message.split("\n")).toHaveLength(1);
  });

  it("refuses constructor keys, at the top and deep in arrays", () => {
    expect(configError(JSON.parse('{"constructor":{"prototype":{"x":1}}}')).message).toMatch(
      /\(command line\): constructor:/,
    );
    expect(
      configError(JSON.parse('{"cluster":{"topology":{"n":2,"edges":[{"constructor":1}]}}}')).message,
    ).toMatch(/cluster\.topology\.edges\[0\]\.constructor:/);
  });

  it("a refused key leaves no trace on Object.prototype or later configurations", () => {
    configError(JSON.parse('{"__proto__":{"population":7}}'));
    expect(({} as Record<string, unknown>).population).toBeUndefined();
    expect(resolveConfig().ga.population).not.toBe(7);
  });
});
