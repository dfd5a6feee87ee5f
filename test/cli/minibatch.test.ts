// End-to-end: `slt run --batch-size N --batch-mode fixed|rotating` (mini-batch fitness, non-paper).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, scratchDir } from "./helpers.ts";

const work = scratchDir("slt-cli-minibatch-");
const slt = (...args: string[]) => runCli(work, args);

describe("slt run --batch-size", () => {
  it("runs one population by default, labels every result as non-paper, checks out", () => {
    const r = slt(
      "run",
      "--dataset",
      "moons",
      "--arch",
      "2,20,2",
      "--batch-size",
      "300",
      "--batch-mode",
      "rotating",
      "--generations",
      "6",
      "--prune",
      "none",
      "--name",
      "mb",
      "--out",
      work,
      "--json",
    );
    expect(r.stderr).not.toMatch(/unexpected error/);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("mini-batch (non-paper): fitness on 300 of 50000 training rows (rotating)");
    const s = JSON.parse(r.stdout.trim());
    expect(s.fitnessMode).toBe("mini-batch (non-paper)");
    expect(s.fitnessSubset).toEqual({ size: 300, mode: "rotating" });
    expect(s.generations).toBe(6);
    const config = JSON.parse(readFileSync(join(work, "mb", "config.json"), "utf8"));
    expect(config.cluster.islands).toBe(1);
    expect(config.ga.fitnessSubset).toEqual({
      size: 300,
      mode: "rotating",
      fitnessMode: "mini-batch (non-paper)",
    });
    const check = slt("check", s.ticket, "--json");
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout).trainAccuracy).toBe(s.trainAccuracy);
    const text = slt(
      "run",
      "--dataset",
      "moons",
      "--arch",
      "2,20,2",
      "--batch-size",
      "100",
      "--generations",
      "2",
    );
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("mini-batch (non-paper): 100 training rows, fixed");
  });

  it("rejects bad sizes and the island cluster with E_CONFIG, before anything runs", () => {
    const zero = slt("run", "--dataset", "moons", "--batch-size", "0", "--out", work);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain("E_CONFIG");
    expect(zero.stderr).toContain("ga.fitnessSubset.size: got 0");
    const big = slt("run", "--dataset", "moons", "--batch-size", "50001", "--out", work);
    expect(big.code).toBe(2);
    expect(big.stderr).toContain(
      "ga.fitnessSubset.size: got 50001; allowed 1..50000 (the training rows of moons)",
    );
    const islands = slt("run", "--dataset", "moons", "--batch-size", "10", "--islands", "2", "--out", work);
    expect(islands.code).toBe(2);
    expect(islands.stderr).toContain("cluster.islands must be 1, got 2");
    const ring = slt("run", "--dataset", "moons", "--batch-size", "10", "--topology", "ring", "--out", work);
    expect(ring.code).toBe(2);
    expect(ring.stderr).toContain("the island cluster does not support mini-batch fitness");
    const mode = slt("run", "--dataset", "moons", "--batch-size", "10", "--batch-mode", "random");
    expect(mode.code).toBe(2);
    expect(mode.stderr).toContain("fixed, rotating");
  });
});
