import { describe, expect, it } from "vitest";
import { E_SNAPSHOT } from "../../src/core/errors.ts";
import { gaStateToJSON, initRun, step } from "../../src/core/ga/index.ts";
import {
  checkSnapshotJSON,
  ISLAND_SNAPSHOT_FORMAT,
  singlePopulationSnapshot,
  snapshotFromJSON,
  snapshotToJSON,
} from "../../src/core/island-snapshot.ts";
import { masksEqual } from "../../src/core/mask.ts";
import { Rng } from "../../src/core/rng.ts";
import { errorOf } from "../io/helpers.ts";
import { hashMetrics, spy, topology } from "./ga/fakes.ts";
import { snapshotOf } from "./protocol/fixtures.ts";

const G = 1000;
// biome-ignore lint/suspicious/noExplicitAny: snapshots are broken through their plain form
const plain = (mode: "async" | "lockstep" = "async"): any =>
  JSON.parse(JSON.stringify(snapshotOf(G, 3, 0, mode)));

describe("island snapshots", () => {
  it("round-trip through their plain form unchanged, masks, RNG states, counters and waiting immigrants included", () => {
    const json = snapshotOf(G, 3, 1);
    const s = snapshotFromJSON(JSON.parse(JSON.stringify(json)), G);
    expect(json.format).toBe(ISLAND_SNAPSHOT_FORMAT);
    expect(snapshotToJSON(s)).toEqual(json);
    expect(gaStateToJSON(s.ga)).toEqual(json.ga);
    expect(s.waiting).toHaveLength(1);
    expect(masksEqual(s.waiting[0].mask, s.ga.population[0].mask)).toBe(true);
    // the restored migration stream continues the saved one
    const a = Rng.restore(s.migrationRng);
    const b = Rng.restore(json.migrationRng);
    expect([a.next(), a.next()]).toEqual([b.next(), b.next()]);
    expect(s.counters).toEqual({ sent: 4, received: 3, accepted: 2, rejected: 1, dropped: 0 });
  });

  const cases: [string, (s: ReturnType<typeof plain>) => void, RegExp][] = [
    ["another format", (s) => (s.format = "slt-island/2"), /format must be "slt-island\/1"/],
    ["a missing field", (s) => delete s.counters, /counters is missing/],
    ["an extra field", (s) => (s.note = 1), /snapshot\.note is not a snapshot field/],
    ["another genome length", (s) => (s.ga.genomeLength = G + 1), /ga\.genomeLength must be 1000/],
    [
      "a mask of the wrong size",
      (s) => (s.ga.population[1].mask = "AAAA"),
      /ga\.population\[1\]\.mask must be 168/,
    ],
    ["a mask that is not base64", (s) => (s.waiting[0].mask = `${"*".repeat(168)}`), /waiting\[0\]\.mask/],
    ["a negative counter", (s) => (s.counters.dropped = -1), /counters\.dropped must be an integer/],
    ["an unknown origin", (s) => (s.ga.population[0].origin = "alien"), /origin must be one of/],
    ["a short RNG state", (s) => s.migrationRng.xg.X.pop(), /migrationRng\.xg\.X must hold 128 words/],
    [
      "a history longer than the generations",
      (s) => (s.ga.history = Array.from({ length: 6 }, () => s.ga.history[0])),
      /ga\.history holds 6 entries, more than 5/,
    ],
    // an empty history made a resumed island fail with a TypeError reading its last entry
    ["an empty history", (s) => (s.ga.history = []), /ga\.history must hold 5 entries/],
    [
      "a history entry with a made-up field",
      (s) => (s.ga.history[2].luck = 1),
      /ga\.history\[2\]\.luck is not a field of a generation's statistics/,
    ],
    [
      "a history entry without a field",
      (s) => delete s.ga.history[0].meanFitness,
      /ga\.history\[0\]\.meanFitness is missing/,
    ],
    [
      "an unknown generator",
      (s) => (s.ga.generator.kind = "magic"),
      /ga\.generator\.kind must be one of negligent/,
    ],
    [
      "an improvement after the generation",
      (s) => (s.lastImprovement = 99),
      /lastImprovement must be an integer in \[0, 4\]/,
    ],
    ["a non-number fitness", (s) => (s.bestSoFar = "high"), /bestSoFar must be a finite number/],
    ["an empty population", (s) => (s.ga.population = []), /ga\.population is empty/],
    ["not an object", (s) => (s.ga = [1]), /ga must be an object/],
  ];
  for (const [name, edit, pattern] of cases) {
    it(`refuses ${name} (E_SNAPSHOT, naming the field)`, () => {
      const s = plain();
      edit(s);
      const e = errorOf(() => snapshotFromJSON(s, G), E_SNAPSHOT);
      expect(e.message).toMatch(/^malformed island snapshot: /);
      expect(e.message).toMatch(pattern);
    });
  }

  it("a lockstep snapshot has no immigrants waiting", () => {
    const s = plain("lockstep");
    expect(checkSnapshotJSON(s, G).waiting).toEqual([]);
    s.waiting = plain("async").waiting;
    expect(errorOf(() => checkSnapshotJSON(s, G), E_SNAPSHOT).message).toMatch(/waiting must be empty/);
  });

  it("one population's snapshot: island 0, no migration, plateau tracking from its history", () => {
    const net = topology([3, 4, 2]);
    const deps = { evaluate: spy(hashMetrics(4)), network: net };
    for (const fitness of ["accuracy", "loss"] as const) {
      let ga = initRun({ population: 6, fitness }, deps, Rng.derive(9, "ga"));
      for (let g = 0; g < 12; g++) ga = step(ga, deps);
      const stream = Rng.derive(9, "migration").save();
      const s = singlePopulationSnapshot(ga, "lockstep", stream);
      expect(s).toMatchObject({
        island: 0,
        mode: "lockstep",
        epoch: 0,
        ga,
        migrationRng: stream,
        waiting: [],
      });
      expect(s.counters).toEqual({ sent: 0, received: 0, accepted: 0, rejected: 0, dropped: 0 });
      // as an island that made the same generations would have tracked it: the first generation at the best
      const fits = ga.history.map((h) => h.bestFitness);
      const best = fitness === "accuracy" ? Math.max(...fits) : Math.min(...fits);
      expect(s.bestSoFar).toBe(best);
      expect(s.lastImprovement).toBe(fits.indexOf(best));
      const json = JSON.parse(JSON.stringify(snapshotToJSON(s)));
      expect(snapshotToJSON(snapshotFromJSON(json, net.genomeLength))).toEqual(json);
    }
  });
});
