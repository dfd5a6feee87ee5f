import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  appendRecord,
  checkSweepDir,
  LOCK_FILE,
  lockSweepDir,
  moveAside,
  openSweepDir,
  readRecords,
  type SweepRecord,
} from "../../src/sweep/journal.ts";
import { parseSpec } from "../../src/sweep/spec.ts";
import { scratchDir } from "../cli/helpers.ts";

const work = scratchDir("slt-journal-");

const record = (run: string, status: "ok" | "failed"): SweepRecord => ({
  setting: "topology=ring",
  fields: { topology: "ring" },
  seed: 1,
  run,
  runDir: join(work, run),
  status,
  resumed: false,
  time: "2026-01-01T00:00:00.000Z",
});

describe("sweep journal", () => {
  it("appends records one line each and reads them back, skipping a torn line with a warning", () => {
    const dir = join(work, "records");
    mkdirSync(dir);
    expect(readRecords(dir, () => {})).toEqual([]);
    appendRecord(dir, record("a-s1", "ok"));
    appendRecord(dir, record("b-s1", "failed"));
    writeFileSync(join(dir, "sweep.jsonl"), `${readFileSync(join(dir, "sweep.jsonl"), "utf8")}{"run":"c-`, {
      flag: "w",
    });
    const warnings: string[] = [];
    const back = readRecords(dir, (w) => warnings.push(w));
    expect(back).toEqual([record("a-s1", "ok"), record("b-s1", "failed")]);
    expect(warnings).toEqual([`${join(dir, "sweep.jsonl")}:3 is not a run record; it is ignored`]);
    // the next record after a torn one stands on its own line: the torn bytes go, nothing else
    appendRecord(dir, record("c-s1", "ok"));
    expect(readRecords(dir, () => expect.unreachable())).toEqual([
      record("a-s1", "ok"),
      record("b-s1", "failed"),
      record("c-s1", "ok"),
    ]);
  });

  it("a folder keeps its spec: more seeds are the same sweep, another budget is refused", () => {
    const dir = join(work, "spec");
    const spec = parseSpec(
      { name: "s", grid: { topology: ["ring"] }, seeds: 2, budget: { evaluations: 9 } },
      "a",
    );
    expect(() => checkSweepDir(dir, spec, "a")).not.toThrow();
    openSweepDir(dir, spec, "a");
    expect(JSON.parse(readFileSync(join(dir, "spec.json"), "utf8"))).toEqual(spec);
    openSweepDir(dir, { ...spec, seeds: [1, 2, 3] }, "b");
    expect(() => openSweepDir(dir, { ...spec, budget: { seconds: 5 } }, "c.json")).toThrow(
      /--out .*spec holds the sweep of another spec \(its spec\.json differs from c\.json in "budget"\)/,
    );
  });

  it("moves a partial run aside to the first free .partial-N", () => {
    const run = join(work, "aside", "r-s1");
    mkdirSync(run, { recursive: true });
    expect(moveAside(run)).toBe(`${run}.partial-1`);
    mkdirSync(run);
    expect(moveAside(run)).toBe(`${run}.partial-2`);
    expect(existsSync(run)).toBe(false);
  });

  it("locks a folder for one sweep; the release frees it", () => {
    const dir = join(work, "lock");
    mkdirSync(dir);
    const release = lockSweepDir(dir);
    expect(readFileSync(join(dir, LOCK_FILE), "utf8")).toBe(`${process.pid}\n`);
    expect(() => lockSweepDir(dir)).toThrow(/another slt sweep \(pid \d+\) is running in this folder/);
    release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    lockSweepDir(dir)();
  });
});
