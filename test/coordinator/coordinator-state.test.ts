// The coordinator's plain state record and the pure functions that read it.
import { describe, expect, it } from "vitest";
import {
  initialState,
  migrationDelta,
  migrationTotals,
  newMember,
  progressOf,
  stopViewOf,
} from "../../src/coordinator/coordinator-state.ts";
import type { ReportBody } from "../../src/core/protocol/index.ts";

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
      epoch: 0,
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
});
