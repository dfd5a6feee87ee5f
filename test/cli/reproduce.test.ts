import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { experimentGrid, markdownTable, topologyGrid } from "../../src/coordinator/reproduce.ts";
import type { RunSummary } from "../../src/coordinator/single-population.ts";

const CLI = resolve(import.meta.dirname, "../../src/cli.ts");
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

  it("summarises runs as mean / median / std", () => {
    const run = (testAccuracy: number, sparsity: number) =>
      ({
        testAccuracy,
        sparsity,
        bestTestAccuracyInPopulation: testAccuracy,
        prunedTestAccuracy: null,
        prunedSparsity: null,
        generations: 10,
        evaluations: 500,
      }) as unknown as RunSummary;
    const table = markdownTable(
      [
        {
          setting: { label: "x", args: [] },
          runs: [run(0.9, 0.5), run(0.8, 0.7), run(1, 0.6)],
          failures: [],
        },
      ],
      "# t",
    );
    expect(table).toContain(
      "| x | 3 | 0 | 10 | 500 | 0.9000 / 0.9000 / 0.1000 | 0.9000 / 0.9000 / 0.1000 | 0.6000 / 0.6000 / 0.1000 | – | – |",
    );
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

  it("quick topology grid runs islands end to end", () => {
    const out = join(work, "topology");
    const r = spawnSync(
      process.execPath,
      [CLI, "reproduce", "--grid", "topology", "--level", "quick", "--prune", "none", "--out", out],
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
      // every run spent the budget of 400 evaluations (plus at most a generation per island)
      expect(Number(m?.[1])).toBeGreaterThanOrEqual(400);
      expect(Number(m?.[1])).toBeLessThan(400 + 2 * 20);
    }
    expect(r.stdout).toMatch(/evaluation budget 400 per run/);
  });

  it("quick level runs end to end and writes results.md", () => {
    const r = spawnSync(
      process.execPath,
      [CLI, "reproduce", "--level", "quick", "--only", "digits", "--out", work],
      { encoding: "utf8" },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\| digits-3 \[64,75,3\] GA, loss \| 1 \| 0 \| 5 \| \d+ \|/);
    expect(readFileSync(join(work, "results.md"), "utf8")).toBe(r.stdout);
  });
});
