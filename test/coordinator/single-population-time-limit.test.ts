// One population's wall-clock limit (cluster.timeLimitSeconds, `--time-limit`; issue 11, equal
// wall-clock comparisons): the run stops at a generation's end once the limit has passed, with stop
// reason "wall-clock" as island runs have, and still writes its checkpoint, ticket and end event.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runSingle } from "../../src/coordinator/single-population.ts";
import type { ConfigPatch } from "../../src/core/config.ts";
import { referenceEvaluator } from "../../src/core/evaluate.ts";
import { moonsConfig, readEvents, useMoonsDir } from "./helpers.ts";

const dirOf = useMoonsDir("slt-time-limit-", "time-limit-csv", 300, 100);

const BASE: ConfigPatch = {
  seed: 2,
  network: { architecture: [2, 8, 2] },
  ga: { population: 10 },
  // nothing but the limit can end this run
  termination: { rule: "none", maxGenerations: null },
  prune: "none",
};

describe("one population's wall-clock limit", () => {
  it("stops at a generation's end after the limit, stop reason wall-clock, ticket written", async () => {
    const config = moonsConfig(dirOf(), "limited", BASE, {
      cluster: { islands: 1, timeLimitSeconds: 0.3 },
    });
    const summary = await runSingle(config, { makeEvaluator: referenceEvaluator });
    expect(summary.stopReason).toBe("wall-clock");
    const dir = join(dirOf(), "limited");
    expect(existsSync(join(dir, "ticket.json"))).toBe(true);
    expect(existsSync(join(dir, "checkpoint.json"))).toBe(true);
    const events = readEvents(dir);
    expect(events.at(-1)).toMatchObject({
      type: "end",
      stopReason: "wall-clock",
      generations: summary.generations,
    });
  });

  it("a limit not reached leaves the run to its other limits", async () => {
    const config = moonsConfig(dirOf(), "capped", BASE, {
      termination: { rule: "none", maxGenerations: 3 },
      cluster: { islands: 1, timeLimitSeconds: 3600 },
    });
    const summary = await runSingle(config, { makeEvaluator: referenceEvaluator });
    expect(summary).toMatchObject({ stopReason: "max-generations", generations: 3 });
  });
});
