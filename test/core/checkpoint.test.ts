import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CONFIG_FIELDS_RESUME_MAY_CHANGE,
  canonicalJson,
  checkCheckpointConfig,
  configDifferences,
  configHash,
  parseRunCheckpoint,
  RUN_CHECKPOINT_FORMAT,
  type RunCheckpoint,
  runCheckpointError,
} from "../../src/core/checkpoint.ts";
import { resolveConfig } from "../../src/core/config.ts";
import { E_CHECKPOINT, SltError } from "../../src/core/errors.ts";

function valid(): RunCheckpoint {
  return {
    format: RUN_CHECKPOINT_FORMAT,
    createdAt: "2026-12-07T05:30:00.123Z",
    runId: "run-abc",
    configHash: "a".repeat(64),
    mode: "lockstep",
    epoch: 4,
    generation: 20,
    coordinator: { members: [0, 1], totals: { evaluations: 1234 } },
    islands: [
      { id: 0, snapshot: { ga: { format: "slt-ga/1" } } },
      { id: 1, snapshot: {} },
    ],
  };
}

function thrown(f: () => unknown): SltError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SltError);
    return e as SltError;
  }
  throw new Error("expected an error");
}

describe("the run checkpoint envelope", () => {
  it("accepts a valid checkpoint (generation optional, bodies opaque)", () => {
    expect(runCheckpointError(valid())).toBeNull();
    const { generation: _, ...async } = { ...valid(), mode: "async" as const };
    expect(runCheckpointError(async)).toBeNull();
    const c = valid();
    expect(parseRunCheckpoint(c, "checkpoint.json")).toBe(c);
  });

  it("survives a JSON round trip", () => {
    expect(runCheckpointError(JSON.parse(JSON.stringify(valid())))).toBeNull();
  });

  const cases: [string, (c: Record<string, unknown>) => unknown, string][] = [
    ["not an object", () => [1], "not a run checkpoint: expected a JSON object, got an array"],
    ["null", () => null, "not a run checkpoint: expected a JSON object, got null"],
    [
      "no format",
      ({ format: _, ...c }) => c,
      'not a run checkpoint of this version: format is missing, expected "slt-run-checkpoint/1"',
    ],
    [
      "another version",
      (c) => ({ ...c, format: "slt-run-checkpoint/2" }),
      'not a run checkpoint of this version: format is "slt-run-checkpoint/2", expected "slt-run-checkpoint/1"',
    ],
    ["a bad date", (c) => ({ ...c, createdAt: "yesterday" }), "invalid run checkpoint: createdAt: "],
    [
      "a bad hash",
      (c) => ({ ...c, configHash: "xyz" }),
      "invalid run checkpoint: configHash: expected 64 lowercase hex digits (sha256)",
    ],
    ["an unknown mode", (c) => ({ ...c, mode: "sync" }), "invalid run checkpoint: mode: "],
    ["a negative epoch", (c) => ({ ...c, epoch: -1 }), "invalid run checkpoint: epoch: "],
    ["a fractional generation", (c) => ({ ...c, generation: 2.5 }), "invalid run checkpoint: generation: "],
    [
      "an array as coordinator",
      (c) => ({ ...c, coordinator: [] }),
      "invalid run checkpoint: coordinator: expected a JSON object",
    ],
    ["no islands", (c) => ({ ...c, islands: [] }), "invalid run checkpoint: islands: "],
    [
      "a snapshot that is not an object",
      (c) => ({ ...c, islands: [{ id: 0, snapshot: "x" }] }),
      'invalid run checkpoint: islands[0].snapshot: expected a JSON object, got "x"',
    ],
    [
      "repeated island ids",
      (c) => ({
        ...c,
        islands: [
          { id: 3, snapshot: {} },
          { id: 3, snapshot: {} },
        ],
      }),
      "invalid run checkpoint: islands[1].id: island ids must ascend without repeats, got 3 then 3",
    ],
    [
      "an extra field",
      (c) => ({ ...c, extra: 1 }),
      'invalid run checkpoint: (top level): Unrecognized key: "extra"',
    ],
    ["several problems", (c) => ({ ...c, epoch: "x", runId: "" }), 'got "" (and 1 more problem)'],
  ];
  it.each(cases)("refuses %s with one clear line", (_name, change, message) => {
    const error = runCheckpointError(change(valid() as unknown as Record<string, unknown>));
    expect(error).toContain(message);
    expect(error).not.toContain("\n");
    const e = thrown(() =>
      parseRunCheckpoint(change(valid() as unknown as Record<string, unknown>), "/runs/x/checkpoint.json"),
    );
    expect(e.code).toBe(E_CHECKPOINT);
    expect(e.message).toBe(`/runs/x/checkpoint.json: ${error}`);
  });
});

