// Real small runs, one population and a 2-island cluster: every line of events.jsonl carries `time`
// (ISO 8601 UTC with milliseconds) beside `t`, never going backwards, and config.json records the start
// they both count from.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCluster } from "../../src/coordinator/cluster.ts";
import { runSingle } from "../../src/coordinator/single-population.ts";
import { type ConfigPatch, resolveConfig } from "../../src/core/config.ts";
import { makeEvaluator } from "../../src/evaluator/index.ts";
import { readEvents } from "./helpers.ts";

const work = mkdtempSync(join(tmpdir(), "slt-event-times-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const config = (name: string, patch: ConfigPatch) =>
  resolveConfig({
    source: "test",
    patch: {
      name,
      out: work,
      dataset: { name: "digits-3" },
      ga: { population: 20 },
      termination: { maxGenerations: 12 },
      prune: "clean",
      ...patch,
    },
  });

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Checks every event's times against each other and the start in config.json; returns the types seen. */
function checkTimes(runDir: string): Set<unknown> {
  const start = JSON.parse(readFileSync(join(runDir, "config.json"), "utf8")).startTime;
  expect(start).toMatch(ISO_MS);
  const events = readEvents(runDir);
  let previous = Date.parse(start);
  for (const e of events) {
    expect(e.time, JSON.stringify(e)).toMatch(ISO_MS);
    expect(typeof e.t).toBe("number");
    const at = Date.parse(e.time as string);
    expect(at).toBeGreaterThanOrEqual(previous);
    // one clock reading gives both; `time` truncates to the millisecond, `t` rounds (and `t * 1000` is
    // a float: 1.0000000000001137 was seen, hence the 1e-6)
    expect(Math.abs(at - Date.parse(start) - (e.t as number) * 1000)).toBeLessThanOrEqual(1 + 1e-6);
    previous = at;
  }
  return new Set(events.map((e) => e.type));
}

describe("event times", () => {
  it("one population: every line, generation events included", async () => {
    const s = await runSingle(config("single", { cluster: { islands: 1 } }), { makeEvaluator });
    const types = checkTimes(s.runDir);
    expect([...types]).toEqual(expect.arrayContaining(["start", "generation", "prune", "end"]));
  });

  it("a 2-island cluster: every line, island reports and lifecycle events included", async () => {
    const s = await runCluster(config("cluster", { cluster: { islands: 2, topology: "ring" } }), {
      makeEvaluator,
    });
    const types = checkTimes(s.runDir);
    expect([...types]).toEqual(
      expect.arrayContaining(["start", "joined", "topology", "assigned", "report", "termination", "end"]),
    );
  });
});
