// The coordinator's run checkpoints without processes: which snapshots make a cut (lockstep: one epoch
// of every live island; async: every live island fresh), when cuts are written (every cut, or at most
// one per interval with the final one always), one write at a time, and failed writes logged.
import { describe, expect, it } from "vitest";
import {
  type Cut,
  checkpointPlan,
  DEFAULT_EVERY_MIN,
  defaultCheckpointEvery,
  type LiveIslands,
  RunCheckpoints,
  type RunCheckpointsOptions,
} from "../../src/coordinator/run-checkpoints.ts";
import { resolveConfig } from "../../src/core/config.ts";
import { E_CHECKPOINT, SltError } from "../../src/core/errors.ts";
import type { IslandSnapshotJSON } from "../../src/core/island-snapshot.ts";
import { captureLogger } from "../../src/io/log.ts";

/** A stand-in snapshot: only what the cut logic reads (epoch, generation, counters). */
function snap(island: number, epoch: number, generation: number): IslandSnapshotJSON {
  return {
    island,
    epoch,
    ga: { generation, evaluations: 10 * generation },
    counters: { sent: 0, received: 0, accepted: 0, rejected: 0, dropped: 0 },
  } as unknown as IslandSnapshotJSON;
}

const live = (ids: number[], finished: number[] = []): LiveIslands => ({ ids, finished });

interface Harness {
  readonly cp: RunCheckpoints;
  readonly cuts: Cut[];
  readonly events: Record<string, unknown>[];
  /** advances the fake clock */
  tick(ms: number): void;
  /** writes started but not finished, when `hold` is set */
  readonly held: (() => void)[];
  readonly logs: () => Record<string, unknown>[];
}

function harness(
  mode: "async" | "lockstep",
  o: { minIntervalMs?: number; hold?: boolean; fail?: (n: number) => boolean } = {},
): Harness {
  let now = 0;
  const cuts: Cut[] = [];
  const events: Record<string, unknown>[] = [];
  const held: (() => void)[] = [];
  const { logger, records } = captureLogger();
  const write: RunCheckpointsOptions["write"] = async (cut) => {
    cuts.push(cut);
    if (o.hold) await new Promise<void>((resolve) => held.push(resolve));
    if (o.fail?.(cuts.length))
      throw new SltError(E_CHECKPOINT, "cannot write checkpoint x: ENOSPC; the previous checkpoint is kept");
    return { file: "/run/checkpoint.json", bytes: 100, sha256: "ab" };
  };
  const cp = new RunCheckpoints({
    mode,
    minIntervalMs: o.minIntervalMs ?? 0,
    write,
    event: (e) => events.push(e),
    logger,
    clock: () => now,
  });
  return {
    cp,
    cuts,
    events,
    held,
    tick: (ms) => {
      now += ms;
    },
    logs: () => records,
  };
}

/** lets writes that are done settle */
const settle = () => new Promise((r) => setImmediate(r));
const epochsOf = (cuts: Cut[]) => cuts.map((c) => c.epoch);
const idsOf = (c: Cut) => c.islands.map((i) => i.id);

