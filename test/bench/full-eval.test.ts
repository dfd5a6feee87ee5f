// bench/full-eval.ts's NumPy peer on its smallest workload: the `path: "numpy"` lines next to ours when
// python3 and NumPy are present (same metrics on the same masks), one `skipped` line when they are not.
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const BENCH = resolve(import.meta.dirname, "../../bench/full-eval.ts");
const numpy = spawnSync("python3", ["-c", "import numpy"]).status === 0;

function run(env: Record<string, string> = {}): Record<string, unknown>[] {
  const r = spawnSync(process.execPath, [BENCH, "--quick", "--json", "--datasets", "digits-10"], {
    encoding: "utf8",
    timeout: 110_000,
    env: { ...process.env, ...env },
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("bench/full-eval.ts, the NumPy peer", () => {
  it.skipIf(!numpy)("prints path numpy lines for 1 and 2 BLAS threads that agree with our metrics", () => {
    const figures = run();
    const ours = figures.filter((f) => f.path === undefined);
    expect(ours.map((f) => f.threads).sort()).toEqual([0, 1, 2]);
    const peer = figures.filter((f) => f.path === "numpy");
    expect(peer.map((f) => f.threads)).toEqual([1, 2]);
    for (const f of peer) {
      expect(f).toMatchObject({ bench: "full-eval", dataset: "digits-10", samples: 1347, population: 100 });
      expect(f.skipped).toBeUndefined();
      expect(f.evals_per_s).toBeGreaterThan(0);
      expect(typeof f.numpy).toBe("string");
      expect(f.blas).toHaveProperty("name");
      // every cross-check mask was compared; Float32 BLAS may move an argmax by a row or two, no more
      expect(f.agreement).toMatchObject({ masks: 100, agrees: true });
      const a = f.agreement as { max_accuracy_diff_rows: number; max_loss_diff: number };
      expect(a.max_accuracy_diff_rows).toBeLessThanOrEqual(5);
      expect(a.max_loss_diff).toBeLessThan(1e-4);
    }
  });

  it("prints one skipped line, and still succeeds, when Python cannot be run", () => {
    const figures = run({ SLT_BENCH_PYTHON: "/nonexistent/python3" });
    expect(figures.filter((f) => f.path === undefined)).toHaveLength(3);
    const peer = figures.filter((f) => f.path === "numpy");
    expect(peer).toHaveLength(1);
    expect(peer[0]).toMatchObject({ dataset: "digits-10", path: "numpy" });
    expect(String(peer[0].skipped)).toContain("/nonexistent/python3 not runnable");
  });
});
