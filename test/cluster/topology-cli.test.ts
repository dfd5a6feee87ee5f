// `slt run --topology custom:FILE` and `--migration-probability P`: custom edge lists and probability
// weights from the command line, in child processes on loopback.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, scratchDir } from "../cli/helpers.ts";

const work = scratchDir("slt-topology-cli-");
const slt = (args: string[]) => runCli(work, args);

const small = ["--dataset", "digits-3", "--population", "20", "--prune", "none", "--out", work];

function events(runDir: string): Record<string, unknown>[] {
  return readFileSync(join(runDir, "events.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
}

describe("custom topologies and probability weights from the command line", () => {
  it("runs a custom edge list with probability weights; its island count is the file's", () => {
    const file = join(work, "tri.json");
    writeFileSync(
      file,
      JSON.stringify({
        n: 3,
        weights: "probability",
        edges: [
          { from: 0, to: 1, weight: 1 },
          { from: 1, to: 2, weight: 1 },
          { from: 2, to: 0, weight: 1 },
          [0, 2, 0.5],
        ],
      }),
    );
    const r = slt([
      "run",
      ...small,
      "--topology",
      "custom:tri.json",
      "--generations",
      "12",
      "--interval",
      "2",
      "--migrants",
      "2",
      "--name",
      "custom3",
      "--json",
    ]);
    expect(r.stderr).not.toMatch(/unexpected error/);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout.trim());
    expect(s.islands).toHaveLength(3);
    expect(s.topology).toBe("custom (3 islands, 4 edges, probability weights)");
    expect(s.stopReason).toBe("max-generations");
    expect(s.migrations.sent).toBeGreaterThan(0);
    // config.json holds the edges themselves, so the run can be repeated from it alone
    const config = JSON.parse(readFileSync(join(s.runDir, "config.json"), "utf8"));
    expect(config.cluster.islands).toBe(3);
    expect(config.cluster.topology.weights).toBe("probability");
    expect(config.cluster.topology.edges).toHaveLength(4);
    const topo = events(s.runDir).find((e) => e.type === "topology") as Record<string, unknown>;
    expect(topo).toMatchObject({ n: 3, weights: "probability", removed: [] });
    expect((topo.edges as { weight: number }[]).map((e) => e.weight)).toEqual([1, 0.5, 1, 1]);
  });

  it("--migration-probability gives a built-in topology probability weights", () => {
    const r = slt([
      "run",
      ...small,
      "--islands",
      "2",
      "--topology",
      "ring",
      "--migration-probability",
      "0.5",
      "--generations",
      "6",
      "--interval",
      "2",
      "--name",
      "ring-p",
      "--json",
    ]);
    expect(r.stderr).not.toMatch(/unexpected error/);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout.trim());
    expect(s.topology).toBe("ring p=0.5");
    const topo = events(s.runDir).find((e) => e.type === "topology") as Record<string, unknown>;
    expect(topo).toMatchObject({ weights: "probability" });
    expect((topo.edges as { weight: number }[]).every((e) => e.weight === 0.5)).toBe(true);
  });

  it("refuses bad topology files and contradictory settings before starting anything, naming the file and field", () => {
    const missing = slt(["run", ...small, "--topology", "custom:nowhere.json"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/E_TOPOLOGY: topology file .*nowhere\.json: cannot read it: ENOENT/);

    writeFileSync(join(work, "notjson.json"), "{n: 3");
    const notJson = slt(["run", ...small, "--topology", "custom:notjson.json"]);
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toMatch(/topology file .*notjson\.json: not valid JSON/);

    writeFileSync(
      join(work, "bad.json"),
      JSON.stringify({
        n: 3,
        edges: [
          [0, 1],
          [1, 5],
        ],
      }),
    );
    const bad = slt(["run", ...small, "--topology", "custom:bad.json"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /topology file .*bad\.json: custom topology: edges\[1\]\.to = 5 is not an island id; ids are integers from 0 to 2/,
    );

    writeFileSync(
      join(work, "loop.json"),
      JSON.stringify({ n: 2, weights: "probability", edges: [[0, 1, 2]] }),
    );
    const weight = slt(["run", ...small, "--topology", "custom:loop.json"]);
    expect(weight.code).toBe(2);
    expect(weight.stderr).toMatch(
      /edges\[0\]\.weight = 2 is not a valid probability; probability weights satisfy 0 < p ≤ 1/,
    );

    writeFileSync(join(work, "two.json"), JSON.stringify({ n: 2, edges: [[0, 1]] }));
    const islands = slt(["run", ...small, "--islands", "3", "--topology", "custom:two.json"]);
    expect(islands.code).toBe(2);
    expect(islands.stderr).toMatch(/--islands 3 disagrees with the topology file two\.json, which has n = 2/);

    const mixed = slt(["run", ...small, "--topology", "custom:two.json", "--migration-probability", "0.5"]);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/cluster\.topology: a migration probability applies to built-in topologies/);

    const range = slt(["run", ...small, "--islands", "2", "--migration-probability", "1.5"]);
    expect(range.code).toBe(2);
    expect(range.stderr).toMatch(/cluster\.migrationProbability: got 1\.5/);

    // in a config file, custom:FILE is relative to the config file
    mkdirSync(join(work, "conf"), { recursive: true });
    writeFileSync(
      join(work, "conf", "run.json"),
      JSON.stringify({ cluster: { topology: "custom:gone.json" } }),
    );
    const conf = slt(["run", ...small, "--config", "conf/run.json"]);
    expect(conf.code).toBe(2);
    expect(conf.stderr).toMatch(/topology file .*conf[/\\]gone\.json: cannot read it/);
  });

  it("refuses 0 migrants on a topology with edges, from a flag or a config file, in one line", () => {
    const flag = slt(["run", ...small, "--islands", "2", "--topology", "ring", "--migrants", "0"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(
      /^slt: error E_CONFIG: .*cluster\.migrants: got 0 with topology ring, which would migrate nothing; allowed 1\.\.1024, or 0 only with topology "isolated"\n$/,
    );
    writeFileSync(join(work, "zero.json"), JSON.stringify({ cluster: { topology: "full", migrants: 0 } }));
    const file = slt(["run", ...small, "--islands", "2", "--config", "zero.json"]);
    expect(file.code).toBe(2);
    expect(file.stderr).toMatch(
      /^slt: error E_CONFIG: .*zero\.json.*cluster\.migrants: got 0 with topology full/,
    );
  });
});