describe("RunCheckpoints: lockstep", () => {
  it("writes a cut once every live island has sent its snapshot of one epoch, ahead or behind", async () => {
    const h = harness("lockstep");
    const all = live([0, 1, 2]);
    h.cp.offer(0, snap(0, 2, 10), false, all);
    h.cp.offer(1, snap(1, 2, 10), false, all);
    h.cp.offer(0, snap(0, 4, 20), false, all); // island 0 runs ahead
    expect(h.cuts).toEqual([]);
    h.cp.offer(2, snap(2, 2, 10), false, all);
    await h.cp.finish(live([]));
    expect(epochsOf(h.cuts)).toEqual([2]);
    expect(h.cuts[0]).toMatchObject({ epoch: 2, generation: 10, final: false });
    expect(idsOf(h.cuts[0])).toEqual([0, 1, 2]);
    expect(h.events[0]).toMatchObject({
      type: "checkpoint",
      epoch: 2,
      generations: [10, 10],
      islands: 3,
      file: "checkpoint.json",
      bytes: 100,
      sha256: "ab",
    });
  });

  it("a lost island no longer counts: the pending cut of the others is written", async () => {
    const h = harness("lockstep");
    h.cp.offer(0, snap(0, 2, 10), false, live([0, 1, 2]));
    h.cp.offer(2, snap(2, 2, 10), false, live([0, 1, 2]));
    h.cp.liveChanged(live([0, 2]));
    await h.cp.finish(live([0, 2]));
    expect(h.cuts.map(idsOf)).toEqual([[0, 2]]);
  });

  it("an older epoch completed after a newer one is not written", async () => {
    const h = harness("lockstep");
    const two = live([0, 1]);
    h.cp.offer(0, snap(0, 2, 10), false, two);
    h.cp.offer(0, snap(0, 4, 20), false, two);
    h.cp.offer(1, snap(1, 4, 20), false, two);
    h.cp.offer(1, snap(1, 2, 10), false, two);
    await h.cp.finish(live([]));
    expect(epochsOf(h.cuts)).toEqual([4]);
  });

  it("final snapshots make a cut only when every island stopped at the same epoch and generation", async () => {
    const apart = harness("lockstep");
    const two = live([0, 1]);
    apart.cp.offer(0, snap(0, 2, 10), false, two);
    apart.cp.offer(1, snap(1, 2, 10), false, two);
    apart.cp.offer(0, snap(0, 3, 14), true, two);
    apart.cp.offer(1, snap(1, 2, 12), true, two);
    await apart.cp.finish(two);
    expect(apart.cuts.map((c) => [c.epoch, c.final])).toEqual([[2, false]]);

    const together = harness("lockstep");
    together.cp.offer(0, snap(0, 16, 80), true, two);
    together.cp.offer(1, snap(1, 16, 80), true, two);
    await together.cp.finish(two);
    expect(together.cuts.map((c) => [c.epoch, c.generation, c.final])).toEqual([[16, 80, true]]);

    // stopped right at the last barrier cut: nothing to add
    const atCut = harness("lockstep");
    atCut.cp.offer(0, snap(0, 16, 80), false, two);
    atCut.cp.offer(1, snap(1, 16, 80), false, two);
    atCut.cp.offer(0, snap(0, 16, 80), true, two);
    atCut.cp.offer(1, snap(1, 16, 80), true, two);
    await atCut.cp.finish(two);
    expect(atCut.cuts.map((c) => [c.epoch, c.final])).toEqual([[16, false]]);
  });
});

describe("RunCheckpoints: async", () => {
  it("a cut once every live island sent a snapshot since the last; finished islands count with their latest", async () => {
    const h = harness("async");
    const two = live([0, 1]);
    h.cp.offer(0, snap(0, 1, 5), false, two);
    h.cp.offer(0, snap(0, 2, 10), false, two);
    expect(h.cuts).toEqual([]);
    h.cp.offer(1, snap(1, 1, 7), false, two);
    h.cp.offer(0, snap(0, 3, 15), false, live([0, 1], [1]));
    await h.cp.finish(live([]));
    expect(h.cuts.map((c) => c.islands.map((i) => i.snapshot.ga.generation))).toEqual([
      [10, 7],
      [15, 7],
    ]);
    expect(h.cuts[0]).toMatchObject({ epoch: 2, generation: null });
  });

  it("the final cut is written once, whatever the interval", async () => {
    const h = harness("async", { minIntervalMs: 120_000 });
    const two = live([0, 1]);
    h.cp.offer(0, snap(0, 1, 5), false, two);
    h.cp.offer(1, snap(1, 1, 5), false, two); // the first cut: written at once
    h.tick(1000);
    h.cp.offer(0, snap(0, 2, 9), true, live([0, 1], [1])); // waits for the interval
    h.cp.offer(1, snap(1, 2, 9), true, live([0, 1], [0])); // final: written at once
    await h.cp.finish(live([0, 1], [0, 1]));
    expect(h.cuts.map((c) => [c.epoch, c.final])).toEqual([
      [1, false],
      [2, true],
    ]);
  });
});

