// The defaults `slt run --help` states are the ones a run gets: each is read from the help text and
// compared with the configuration resolved from nothing.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/core/config.ts";
import { defaultDataSeed } from "../../src/core/datasets/index.ts";
import { referenceBoundSecondsPerTry } from "../../src/core/ga/index.ts";
import { CLI } from "./helpers.ts";

/** flag → its description, continuation lines joined */
function optionHelp(command: string): Map<string, string> {
  const r = spawnSync(process.execPath, [CLI, command, "--help"], { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  const options = new Map<string, string>();
  let current = "";
  for (const line of r.stdout.split("\n")) {
    const m = /^ {2}(-[-\w]+)(?: <\w+>)?\s+(.*)$/.exec(line);
    if (m) {
      current = m[1];
      options.set(current, m[2]);
    } else if (current && /^\s{10,}\S/.test(line)) {
      options.set(current, `${options.get(current)} ${line.trim()}`);
    }
  }
  return options;
}

/** the first "default X" in a description */
function statedDefault(text: string | undefined): string | undefined {
  return /\bdefault:? ([\w.:-]+?)[,;)]?(?:\s|$)/.exec(text ?? "")?.[1];
}

describe("slt run --help", () => {
  const help = optionHelp("run");
  const c = resolveConfig({ source: "nothing", patch: {} });
  const actual: Record<string, string | number> = {
    "--dataset": c.dataset.name as string,
    "--variant": c.dataset.variant,
    "--data-seed": c.dataset.dataSeed ?? defaultDataSeed("moons"),
    "--init": `${c.network.init.kind}:${"range" in c.network.init ? c.network.init.range : ""}`,
    "--population": c.ga.population,
    "--mutation-rate": c.ga.mutationRate,
    "--crossover-rate": c.ga.crossoverRate,
    "--elite-fraction": c.ga.eliteFraction,
    "--newcomer-fraction": c.ga.newcomerFraction,
    "--seed": c.seed,
    "--preset": c.preset as string,
    "--out": c.out,
    "--topology": c.cluster.topology as string,
    "--interval": c.cluster.interval,
    "--migrants": c.cluster.migrants,
    "--policy": c.cluster.replacement,
    "--selection": c.cluster.selection,
    "--mode": c.cluster.mode,
    "--prune-order": c.pruneOrder,
    // filled in by the run from the data (run-data.ts): moons [2,75,2], 50 000 training rows
    "--bound-seconds-per-try": referenceBoundSecondsPerTry([2, 75, 2], 50_000),
  };
  for (const [flag, value] of Object.entries(actual)) {
    it(`${flag} states the default a run gets`, () => {
      expect(statedDefault(help.get(flag)), help.get(flag)).toBe(String(value));
    });
  }

  it("describes the default run as the island cluster, not one population", () => {
    const r = spawnSync(process.execPath, [CLI, "--help"], { encoding: "utf8" });
    const run = /^ {2}run \[options\]\s+([\s\S]*?)\n {2}\S/m.exec(r.stdout)?.[1] ?? "";
    expect(run.replace(/\s+/g, " ")).toMatch(/by default one island process per core/);
  });
});
