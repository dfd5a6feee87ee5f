import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { expandRunDirs, readRun, readSweepSettings, runFigures } from "../../src/report/read-run.ts";
import { scratchDir } from "../cli/helpers.ts";
import { errorOf } from "../io/helpers.ts";
import { writeRunDir } from "./fixtures.ts";

const work = scratchDir("slt-read-run-");
const good = writeRunDir(join(work, "good"), { seed: 3, testAccuracy: 0.85 });
const sweep = join(work, "sweep");
const sweepB = writeRunDir(join(sweep, "b-s1"), {});
const sweepA = writeRunDir(join(sweep, "a-s1"), {});

/** The E_REPORT error `f` throws. */
const reportError = (f: () => unknown) => errorOf(f, "E_REPORT");

describe("readRun", () => {
  it("reads config.json, events.jsonl, ticket.json and the run's figures", () => {
    const run = readRun(good);
    expect(run.config.seed).toBe(3);
    expect(run.events.map((e) => e.type)).toEqual(["start", "generation", "generation", "end"]);
    expect(run.ticket?.metrics.bestOnTrainTestAccuracy).toBe(0.85);
    expect(runFigures(run)).toMatchObject({
      status: "ok",
      stopReason: "max-generations",
      evaluations: 200,
      generations: 1,
      wallSeconds: 2.5,
      testAccuracy: 0.85,
      sparsity: 0.5,
      prunedTestAccuracy: null,
    });
  });

  it("drops a torn last line of a killed run, and counts a run without ticket as interrupted", () => {
    const dir = writeRunDir(join(work, "torn"), { ended: false });
    appendFileSync(join(dir, "events.jsonl"), '{"type":"generation","generation":2,"evalu');
    const run = readRun(dir);
    expect(run.events.map((e) => e.type)).toEqual(["start", "generation", "generation"]);
    expect(run.ticket).toBeNull();
    expect(runFigures(run)).toMatchObject({ status: "interrupted", stopReason: null, evaluations: null });
  });

  it("a run stopped by Ctrl-C (stopReason interrupted) is interrupted although it has a ticket", () => {
    const dir = writeRunDir(join(work, "ctrl-c"), {});
    const file = join(dir, "events.jsonl");
    writeFileSync(file, readFileSync(file, "utf8").replace("max-generations", "interrupted"));
    expect(runFigures(readRun(dir)).status).toBe("interrupted");
  });

  it("a missing or malformed file is one clear line naming it", () => {
    const dir = writeRunDir(join(work, "broken"), {});
    rmSync(join(dir, "events.jsonl"));
    const missing = reportError(() => readRun(dir));
    expect(missing.code).toBe("E_REPORT");
    expect(missing.message).toContain(join(dir, "events.jsonl"));
    expect(missing.message).not.toContain("\n");
    writeFileSync(join(dir, "config.json"), "{");
    expect(reportError(() => readRun(dir)).message).toContain(
      `${join(dir, "config.json")} is not valid JSON`,
    );
    writeFileSync(join(dir, "config.json"), JSON.stringify({ dataset: { name: "moons" }, seed: -1 }));
    expect(reportError(() => readRun(dir)).message).toMatch(
      /config\.json is not a run's configuration: seed:/,
    );
    const bad = writeRunDir(join(work, "bad-ticket"), {});
    writeFileSync(join(bad, "ticket.json"), JSON.stringify({ format: "slt-ticket/1" }));
    expect(errorOf(() => readRun(bad), "E_TICKET").message).toContain(join(bad, "ticket.json"));
  });
});

describe("expandRunDirs", () => {
  it("takes run directories as they are and a directory of runs as the runs below it, in name order", () => {
    mkdirSync(join(sweep, "not-a-run"), { recursive: true });
    // an attempt slt sweep moved aside before running it again
    writeRunDir(join(sweep, "a-s1.partial-1"), { ended: false });
    expect(expandRunDirs([good, sweep, sweepA])).toEqual([good, sweepA, sweepB]);
  });

  it("refuses what is neither a run directory nor a directory of runs", () => {
    mkdirSync(join(work, "empty"));
    expect(reportError(() => expandRunDirs([join(work, "empty")])).message).toMatch(
      /is neither a run directory \(no config\.json\) nor a directory of runs/,
    );
    expect(reportError(() => expandRunDirs([join(work, "nowhere")])).message).toMatch(/is not a directory/);
  });
});

describe("readSweepSettings", () => {
  it("maps each recorded run directory to its setting name, skipping lines it cannot use", () => {
    writeFileSync(
      join(sweep, "sweep.jsonl"),
      [
        JSON.stringify({ setting: "topology=ring", runDir: join(sweep, "a-s1"), seed: 1 }),
        JSON.stringify({ setting: "topology=full", runDir: "b-s1" }),
        JSON.stringify({ note: "no setting" }),
        '{"setting":"torn',
      ].join("\n"),
    );
    const names = readSweepSettings(sweep);
    expect([...names]).toEqual([
      [join(sweep, "a-s1"), "topology=ring"],
      [join(sweep, "b-s1"), "topology=full"],
    ]);
    expect(readSweepSettings(good).size).toBe(0);
  });
});
