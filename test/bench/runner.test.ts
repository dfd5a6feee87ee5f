// The benchmark runner as `npm run bench -- --json` runs it, on its smallest workload: stdout is JSON
// lines only, each figure with the fields issue 4 asks for.
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const RUNNER = resolve(import.meta.dirname, "../../bench/run.ts");

describe("bench/run.ts", () => {
  it("--quick --only full-eval --json prints one valid JSON line per figure", () => {
    const r = spawnSync(
      process.execPath,
      [RUNNER, "--quick", "--only", "full-eval", "--json", "--datasets", "digits-10"],
      { encoding: "utf8", timeout: 90_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    // the NumPy peer's lines (path "numpy", when python3 has NumPy) are test/bench/full-eval.test.ts's
    const figures = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((f) => f.path === undefined);
    expect(figures.map((f) => f.threads).sort()).toEqual([0, 1, 2]);
    for (const f of figures) {
      expect(f).toMatchObject({
        bench: "full-eval",
        dataset: "digits-10",
        arch: [64, 75, 10],
        samples: 1347,
        population: 100,
        cores: availableParallelism(),
        node: process.version,
        quick: true,
      });
      expect(f.evals_per_s).toBeGreaterThan(0);
    }
    // progress goes to stderr, never into the JSON stream
    expect(r.stderr).toContain("full-eval");
  });

  it("refuses an unknown benchmark name", () => {
    const r = spawnSync(process.execPath, [RUNNER, "--only", "no-such-bench"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown benchmark no-such-bench");
  });
});
