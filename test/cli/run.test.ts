// End-to-end: the real `slt` command in a child process, as a user runs it.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readEvents, withoutTimes } from "../coordinator/helpers.ts";
import { runCli, scratchDir } from "./helpers.ts";

const work = scratchDir("slt-cli-");
const slt = (...args: string[]) => runCli(work, args);

function jsonRun(...args: string[]) {
  // one population in-process: these tests check the single-population search and its determinism
  const r = slt("run", "--islands", "1", ...args, "--json", "--out", work);
  expect(r.stderr).not.toMatch(/unexpected error/);
  expect(r.code).toBe(0);
  const lines = r.stdout.trim().split("\n");
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]);
}

/**
 * A run's events without their times: identical for two runs of one seed. Checkpoint events are left
 * out: they carry the write's duration and the checksum of a checkpoint that holds its creation time, and
 * land when the write is durable.
 */
const untimedEvents = (runDir: string) =>
  withoutTimes(readEvents(runDir).filter((e) => e.type !== "checkpoint"));

describe("slt run", () => {
  it("moons end to end: reaches ≥ 0.95 test accuracy, writes config, events and a checkable ticket", () => {
    const s = jsonRun(
      "--dataset",
      "moons",
      "--seed",
      "3",
      "--generations",
      "80",
      "--prune",
      "clean",
      "--name",
      "e2e",
    );
    for (const key of [
      "trainAccuracy",
      "trainLoss",
      "testAccuracy",
      "bestTestAccuracyInPopulation",
      "sparsity",
      "prunedSparsity",
      "prunedTestAccuracy",
      "pruneMode",
      "generations",
      "evaluations",
      "wallSeconds",
      "ticket",
    ]) {
      expect(s).toHaveProperty(key);
    }
    expect(s.testAccuracy).toBeGreaterThanOrEqual(0.95);
    expect(s.pruneMode).toBe("clean");
    expect(s.prunedSparsity).toBeGreaterThanOrEqual(s.sparsity);
    const dir = join(work, "e2e");
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    expect(config.ga.population).toBe(100);
    const events = readFileSync(join(dir, "events.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(events.filter((e) => e.type === "generation")).toHaveLength(s.generations + 1);
    const ticket = JSON.parse(readFileSync(s.ticket, "utf8"));
    expect(ticket.format).toBe("slt-ticket/1");
    expect(ticket.pruneMode).toBe("clean");
    // evaluations are the search's (the last generation's count); pruning's are counted apart
    expect(s.evaluations).toBe(events.filter((e) => e.type === "generation").at(-1).evaluations);
    expect(s.pruneEvaluations).toBeGreaterThan(0);
    expect(events.find((e) => e.type === "prune").pruneEvaluations).toBe(s.pruneEvaluations);
    const counts = { evaluations: s.evaluations, pruneEvaluations: s.pruneEvaluations };
    expect(events.at(-1)).toMatchObject({ type: "end", ...counts });
    expect(ticket.metrics).toMatchObject(counts);
    const check = slt("check", s.ticket, "--json");
    expect(check.code).toBe(0);
    const c = JSON.parse(check.stdout);
    expect(c.ok).toBe(true);
    expect(c.testAccuracy).toBe(ticket.metrics.testAccuracy);
    expect(c.weightsRegenerate).toBe(true);
  });

  it("is deterministic: the same seed gives an identical events.jsonl and ticket mask", () => {
    const a = jsonRun(
      "--dataset",
      "circles",
      "--arch",
      "2,20,2",
      "--seed",
      "5",
      "--generations",
      "15",
      "--name",
      "det",
    );
    const b = jsonRun(
      "--dataset",
      "circles",
      "--arch",
      "2,20,2",
      "--seed",
      "5",
      "--generations",
      "15",
      "--name",
      "det",
    );
    expect(b.runDir).toBe(`${a.runDir}-2`);
    expect(untimedEvents(b.runDir)).toEqual(untimedEvents(a.runDir));
    const mask = (p: string) => JSON.parse(readFileSync(p, "utf8")).mask.bits;
    expect(mask(b.ticket)).toBe(mask(a.ticket));
    // config.json is a complete recipe: fed back with --config it replays the run exactly
    const replay = jsonRun("--config", join(a.runDir, "config.json"));
    expect(replay.runDir).toBe(`${a.runDir}-3`);
    expect(untimedEvents(replay.runDir)).toEqual(untimedEvents(a.runDir));
    const c = jsonRun(
      "--dataset",
      "circles",
      "--arch",
      "2,20,2",
      "--seed",
      "6",
      "--generations",
      "15",
      "--name",
      "det",
    );
    expect(untimedEvents(c.runDir)).not.toEqual(untimedEvents(a.runDir));
  });

  it("digits with loss fitness and a CSV dataset run through the same path", () => {
    const d = jsonRun("--dataset", "digits-3", "--generations", "5", "--prune", "none");
    expect(d.pruneMode).toBe("none");
    expect(d.prunedSparsity).toBeNull();
    const rows = ["a,b,label"];
    for (let i = 0; i < 60; i++) rows.push(`${i % 2 ? 1 : -1},${(i % 7) / 7},${i % 2}`);
    writeFileSync(join(work, "t.csv"), rows.join("\n"));
    const s = jsonRun(
      "--train",
      "t.csv",
      "--test",
      "t.csv",
      "--arch",
      "2,4,2",
      "--generations",
      "3",
      "--scale",
      "standard",
    );
    expect(s.generations).toBeLessThanOrEqual(3);
  });

  it("stops at an evaluation budget after the generation that reaches it", () => {
    const r = jsonRun("--dataset", "digits-3", "--max-evaluations", "300", "--prune", "none");
    expect(r.stopReason).toBe("max-evaluations");
    const config = JSON.parse(readFileSync(join(r.runDir, "config.json"), "utf8"));
    expect(config.termination.maxEvaluations).toBe(300);
    // the last generation reached the budget; the one before had not
    const gens = readFileSync(join(r.runDir, "events.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .filter((e) => e.type === "generation");
    expect(gens.at(-1).evaluations).toBeGreaterThanOrEqual(300);
    expect(gens.at(-2).evaluations).toBeLessThan(300);
  });

  it("--threads 2 evaluates on worker threads with the same events and ticket as in-process", () => {
    const args = ["--dataset", "moons", "--arch", "2,20,2", "--seed", "7", "--generations", "12"];
    const a = jsonRun(...args, "--name", "threads-1");
    const b = jsonRun(...args, "--threads", "2", "--name", "threads-2");
    const events = (dir: string) => untimedEvents(dir).filter((e) => e.type !== "start" && e.type !== "end");
    expect(events(b.runDir)).toEqual(events(a.runDir));
    const ticket = (p: string) => JSON.parse(readFileSync(p, "utf8"));
    expect(ticket(b.ticket).mask).toEqual(ticket(a.ticket).mask);
    expect(ticket(b.ticket).metrics).toEqual(ticket(a.ticket).metrics);
    // rotating mini-batch fitness: a pool per generation's subset, the same run
    const mini = [...args, "--batch-size", "60", "--batch-mode", "rotating"];
    const c = jsonRun(...mini, "--name", "mini-threads-1");
    const d = jsonRun(...mini, "--threads", "2", "--name", "mini-threads-2");
    expect(events(d.runDir)).toEqual(events(c.runDir));
    expect(events(c.runDir).filter((e) => e.type === "generation")).toHaveLength(13);
    expect(ticket(d.ticket).metrics).toEqual(ticket(c.ticket).metrics);
    const cluster = slt("run", "--islands", "2", "--threads", "2");
    expect(cluster.code).toBe(2);
    expect(cluster.stderr).toMatch(/E_CONFIG.*--threads 2: worker threads are for one population/);
  });

  it("--progress-interval 0 prints every generation against the cap; a negative interval is refused", () => {
    const r = slt(
      "run",
      "--islands",
      "1",
      "--dataset",
      "digits-3",
      "--population",
      "20",
      "--generations",
      "5",
      "--out",
      work,
      "--progress-interval",
      "0",
    );
    expect(r.code, r.stderr).toBe(0);
    const shown = r.stderr
      .split("\n")
      .map((l) => /^gen\s+(\d+)\/5 .* evals\/s/.exec(l)?.[1])
      .filter((g) => g !== undefined);
    expect(shown).toEqual(["0", "1", "2", "3", "4", "5"]);
    const bad = slt("run", "--progress-interval", "-1");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /E_CONFIG: --progress-interval: got "-1"; expected a finite number of seconds ≥ 0/,
    );
  });

  it("rejects bad input with exit code 2, the error code and what is allowed", () => {
    const pop = slt("run", "--population", "1");
    expect(pop.code).toBe(2);
    expect(pop.stderr).toMatch(/E_CONFIG.*\n.*ga\.population: got 1/);
    const notInt = slt("run", "--seed", "x");
    expect(notInt.code).toBe(2);
    expect(notInt.stderr).toMatch(/expected an integer, got "x"/);
    const arch = slt("run", "--arch", "2,0,2");
    expect(arch.code).toBe(2);
    expect(arch.stderr).toMatch(/positive layer widths such as 2,75,2, got "2,0,2"/);
    const mismatch = slt("run", "--dataset", "digits-3", "--arch", "2,10,2");
    expect(mismatch.code).toBe(2);
    expect(mismatch.stderr).toMatch(/does not fit the dataset: it has 64 features/);
    const missing = slt("run", "--train", "nope.csv", "--test", "nope.csv", "--arch", "2,4,2");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/E_DATASET_FILE.*nope\.csv/);
    const name = slt("run", "--dataset", "spirals");
    expect(name.code).toBe(2);
    expect(name.stderr).toMatch(/E_DATASET_NAME.*spirals/);
    writeFileSync(join(work, "bad.json"), "{ not json");
    const file = slt("run", "--config", "bad.json");
    expect(file.code).toBe(2);
    expect(file.stderr).toMatch(/bad\.json is not valid JSON/);
  });
});
