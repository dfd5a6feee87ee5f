import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  experimentGrid,
  markdownTable,
  type SettingResults,
  topologyGrid,
} from "../../src/coordinator/reproduce.ts";
import type { RunSummary } from "../../src/coordinator/single-population.ts";
import { CLI } from "./helpers.ts";

const work = mkdtempSync(join(tmpdir(), "slt-repro-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("slt reproduce", () => {
  it("the full grid holds the papers' settings", () => {
    const labels = experimentGrid("full").map((s) => s.label);
    for (const d of ["moons", "circles"]) {
      for (const a of ["2,20,2", "2,75,2", "2,100,2", "2,50,50,2"]) {
        expect(labels).toContain(`${d} [${a}] GA`);
        expect(labels).toContain(`${d} [${a}] GA (adaptive AB)`);
      }
    }
    expect(labels).toContain("digits-10 [64,75,10] GA, loss");
    expect(labels.filter((l) => l.startsWith("blobs-")).length).toBeGreaterThan(1);
  });

  it("names every setting of every grid distinctly, readably, as a valid run folder", () => {
    for (const level of ["quick", "full"] as const) {
      for (const grid of [experimentGrid(level), topologyGrid(level)]) {
        const names = grid.map((s) => s.name);
        expect(new Set(names).size, names.join(" ")).toBe(names.length);
        for (const name of names) expect(name).toMatch(/^[a-z0-9-]+x[0-9x]+-[a-z0-9x-]+$/);
      }
    }
    const names = experimentGrid("full").map((s) => s.name);
    for (const n of ["moons-2x20x2-ga", "moons-2x20x2-ab", "circles-2x50x50x2-ab", "blobs-4-2x100x4-loss"])
      expect(names).toContain(n);
    expect(topologyGrid("quick").map((s) => s.name)).toEqual([
      "digits-3-64x75x3-single-1x20",
      "digits-3-64x75x3-isolated-2x10",
      "digits-3-64x75x3-ring-2x10",
      "digits-3-64x75x3-full-2x10",
    ]);
  });

  const run = (testAccuracy: number, sparsity: number, pruneEvaluations = 0) =>
    ({
      testAccuracy,
      sparsity,
      bestTestAccuracyInPopulation: testAccuracy,
      prunedTestAccuracy: pruneEvaluations ? testAccuracy : null,
      prunedSparsity: pruneEvaluations ? sparsity : null,
      pruneMode: pruneEvaluations ? "clean" : "none",
      generations: 10,
      evaluations: 500,
      pruneEvaluations,
    }) as unknown as RunSummary;
  const row = (runs: RunSummary[]): SettingResults => ({
    setting: { label: "x", name: "x", args: [] },
    runs,
    failures: [],
  });

  it("summarises runs as mean / median / std", () => {
    const table = markdownTable([row([run(0.9, 0.5), run(0.8, 0.7), run(1, 0.6)])], "# t");
    expect(table).toContain("| generations (median) | search evaluations (median) | test acc. |");
    expect(table).toContain(
      "| x | 3 | 0 | 10 | 500 | 0.9000 / 0.9000 / 0.1000 | 0.9000 / 0.9000 / 0.1000 | 0.6000 / 0.6000 / 0.1000 |",
    );
    // no run pruned: no pruning columns at all
    expect(table).not.toContain("pruned");
  });

  it("shows pruning's evaluations in a column of their own when runs pruned", () => {
    const table = markdownTable([row([run(0.9, 0.5, 70), run(0.8, 0.7, 90), run(1, 0.6, 80)])], "# t");
    expect(table).toContain("| search evaluations (median) | pruning evaluations (median) | test acc. |");
    expect(table).toMatch(/^\| x \| 3 \| 0 \| 10 \| 500 \| 80 \| 0\.9000 /m);
    expect(table).toContain("| sparsity | pruned test acc. | pruned sparsity |");
    const header = table.split("\n").find((l) => l.startsWith("| setting")) as string;
    const rule = table.split("\n").find((l) => l.startsWith("| ---")) as string;
    expect(rule.split("|").length).toBe(header.split("|").length);
  });

  it("the topology grid compares one population with island topologies of the same total size", () => {
    const grid = topologyGrid("full");
    expect(grid.map((s) => s.label)).toEqual([
      "digits-10 [64,75,10] single population (1×100)",
      "digits-10 [64,75,10] isolated islands (4×25)",
      "digits-10 [64,75,10] ring (4×25)",
      "digits-10 [64,75,10] fully connected (4×25)",
    ]);
    for (const s of grid.slice(1)) {
      expect(s.args).toEqual(expect.arrayContaining(["--islands", "4", "--population", "25", "async"]));
      expect(s.processes).toBe(4);
    }
    for (const s of grid)
      expect(s.args).toEqual(expect.arrayContaining(["--termination", "none", "--max-evaluations", "50000"]));
    expect(grid[0].args).toEqual(expect.arrayContaining(["--islands", "1", "--population", "100"]));
  });

  it("quick topology grid runs islands end to end, unpruned by default, each run in its setting's folder", () => {
    const out = join(work, "topology");
    const r = spawnSync(
      process.execPath,
      [CLI, "reproduce", "--grid", "topology", "--level", "quick", "--out", out],
      { encoding: "utf8" },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^### Topology study \(quick\)/);
    for (const row of [
      "single population (1×20)",
      "isolated islands (2×10)",
      "ring (2×10)",
      "fully connected (2×10)",
    ]) {
      const m = new RegExp(
        `\\| digits-3 \\[64,75,3\\] ${row.replace(/[()]/g, "\\$&")} \\| 1 \\| 0 \\| \\d+ \\| (\\d+) \\|`,
      ).exec(r.stdout);
      expect(m, row).not.toBeNull();
      // every run spent the budget of 400 search evaluations (plus at most a generation per island)
      expect(Number(m?.[1])).toBeGreaterThanOrEqual(400);
      expect(Number(m?.[1])).toBeLessThan(400 + 2 * 10);
    }
    expect(r.stdout).not.toMatch(/pruning evaluations/);
    // the header states what was run
    for (const fact of [
      "--prune none",
      "grid topology, level quick, seeds 1…1",
      "digits-3 [64,75,3] with preset 2025-multiclass and no termination rule",
      "budget 400 search evaluations per run",
      "single population 1×20; 2 islands of population 10 each",
      "topologies isolated, ring, full: migration every 5 generations, 2 migrants per out-edge, replacement worst, selection best, async",
      "pruning `none`",
    ])
      expect(r.stdout).toContain(fact);
    // the grid is a sweep (sweeps/topology-quick.json): its folder also holds the sweep's spec, records
    // and report
    expect(readdirSync(out).sort()).toEqual(
      [
        ...topologyGrid("quick").map((s) => `${s.name}-s1`),
        ...["report.html", "results.md", "spec.json", "sweep.jsonl"],
      ].sort(),
    );
    const records = readFileSync(join(out, "sweep.jsonl"), "utf8").trim().split("\n");
    expect(records.map((l) => JSON.parse(l).status)).toEqual(["ok", "ok", "ok", "ok"]);
    // the same command again runs nothing and prints the same table
    const again = spawnSync(
      process.execPath,
      [CLI, "reproduce", "--grid", "topology", "--level", "quick", "--out", out],
      { encoding: "utf8" },
    );
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toContain("4 of 4 runs already done");
    const rows = (t: string) => t.split("\n").filter((l) => l.startsWith("| digits-3"));
    expect(rows(again.stdout)).toEqual(rows(r.stdout));
  });

  it("a pruned topology run counts pruning's evaluations apart from the search's budget", () => {
    const out = join(work, "topology-pruned");
    const r = spawnSync(
      process.execPath,
      [
        CLI,
        "reproduce",
        "--grid",
        "topology",
        "--level",
        "quick",
        "--only",
        "ring",
        "--prune",
        "clean",
        "--out",
        out,
      ],
      { encoding: "utf8" },
    );
    expect(r.status, r.stderr).toBe(0);
    const m = /\| digits-3 \[64,75,3\] ring \(2×10\) \| 1 \| 0 \| \d+ \| (\d+) \| (\d+) \|/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    expect(Number(m?.[1])).toBeLessThan(400 + 2 * 10);
    expect(Number(m?.[2])).toBeGreaterThan(0);
    const events = readFileSync(join(out, "digits-3-64x75x3-ring-2x10-s1", "events.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const prune = events.find((e) => e.type === "prune");
    const end = events.at(-1);
    expect(end).toMatchObject({ type: "end", evaluations: Number(m?.[1]), pruneEvaluations: Number(m?.[2]) });
    expect(prune.pruneEvaluations).toBe(end.pruneEvaluations);
    expect(r.stdout).toContain("pruning `clean`");
  });

  it("quick level runs end to end and writes results.md", () => {
    const r = spawnSync(
      process.execPath,
      [CLI, "reproduce", "--level", "quick", "--only", "digits", "--out", work],
      { encoding: "utf8" },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\| digits-3 \[64,75,3\] GA, loss \| 1 \| 0 \| 5 \| \d+ \| \d+ \|/);
    expect(r.stdout).toContain("pruning evaluations (median)");
    expect(readFileSync(join(work, "results.md"), "utf8")).toBe(r.stdout);
    expect(readdirSync(work)).toContain("digits-3-64x75x3-loss-s1");
  });
});