describe("RunCheckpoints: writes", () => {
  it("at most one write per interval: a waiting cut is replaced by a newer one; finish writes the newest", async () => {
    const h = harness("lockstep", { minIntervalMs: 120_000 });
    const one = live([0]);
    h.cp.offer(0, snap(0, 2, 10), false, one);
    await settle();
    h.tick(60_000);
    h.cp.offer(0, snap(0, 4, 20), false, one);
    h.tick(30_000);
    h.cp.offer(0, snap(0, 6, 30), false, one);
    await settle();
    expect(epochsOf(h.cuts)).toEqual([2]);
    h.tick(30_000);
    h.cp.offer(0, snap(0, 8, 40), false, one);
    await settle();
    expect(epochsOf(h.cuts)).toEqual([2, 8]);
    h.tick(1000);
    h.cp.offer(0, snap(0, 10, 50), false, one);
    await h.cp.finish(one);
    expect(epochsOf(h.cuts)).toEqual([2, 8, 10]);
  });

  it("never two writes at once: a cut ready during a write is written after it", async () => {
    const h = harness("lockstep", { hold: true });
    const one = live([0]);
    h.cp.offer(0, snap(0, 2, 10), false, one);
    h.cp.offer(0, snap(0, 4, 20), false, one);
    h.cp.offer(0, snap(0, 6, 30), false, one);
    expect(epochsOf(h.cuts)).toEqual([2]);
    const done = h.cp.finish(one);
    h.held.shift()?.();
    await settle();
    expect(epochsOf(h.cuts)).toEqual([2, 6]);
    h.held.shift()?.();
    await done;
    expect(h.cp.writes).toBe(2);
  });

  it("a failed write is logged and the run's checkpoints go on", async () => {
    const h = harness("lockstep", { fail: (n) => n === 1 });
    const one = live([0]);
    h.cp.offer(0, snap(0, 2, 10), false, one);
    await settle();
    h.cp.offer(0, snap(0, 4, 20), false, one);
    await h.cp.finish(one);
    expect(h.events.map((e) => e.type)).toEqual(["checkpoint-failed", "checkpoint"]);
    expect(h.events[0]).toMatchObject({ epoch: 2, reason: expect.stringMatching(/ENOSPC/) });
    expect(h.logs().find((r) => r.msg === "checkpoint not written; the previous one is kept")).toMatchObject({
      epoch: 2,
      reason: expect.stringMatching(/previous checkpoint is kept/),
    });
    expect(h.cp.writes).toBe(1);
  });
});

describe("the checkpoint plan", () => {
  it("an explicit checkpointEvery: islands snapshot that often and every cut is written", () => {
    const config = resolveConfig({ source: "t", patch: { checkpointEvery: 10, cluster: { islands: 3 } } });
    expect(checkpointPlan(config, 300, 50_000, 2)).toMatchObject({ every: 10, minIntervalMs: 0 });
  });

  it("the default: minutes of an island's work in whole intervals, at most one write per two minutes", () => {
    const config = resolveConfig({ source: "t", patch: { cluster: { islands: 3, interval: 5 } } });
    const plan = checkpointPlan(config, 300, 50_000, 2);
    expect(plan.minIntervalMs).toBe(120_000);
    // moons [2,75,2], 100 individuals, 50 000 rows: thousands of generations (tens per second)
    // (the README's figures: moons N = 2400, digits-10 [64,75,10] on its 1347 training rows N = 4820)
    expect(plan.every).toBe(2400);
    expect(defaultCheckpointEvery(100, 5550, 1347, 10)).toBe(4820);
    // MNIST [784,300,100,10], 60 000 rows: seconds to minutes per generation: the lower bound
    expect(defaultCheckpointEvery(100, 266_200, 60_000, 5)).toBe(DEFAULT_EVERY_MIN);
  });
});
