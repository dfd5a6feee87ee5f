// The dashboard's replay: series events thinned by halving beyond the limit, the newest kept whole,
// other events kept up to theirs; sequence numbers for reconnects.
import { describe, expect, it } from "vitest";
import { ReplayBuffer } from "../../src/io/replay-buffer.ts";

describe("ReplayBuffer", () => {
  it("stays within its limits however long the run, keeping the start and the newest reports", () => {
    const r = new ReplayBuffer({ maxSeries: 100, keepRecent: 20, maxOther: 5 });
    r.add({ type: "start" });
    for (let k = 0; k < 10_000; k++) r.add({ type: "report", island: k % 2, k });
    for (let k = 0; k < 10; k++) r.add({ type: "lost", k });
    expect(r.size).toBeLessThanOrEqual(100 + 5);
    const kept = r.since(0).map((e) => e.event);
    expect(kept[0]).toEqual({ type: "start" });
    const reports = kept.filter((e) => e.type === "report").map((e) => e.k as number);
    expect(reports.slice(-20)).toEqual(Array.from({ length: 20 }, (_, i) => 9980 + i));
    // thinned evenly, each island's series alike: the oldest reports are still there, sparser
    expect(reports[0]).toBe(0);
    expect(reports[1]).toBe(1);
    const steps = reports.slice(2, -20).map((k, i) => k - reports[i]);
    expect(new Set(steps).size).toBe(1);
    expect(kept.filter((e) => e.type === "lost").length).toBe(4);
  });

  it("since(n) gives the kept events after sequence number n", () => {
    const r = new ReplayBuffer();
    const seqs = [r.add({ type: "a" }), r.add({ type: "b" }), r.add({ type: "c" })].map((e) => e.seq);
    expect(seqs).toEqual([1, 2, 3]);
    expect(r.since(1).map((e) => e.event.type)).toEqual(["b", "c"]);
  });
});
