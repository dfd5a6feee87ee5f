// `slt run --dry-run` and `slt reproduce --dry-run`: they check what a real run checks, say what would
// run and where, fail on invalid input exactly as a real run does, and write nothing.
import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { referenceBoundSecondsPerTry } from "../../src/core/ga/index.ts";
import { runCli, scratchDir } from "./helpers.ts";

const work = scratchDir("slt-dry-run-");
const slt = (cwd: string, ...args: string[]) => runCli(cwd, args);

/** a fresh empty working directory */
function emptyDir(name: string): string {
  const dir = join(work, name);
  mkdirSync(dir);
  return dir;
}

describe("slt run --dry-run", () => {
  it("resolves the configuration, loads the data and names the run directory, writing nothing", () => {
    const dir = emptyDir("one");
    const r = slt(
      dir,
      "run",
      "--islands",
      "1",
      "--dataset",
      "digits-3",
      "--seed",
      "4",
      "--dry-run",
      "--json",
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.dryRun).toBe(true);
    expect(d.mode).toBe("one population");
    expect(d.runDir).toBe(join(dir, "runs", d.config.name));
    expect(d.config.name).toContain("s4");
    expect(d.dataset).toMatchObject({ name: "digits-3", features: 64, classes: 3 });
    expect(d.genomeLength).toBe(
      d.config.network.architecture.reduce(
        (s: number, w: number, i: number, a: number[]) => (i ? s + a[i - 1] * w : 0),
        0,
      ),
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it("names the next free directory when the run's name is taken, as a real run would", () => {
    const dir = emptyDir("taken");
    mkdirSync(join(dir, "runs", "mine"), { recursive: true });
    const r = slt(dir, "run", "--islands", "1", "--dataset", "digits-3", "--name", "mine", "--dry-run");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`would create   ${join(dir, "runs", "mine-2")}`);
    expect(r.stdout).toContain("one population in-process");
    expect(readdirSync(join(dir, "runs"))).toEqual(["mine"]);
  });

  it("checks an island run's topology and describes the islands", () => {
    const dir = emptyDir("islands");
    const ok = slt(
      dir,
      "run",
      "--islands",
      "3",
      "--topology",
      "full",
      "--dataset",
      "digits-3",
      "--dry-run",
      "--json",
    );
    expect(ok.code).toBe(0);
    const d = JSON.parse(ok.stdout);
    expect(d.mode).toBe("islands");
    expect(d.config.cluster).toMatchObject({ islands: 3, topology: "full" });
    expect(readdirSync(dir)).toEqual([]);
  });

  it("shows what the run fills in: the adaptive bound's time per try, no cap as none, the prune order", () => {
    const dir = emptyDir("filled");
    const ab = slt(dir, "run", "--islands", "2", "--preset", "2024-adaptive", "--dry-run", "--json");
    expect(ab.code).toBe(0);
    const t = JSON.parse(ab.stdout).config.ga.boundSecondsPerTry;
    expect(t).toBe(referenceBoundSecondsPerTry([2, 75, 2], 50_000));
    const text = slt(dir, "run", "--islands", "1", "--preset", "2024-adaptive", "--dry-run").stdout;
    expect(text).toMatch(new RegExp(`^ {2}ga .*boundSecondsPerTry ${t}`, "m"));
    const uncapped = slt(dir, "run", "--islands", "1", "--preset", "2024-ga", "--dry-run").stdout;
    expect(uncapped).toMatch(/^ {2}termination .*maxGenerations none/m);
    expect(uncapped).toMatch(/^ {2}run .*pruneOrder reference/m);
    expect(readdirSync(dir)).toEqual([]);
  });

  it.each([
    ["a network that does not fit the data", ["--islands", "1", "--dataset", "digits-3", "--arch", "2,5,2"]],
    [
      "a topology that does not fit the island count",
      ["--islands", "4", "--topology", "torus:3x3", "--dataset", "digits-3"],
    ],
    ["a missing data file", ["--islands", "1", "--train", "nowhere.csv", "--test", "nowhere.csv"]],
    ["an unknown option", ["--islands", "1", "--colour", "blue"]],
  ])("fails on %s with the real run's error and exit code", (_, args) => {
    const dir = emptyDir(`bad-${args.join("").replace(/\W/g, "")}`);
    const real = slt(dir, "run", ...args, "--quiet");
    const dry = slt(dir, "run", ...args, "--quiet", "--dry-run");
    expect(real.code).not.toBe(0);
    expect(dry.code).toBe(real.code);
    expect(dry.stderr).toBe(real.stderr);
    expect(dry.stdout).toBe("");
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("slt reproduce --dry-run", () => {
  it("checks each setting and lists the grid's settings and run count, writing nothing", () => {
    const dir = emptyDir("grid");
    const r = slt(dir, "reproduce", "--only", "digits", "--seeds", "2", "--dry-run");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/1 settings, 2 runs/);
    expect(r.stdout).toMatch(/\| digits-3 \[64,75,3\] GA, loss \| 2 \| digits-3: \d+ \/ \d+ rows \| 1 \|/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("marks a setting that would fail and exits 1, as the real grid would", () => {
    const dir = emptyDir("grid-bad");
    const r = slt(dir, "reproduce", "--only", "digits", "--generations", "0", "--dry-run");
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAILED: slt run .* exited with 2: .*E_CONFIG/);
    expect(r.stderr).toContain("1 run(s) failed");
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("limits a run is checked for before it starts", () => {
  it("warns when nothing but a signal can end the run, and not when a cap does", () => {
    const dir = emptyDir("unbounded");
    const args = ["run", "--islands", "1", "--dataset", "moons", "--preset", "2024-ga", "--dry-run"];
    const unbounded = slt(dir, ...args, "--termination", "none");
    expect(unbounded.code, unbounded.stderr).toBe(0);
    expect(unbounded.stderr).toMatch(/warning: this run has no generation cap.*runs until stopped/);
    const capped = slt(dir, ...args, "--termination", "none", "--generations", "50");
    expect(capped.code, capped.stderr).toBe(0);
    expect(capped.stderr).not.toMatch(/warning/);
    // the 2024 rule (a plateau of 50 generations) ends an uncapped run by itself
    const ruled = slt(dir, ...args);
    expect(ruled.stderr).not.toMatch(/warning/);
  });

  it("--mutation-rate, --crossover-rate, --elite-fraction and --newcomer-fraction set the GA's rates", () => {
    const rates = ["--mutation-rate", "0.2", "--crossover-rate", "0.5", "--elite-fraction", "0.4"];
    const r = slt(
      emptyDir("rates"),
      "run",
      "--islands",
      "2",
      ...rates,
      "--newcomer-fraction",
      "0",
      "--dry-run",
      "--json",
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).config.ga).toMatchObject({
      mutationRate: 0.2,
      crossoverRate: 0.5,
      eliteFraction: 0.4,
      newcomerFraction: 0,
    });
    const bad = slt(emptyDir("rates-bad"), "run", "--islands", "1", "--elite-fraction", "0", "--dry-run");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/E_CONFIG[\s\S]*ga\.eliteFraction: got 0/);
  });

  it("--time-limit is for one population too (issue 11: equal wall-clock); a bad value is E_CONFIG", () => {
    const r = slt(
      emptyDir("time-limit"),
      "run",
      "--islands",
      "1",
      "--time-limit",
      "5",
      "--dry-run",
      "--json",
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).config.cluster.timeLimitSeconds).toBe(5);
    // and a value that is no time at all, with the flag named (it used to reach the schema as NaN)
    const bad = slt(emptyDir("time-limit-nan"), "run", "--islands", "2", "--time-limit", "soon", "--dry-run");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/E_CONFIG: --time-limit: got "soon"; expected a finite number of seconds > 0/);
  });
});