describe("the configuration hash", () => {
  const config = resolveConfig({ source: "test", patch: { dataset: { name: "moons" }, seed: 5 } });

  it("is sha256 hex, and the same for the config after a JSON round trip and in another key order", () => {
    const h = configHash(config);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(configHash(JSON.parse(JSON.stringify(config)))).toBe(h);
    const reordered = Object.fromEntries(Object.entries(config).reverse());
    expect(configHash(reordered)).toBe(h);
  });

  it("ignores what a resume may change and the run's bookkeeping", () => {
    const changed = {
      ...config,
      name: "other",
      out: "elsewhere",
      runDir: "/runs/other",
      startTime: "2026-12-07T00:00:00.000Z",
      versions: { node: "v1" },
      dataset: { ...config.dataset, resolved: { rows: 3 } },
      termination: { ...config.termination, maxGenerations: 999, maxEvaluations: 10 },
      cluster: { ...config.cluster, islands: 7, timeLimitSeconds: 60 },
    };
    expect(configHash(changed)).toBe(configHash(config));
    expect(configDifferences(config, changed)).toEqual([]);
    expect(CONFIG_FIELDS_RESUME_MAY_CHANGE).toContain("cluster.islands");
  });

  it("changes with anything else, and the differences name the fields", () => {
    const changed = {
      ...config,
      seed: 6,
      ga: { ...config.ga, population: 50 },
      cluster: { ...config.cluster, mode: "lockstep" as const },
    };
    expect(configHash(changed)).not.toBe(configHash(config));
    expect(configDifferences(config, changed)).toEqual([
      'cluster.mode: "async" → "lockstep"',
      "ga.population: 100 → 50",
      "seed: 5 → 6",
    ]);
    const { fitnessSubset: _, ...ga } = { ...config.ga, fitnessSubset: undefined };
    expect(configDifferences({ ...config, ga }, { ...config, ga: { ...ga, extra: [1, 2] } })).toEqual([
      "ga.extra: absent → [1,2]",
    ]);
  });

  it("canonicalJson sorts keys at every level and keeps array order", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[3,{"y":2,"z":1}]},"b":1}',
    );
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(JSON.parse(canonicalJson(v))).toEqual(JSON.parse(JSON.stringify(v)));
      }),
    );
  });

  it("checkCheckpointConfig passes the same configuration and names the differing fields otherwise", () => {
    const checkpoint = { configHash: configHash(config) };
    expect(() =>
      checkCheckpointConfig(checkpoint, { ...config, name: "renamed" }, "runs/x/checkpoint.json"),
    ).not.toThrow();
    const other = { ...config, ga: { ...config.ga, mutationRate: 0.2 } };
    const e = thrown(() => checkCheckpointConfig(checkpoint, other, "runs/x/checkpoint.json", config));
    expect(e.code).toBe(E_CHECKPOINT);
    expect(e.message).toBe(
      `runs/x/checkpoint.json was made under another configuration (config hash ${configHash(config).slice(0, 12)}, this run's ${configHash(other).slice(0, 12)}); fields that differ from the run's: ga.mutationRate: 0.1 → 0.2; only termination.maxGenerations, termination.maxEvaluations, cluster.islands, cluster.timeLimitSeconds, cluster.maxRestarts, checkpointEvery may change on resume`,
    );
    // without the run's recorded configuration (or with one that is not the checkpoint's) only the hashes
    const bare = thrown(() => checkCheckpointConfig(checkpoint, other, "c.json", other));
    expect(bare.message).not.toContain("fields that differ");
  });
});
