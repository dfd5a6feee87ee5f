// The island's evolving state is complete: running G generations straight gives exactly what running
// to g, taking a snapshot, sending it through JSON and through a msgpack checkpoint frame, restoring
// it and running on to G gives (populations, RNG states, counters, epoch), for lockstep and async.
// In-process: two islands on a ring, their synchronies wired to each other, the GA on fake metrics.
import { describe, expect, it } from "vitest";
import type { Metrics } from "../../src/core/evaluate.ts";
import { gaStateToJSON, type Individual, makeIndividual } from "../../src/core/ga/index.ts";
import {
  type IslandSnapshot,
  type MigrationCounters,
  snapshotFromJSON,
  snapshotToJSON,
} from "../../src/core/island-snapshot.ts";
import { type Mask, randomMask } from "../../src/core/mask.ts";
import { isMigrationGeneration, parseSelectionPolicy } from "../../src/core/migration.ts";
import { decode, encode, type Message, makeMessage } from "../../src/core/protocol/index.ts";
import { Rng } from "../../src/core/rng.ts";
import { AsyncSynchrony } from "../../src/island/async-synchrony.ts";
import { Evolution, type EvolutionSettings } from "../../src/island/evolution.ts";
import { LockstepSynchrony } from "../../src/island/lockstep-synchrony.ts";
import type { Synchrony } from "../../src/island/synchrony.ts";
import { hashMetrics, topology } from "../core/ga/fakes.ts";

const net = topology([4, 6, 3]);
const metrics: (m: Mask) => Metrics = hashMetrics(8);
const deps = {
  evaluate: async (masks: readonly Mask[]) => masks.map(metrics),
  network: net,
  lossOf: (masks: readonly Mask[]) => masks.map((m) => metrics(m).loss),
};
const INTERVAL = 3;
/** async: island 1 migrates a generation later, so its inbox holds arrivals at a cut */
const OFFSETS = [0, 1];

type Mode = "async" | "lockstep";

function settings(island: number, mode: Mode): EvolutionSettings {
  return {
    island,
    ga: { population: 12, mutationRate: 0.3, newcomerFraction: 0.2, fitness: "loss" },
    mode,
    fitness: "loss",
    selection: parseSelectionPolicy("tournament"),
    replacement: "random",
    emigration: { weights: "probability", k: 3, maxPerMessage: 8, seedStream: `s/island/${island}`, island },
    ownRule: { rule: "none", ruleCap: null },
  };
}

interface Member {
  evo: Evolution;
  sync: Synchrony;
  counters: MigrationCounters;
}

/** Two islands on a ring (0 ⇄ 1), each one's synchrony delivering straight into the other's. */
function ring(
  mode: Mode,
  make: (id: number, counters: MigrationCounters) => Promise<Evolution> | Evolution,
  resumed?: IslandSnapshot[],
) {
  const members: Member[] = [];
  const build = async () => {
    for (const id of [0, 1]) {
      const counters = { sent: 0, received: 0, accepted: 0, rejected: 0, dropped: 0 };
      const send = (n: number, epoch: number, migrants: readonly Individual[]) => {
        counters.sent += migrants.length;
        members[n].sync.arrive(id, epoch, migrants);
      };
      const common = { send, counters, inNeighbours: [1 - id] };
      const sync: Synchrony =
        mode === "lockstep"
          ? new LockstepSynchrony({
              ...common,
              expectMigrants: true,
              integratedEpoch: resumed?.[id].epoch ?? 0,
            })
          : new AsyncSynchrony({ ...common, capacity: 64, waiting: resumed?.[id].waiting ?? [] });
      members.push({ evo: undefined as unknown as Evolution, sync, counters });
      members[id].evo = await make(id, counters);
    }
    return members;
  };
  return build();
}

/** One island's generations up to `to`: step, and at a migration generation emigrate → emit → collect → integrate. */
async function islandTo(m: Member, id: number, offset: number, to: number): Promise<void> {
  while (m.evo.generation < to) {
    await m.evo.step();
    if (!isMigrationGeneration(m.evo.generation, INTERVAL, offset)) continue;
    const { epoch, emission } = m.evo.emigrate([{ island: 1 - id, weight: 0.7 }]);
    m.sync.emit(epoch, emission);
    await m.evo.integrate(await m.sync.collect(epoch));
  }
}

/**
 * Both islands up to generation `to`. Lockstep: each island on its own, concurrently, as island
 * processes run (the barriers make the result independent of the interleaving). Async: round by round
 * in island order, so that arrivals (and the cut) do not depend on the interleaving.
 */
