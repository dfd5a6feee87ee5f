import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { experimentGrid, markdownTable } from "../../src/coordinator/reproduce.ts";
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
      "| x | 3 | 0 | 10 | 0.9000 / 0.9000 / 0.1000 | 0.9000 / 0.9000 / 0.1000 | 0.6000 / 0.6000 / 0.1000 | – | – |",
    );
  });

  it("quick level runs end to end and writes results.md", () => {
    const r = spawnSync(
      process.execPath,
      [CLI, "reproduce", "--level", "quick", "--only", "digits", "--out", work],
      { encoding: "utf8" },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\| digits-3 \[64,75,3\] GA, loss \| 1 \| 0 \| 5 \|/);
    expect(readFileSync(join(work, "results.md"), "utf8")).toBe(r.stdout);
  });
});
