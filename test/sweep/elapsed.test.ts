import { describe, expect, it } from "vitest";
import { remainingSeconds, runningSeconds } from "../../src/sweep/elapsed.ts";

const events = (...es: object[]) => es.map((e) => JSON.stringify(e)).join("\n");

describe("a run's running time", () => {
  it("is its events' span in one part", () => {
    expect(
      runningSeconds(events({ type: "start", t: 0.5 }, { type: "generation", t: 3 }, { type: "end", t: 10 })),
    ).toBe(9.5);
  });

  it("adds the parts of a stopped and continued run, not the gap between them", () => {
    const text = events(
      { type: "start", t: 0 },
      { type: "generation", t: 40 },
      { type: "end", t: 41 },
      { type: "resume", t: 500 },
      { type: "generation", t: 520 },
      { type: "resume", t: 900 },
      { type: "end", t: 905 },
    );
    expect(runningSeconds(text)).toBe(41 + 20 + 5);
  });

  it("skips a torn line and is 0 for no events", () => {
    expect(runningSeconds(`${events({ type: "start", t: 1 }, { type: "end", t: 4 })}\n{"type":"gen`)).toBe(3);
    expect(runningSeconds("")).toBe(0);
  });

  it("a continued run gets what is left of the budget, at least a moment", () => {
    expect(remainingSeconds(300, 120.25)).toBe(179.75);
    expect(remainingSeconds(300, 400)).toBe(0.001);
  });
});