async function runTo(members: Member[], mode: Mode, to: number): Promise<void> {
  if (mode === "lockstep") {
    await Promise.all(members.map((m, id) => islandTo(m, id, 0, to)));
    return;
  }
  for (let g = members[0].evo.generation + 1; g <= to; g++)
    for (const [id, m] of members.entries()) await islandTo(m, id, OFFSETS[id], g);
}

/** A snapshot's trip through a checkpoint frame (msgpack) and a JSON file, back to memory. */
function roundTrip(s: IslandSnapshot, genomeLength: number): IslandSnapshot {
  const frame = encode(
    makeMessage(
      "checkpoint",
      { runId: "r", from: `island-${s.island}`, epoch: s.epoch, seq: 1 },
      {
        island: s.island,
        final: false,
        snapshot: snapshotToJSON(s),
      },
    ) as Message,
  );
  const r = decode(frame, { runId: "r", genomeLength, maxMigrants: 0, maxSnapshotBytes: 1 << 24 });
  if (!r.ok || r.message.type !== "checkpoint") throw new Error(`checkpoint refused: ${JSON.stringify(r)}`);
  return snapshotFromJSON(JSON.parse(JSON.stringify(r.message.body.snapshot)), genomeLength);
}

function view(m: Member) {
  const s = m.evo.snapshot(m.sync.waiting());
  return { ...snapshotToJSON(s), counters: { ...m.counters } };
}

describe("island snapshots are exact", () => {
  for (const mode of ["lockstep", "async"] as const) {
    it(`${mode}: G generations straight equal g, snapshot, restore, G − g`, async () => {
      const G = 20;
      // lockstep: at a barrier of both; async: after island 0's migration, before island 1's (arrivals wait)
      const g = mode === "lockstep" ? 12 : 9;
      const start = (id: number, c: MigrationCounters) =>
        Evolution.start(settings(id, mode), deps, new Rng(`s/island/${id}`), c);
      const straight = await ring(mode, start);
      await runTo(straight, mode, G);

      const first = await ring(mode, start);
      await runTo(first, mode, g);
      const snaps = first.map((m) => roundTrip(m.evo.snapshot(m.sync.waiting()), net.genomeLength));
      if (mode === "async") expect(snaps[1].waiting.length).toBeGreaterThan(0);
      for (const [id, s] of snaps.entries()) {
        expect(s.counters).toEqual(first[id].counters);
        expect(gaStateToJSON(s.ga)).toEqual(gaStateToJSON(first[id].evo.state));
      }
      const resumed = await ring(
        mode,
        (id, c) => Evolution.restore(settings(id, mode), deps, snaps[id], c),
        snaps,
      );
      await runTo(resumed, mode, G);

      for (const id of [0, 1]) {
        expect(view(resumed[id])).toEqual(view(straight[id]));
        expect(resumed[id].evo.epoch).toBe(straight[id].evo.epoch);
        expect(resumed[id].evo.stalledGenerations).toBe(straight[id].evo.stalledGenerations);
      }
      expect(straight[0].counters.accepted + straight[0].counters.rejected).toBeGreaterThan(0);
    });
  }
});

describe("immigrants' claimed metrics never compete", () => {
  it("a forged immigrant (accuracy 1, loss 0) is scored by the island's own evaluator, and counted", async () => {
    const counters = { sent: 0, received: 0, accepted: 0, rejected: 0, dropped: 0 };
    const evo = await Evolution.start(settings(0, "async"), deps, new Rng("s/island/0"), counters);
    await evo.step();
    const before = evo.state.evaluations;
    const mask = randomMask(net.genomeLength, Rng.derive(9, "forged"));
    const forged = makeIndividual(mask, { accuracy: 1, loss: 0 }, "immigrant", 0);
    const placed = await evo.integrate([forged]);
    // what integrate says entered the population is what did
    expect([...placed]).toEqual(counters.accepted === 1 ? [forged.hash] : []);
    expect(evo.state.evaluations).toBe(before + 1);
    expect(evo.state.history[evo.state.history.length - 1].evaluations).toBe(before + 1);
    const held = evo.state.population.filter((ind) => ind.hash === forged.hash);
    expect(counters.accepted + counters.rejected).toBe(1);
    expect(held.length).toBe(counters.accepted);
    for (const ind of held) expect({ accuracy: ind.accuracy, loss: ind.loss }).toEqual(metrics(mask));
    expect(evo.state.population.some((ind) => ind.loss === 0 && ind.accuracy === 1)).toBe(false);
  });
});
