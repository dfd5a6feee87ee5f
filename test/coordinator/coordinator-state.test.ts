// The coordinator's plain state record and the pure functions that read it.
import { describe, expect, it } from "vitest";
import {
  coordinatorCheckpoint,
  edgesOfReport,
  initialState,
  migrationDelta,
  migrationTotals,
  newMember,
  progressOf,
  restoreCoordinator,
  stopViewOf,
} from "../../src/coordinator/coordinator-state.ts";
import type { JsonObject } from "../../src/core/checkpoint.ts";
import type { IslandSnapshotJSON } from "../../src/core/island-snapshot.ts";
import type { ReportBody } from "../../src/core/protocol/index.ts";
import { removeIsland, ringTopology } from "../../src/core/topology.ts";

const counts = (sent: number, accepted: number) => ({
  sent,
  received: sent,
  accepted,
  rejected: 0,
  dropped: 1,
});

function report(
  generation: number,
  sent: number,
  accepted: number,
  verdict: string | null = null,
): ReportBody {
  return {
    island: 0,
    generation,
    evaluations: generation * 10,
    evaluationsPerSecond: 5,
    bestFitness: 0.5,
    bestAccuracy: 0.75,
    bestLoss: 0.5,
    bestSparsity: 0.5,
    meanFitness: 0.4,
    diversity: 3,
    stalledGenerations: 0,
    verdict,
    migration: counts(sent, accepted),
    host: { loadAverage: null, cpuPercent: null, memoryUsedBytes: 1, memoryTotalBytes: 2, rssBytes: null },
  };
}

const member = () => newMember({ index: 2, host: "h", pid: 7, listen: "ws://127.0.0.1:1" });

describe("coordinator state", () => {
  it("starts joining with nothing, and survives a JSON round trip (it is plain data)", () => {
    const s = initialState();
    expect(s).toEqual({
      phase: "joining",
      members: [],
      topology: null,
      offsets: [],
      exited: [],
      stop: null,
      droppedAtResume: 0,
      restarts: {},
    });
    s.members.push({ ...member(), id: 0, lastReport: report(4, 3, 2) });
    s.stop = { reason: "max-generations", detail: "every live island reached the cap of 4 generations" };
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });

  it("a new member has no id, report or ticket yet", () => {
    expect(member()).toMatchObject({
      index: 2,
      id: -1,
      lastReport: null,
      ticket: null,
      lost: false,
    });
  });

  it("migration totals sum the last reports; a delta is what a report adds", () => {
    const a = { ...member(), lastReport: report(4, 3, 2) };
    const b = { ...member(), lastReport: report(6, 5, 1) };
    expect(migrationTotals([a, b, member()])).toEqual({
      sent: 8,
      received: 8,
      accepted: 3,
      rejected: 0,
      dropped: 2,
    });
    expect(migrationDelta(counts(5, 3), counts(3, 2))).toEqual({
      sent: 2,
      received: 2,
      accepted: 1,
      rejected: 0,
      dropped: 0,
    });
    expect(migrationDelta(counts(5, 3), undefined)).toEqual(counts(5, 3));
  });

  it("the policy's view and an island's progress", () => {
    const m = { ...member(), id: 3, lastReport: report(9, 1, 1, "plateau") };
    expect(stopViewOf(m)).toEqual({
      id: 3,
      lost: false,
      finished: false,
      ticketGeneration: null,
      generation: 9,
      verdict: "plateau",
      bestAccuracy: 0.75,
    });
    expect(progressOf(m)).toEqual({ generations: 9, evaluations: 90 });
    expect(progressOf(member())).toEqual({ generations: 0, evaluations: 0 });
  });

  it("the coordinator's part of a checkpoint: plain data, totals from the snapshots, read back for the same island count", () => {
    const s = initialState();
    s.members.push({ ...member(), id: 0, lastReport: report(4, 3, 2) });
    s.topology = removeIsland(ringTopology(3), 2);
    s.offsets = [0, 0, 0];
    s.droppedAtResume = 1;
    const snapshot = (sent: number, received: number) =>
      ({
        ga: { evaluations: 50 },
        counters: { sent, received, accepted: 1, rejected: 0, dropped: 2 },
      }) as unknown as IslandSnapshotJSON;
    const asyncPart = coordinatorCheckpoint(s, [snapshot(6, 2), snapshot(4, 5)], "async");
    expect(asyncPart).toMatchObject({
      format: "slt-coordinator/1",
      migrations: { sent: 10, received: 7, accepted: 2, rejected: 0, dropped: 5 },
      evaluations: 100,
      inFlight: 3,
      droppedAtResume: 1,
    });
    expect(asyncPart.members[0]).toEqual({
      index: 2,
      id: 0,
      host: "h",
      pid: 7,
      listen: "ws://127.0.0.1:1",
      finished: false,
      lost: false,
    });
    expect(coordinatorCheckpoint(s, [snapshot(6, 2)], "lockstep").inFlight).toBe(0);
    const json = JSON.parse(JSON.stringify(asyncPart)) as JsonObject;
    expect(restoreCoordinator(json, 3, "cp.json")).toEqual({
      topology: s.topology,
      offsets: [0, 0, 0],
      droppedAtResume: 4,
    });
    // another island count: the topology is built afresh
    expect(restoreCoordinator(json, 2, "cp.json")).toMatchObject({ topology: null, offsets: null });
    expect(() => restoreCoordinator({ ...json, format: "x" }, 3, "cp.json")).toThrow(
      /cp\.json: the coordinator's state: format is "x"/,
    );
    expect(() => restoreCoordinator({ ...json, offsets: [-1] }, 3, "cp.json")).toThrow(/offsets\[0\]/);
  });
});

describe("edgesOfReport", () => {
  it("keeps entries naming an island of the run, each island once", () => {
    const edges = {
      out: [
        { island: 1, sent: 3 },
        { island: 1, sent: 9 },
        { island: 40, sent: 1 },
      ],
      in: [{ island: 2, accepted: 1, rejected: 2 }],
    };
    expect(edgesOfReport(edges, 3)).toEqual({ out: [{ island: 1, sent: 3 }], in: edges.in });
    expect(edgesOfReport(undefined, 3)).toBeNull();
  });
});
