// bench/offspring-eval.ts's issue-12 figures on their smallest workload: offspring cost by Hamming
// distance, one GA generation from a converged population, and the mnist target lines (skipped when
// mnist is not measured). The benchmark exits non-zero if any path's results differ from the batch
// evaluator's or the reference evaluator's, so a zero exit means the results were checked.
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";

const BENCH = resolve(import.meta.dirname, "../../bench/offspring-eval.ts");
const DISTANCES = [1, 4, 16, 64, 256];

describe("bench/offspring-eval.ts --quick, issue 12's figures", () => {
  let figures: Record<string, unknown>[] = [];
  beforeAll(() => {
    const r = spawnSync(process.execPath, [BENCH, "--quick", "--json", "--datasets", "digits-10"], {
      encoding: "utf8",
      timeout: 110_000,
    });
    expect(r.status, r.stderr).toBe(0);
    figures = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }, 120_000);

  it("keeps the mutant and child lines", () => {
    const old = figures.filter((f) => f.figure === undefined);
    expect(new Set(old.map((f) => f.kind))).toEqual(new Set(["mutant", "child"]));
  });

  it("prints one distance line per path and distance, with the full-evaluation cost beside it", () => {
    const lines = figures.filter((f) => f.figure === "distance");
    expect(lines.map((f) => `${f.path} ${f.distance}`)).toEqual([
      ...DISTANCES.map((d) => `batch ${d}`),
      ...DISTANCES.map((d) => `pool ${d}`),
    ]);
    for (const f of lines) {
      expect(f).toMatchObject({
        bench: "offspring-eval",
        dataset: "digits-10",
        arch: [64, 75, 10],
        quick: true,
      });
      expect(f.threads).toBe(f.path === "pool" ? 2 : 0);
      expect(f.ms_per_offspring).toBeGreaterThan(0);
      expect(f.full_ms).toBeGreaterThan(0);
      expect(f.ratio).toBeCloseTo((f.ms_per_offspring as number) / (f.full_ms as number), 1);
      // the parent and one offspring per distance were checked against the reference evaluator
      expect(f.reference_checked_masks).toBe(1 + DISTANCES.length);
      expect(f.offspring_timed).toBeGreaterThan(0);
    }
  });

  it("prints one generation line: a GA step's children, mutants and newcomers, checked", () => {
    const [g, ...more] = figures.filter((f) => f.figure === "generation");
    expect(more).toHaveLength(0);
    expect(g).toMatchObject({
      dataset: "digits-10",
      path: "pool",
      threads: 2,
      population: 100,
      newcomers: 10,
    });
    expect(g.seconds).toBeGreaterThan(0);
    expect(g.children).toBeGreaterThan(0);
    expect(g.mutants).toBeGreaterThan(0);
    expect(g.checked_masks).toBe(100);
    // members are GEN_SPREAD = 2 bits from a common base: pairwise at most 4 bits apart
    expect(g.mean_pairwise_hamming).toBeGreaterThan(0);
    expect(g.mean_pairwise_hamming).toBeLessThanOrEqual(4);
  });

  it("prints both mnist target lines, skipped when mnist is not measured", () => {
    const targets = figures.filter((f) => f.figure === "target");
    expect(targets.map((f) => f.target)).toEqual([
      "one-bit mutant on MNIST ≤ 20 ms",
      "MNIST generation of population 100 ≤ 3 s on 2 cores",
    ]);
    for (const t of targets)
      expect(t).toMatchObject({ dataset: "mnist", met: null, skipped: "mnist not in --datasets" });
  });
});
