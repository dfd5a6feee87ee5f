// `slt baseline`'s run in-process (runBaseline): the run directory it writes and what `slt report`
// reads of it, a stop between epochs, and the settings it refuses.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/core/config.ts";
import { isSltError } from "../../src/core/errors.ts";
import { ticketFromJson } from "../../src/core/ticket.ts";
import { captureLogger } from "../../src/io/log.ts";
import { groupSettings } from "../../src/report/group.ts";
import { readRun, runFigures } from "../../src/report/read-run.ts";
import { BASELINE_DEFAULTS, checkBaselineSettings, runBaseline } from "../../src/run/baseline.ts";

const out = mkdtempSync(join(tmpdir(), "slt-baseline-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const config = (name: string) =>
  resolveConfig({
    source: "test",
    patch: { name, out, seed: 1, dataset: { name: "moons" }, network: { architecture: [2, 75, 2] } },
  });
const settings = (method: "edge-popup" | "dense", epochs: number) => ({
  method,
  ...BASELINE_DEFAULTS,
  epochs,
});

describe("runBaseline", () => {
  it("dense: a few epochs on moons reach a test accuracy no ticket of the fixed net is near", async () => {
    const s = await runBaseline(config("dense"), settings("dense", 3));
    // measured 0.9989 after 2 epochs (seed 1); the GA's moons tickets reach about 0.97
    expect(s.testAccuracy).toBeGreaterThan(0.99);
    expect(s.sparsity).toBe(0);
    expect(s.stopReason).toBe("epochs");
    expect(s.epochs).toBe(3);
    const ticket = ticketFromJson(JSON.parse(readFileSync(s.ticket, "utf8")));
    expect(ticket.metrics.testAccuracy).toBe(s.testAccuracy);
    expect(ticket.metrics.weights).toBe("trained");
    const events = readFileSync(join(s.runDir, "events.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(events.map((e) => e.type)).toEqual(["start", "epoch", "epoch", "epoch", "end"]);
    expect(Object.keys(events[1])).toEqual(
      expect.arrayContaining(["epoch", "lr", "trainLoss", "trainAccuracy", "seconds"]),
    );
  });

  it("edge-popup: half of every layer, the network's own weights, and slt report reads the run", async () => {
    const s = await runBaseline(config("ep"), settings("edge-popup", 1));
    expect(s.sparsity).toBe(0.5);
    const ticket = ticketFromJson(JSON.parse(readFileSync(s.ticket, "utf8")));
    expect(ticket.metrics.weights).toBe("initial");
    const run = readRun(s.runDir);
    const figures = runFigures(run);
    expect(figures.status).toBe("ok");
    expect(figures.testAccuracy).toBe(s.testAccuracy);
    expect(figures.sparsity).toBe(0.5);
    expect(figures.evaluations).toBe(1);
    // its configuration tells it from dense's (and from a GA run's, which has no baseline field)
    const dense = readRun(join(out, "dense"));
    const settingsOf = groupSettings([run, dense]);
    expect(settingsOf).toHaveLength(2);
    expect(settingsOf[0].label).toMatch(/method=edge-popup/);
  });

  it("stops after the current epoch when asked, and still writes the ticket", async () => {
    let epochs = 0;
    const s = await runBaseline(config("stopped"), settings("edge-popup", 50), {
      shouldStop: () => epochs++ >= 1,
    });
    expect(s.stopReason).toBe("interrupted");
    expect(s.epochs).toBe(1);
    expect(readRun(s.runDir).end?.stopReason).toBe("interrupted");
  });

  it("warns once, in a record, when training diverges, and still writes the ticket", async () => {
    const { logger, records } = captureLogger("warn");
    const s = await runBaseline(config("diverged"), { ...settings("dense", 2), lr: 1000 }, { logger });
    const warnings = records.filter((r) => String(r.msg).startsWith("training diverged"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ epoch: 1, lr: 1000 });
    expect(s.stopReason).toBe("epochs");
  });
});

describe("checkBaselineSettings", () => {
  const bad: [string, Record<string, number>, RegExp][] = [
    ["keep above 1", { keep: 1.5 }, /--keep 1.5: expected a fraction/],
    ["keep 0", { keep: 0 }, /--keep 0/],
    ["no epochs", { epochs: 0 }, /--epochs 0: expected a whole number/],
    ["a fractional batch", { batchSize: 2.5 }, /--batch-size 2.5/],
    ["a negative rate", { lr: -1 }, /--lr -1/],
    ["momentum 1", { momentum: 1 }, /--momentum 1: expected a number in \[0, 1\)/],
    ["negative decay", { weightDecay: -0.1 }, /--weight-decay -0.1/],
  ];
  for (const [what, change, message] of bad)
    it(`refuses ${what} in one E_CONFIG line`, () => {
      let error: unknown;
      try {
        checkBaselineSettings({ ...settings("edge-popup", 1), ...change });
      } catch (e) {
        error = e;
      }
      expect(isSltError(error, "E_CONFIG")).toBe(true);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toMatch(/\n/);
    });
});
