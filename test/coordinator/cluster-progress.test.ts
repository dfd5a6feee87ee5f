// The cluster's progress block as a pure function: what each line says, from an explicit view.
import { describe, expect, it } from "vitest";
import {
  type ClusterView,
  clusterEta,
  finishedBy,
  type IslandView,
  renderClusterProgress,
} from "../../src/coordinator/cluster-progress.ts";
import type { ReportBody } from "../../src/core/protocol/index.ts";

const report = (generation: number, bestAccuracy: number, evaluations = generation * 100): ReportBody =>
  ({
    island: 0,
    generation,
    evaluations,
    evaluationsPerSecond: 200,
    bestFitness: bestAccuracy,
    bestAccuracy,
    bestLoss: 0.5,
    bestSparsity: 0.5,
    verdict: null,
  }) as unknown as ReportBody;

const island = (id: number, over: Partial<IslandView> = {}): IslandView => ({
  id,
  host: "vm",
  lost: false,
  finished: null,
  report: report(100, 0.9),
  rates: { generationsPerSecond: 10, evaluationsPerSecond: 1000 },
  ...over,
});

const view = (islands: IslandView[], over: Partial<ClusterView> = {}): ClusterView => ({
  elapsedSeconds: 12.34,
  fitness: "accuracy",
  maxGenerations: 300,
  migrants: { sent: 8, accepted: 5 },
  stopping: null,
  islands,
  ...over,
});

describe("cluster progress", () => {
  it("says nothing before the first report", () => {
    expect(renderClusterProgress(view([island(0, { report: null })]))).toBeNull();
  });

  it("heads with the generation range against the cap, the best island, the budget and the ETA", () => {
    const lines = renderClusterProgress(
      view([island(0, { report: report(100, 0.9) }), island(1, { report: report(120, 0.95) })], {
        maxEvaluations: 40_000,
      }),
    ) as string[];
    expect(lines).toHaveLength(3);
    expect(lines[0]).toContain("[12.3s] 2/2 islands  gen 100–120/300  best acc 0.9500 (island 1)");
    expect(lines[0]).toContain("evals 22000/40000  400 evals/s  migrants sent 8 accepted 5");
    // the slower island needs 200 generations at 10 per second: the run's ETA is the last island's
    expect(lines[0]).toMatch(/eta 20s \(generation cap\)$/);
    expect(lines[2]).toMatch(
      /^ {2}island 1 {2}vm {4}gen {4}120\/300 {2}acc 0\.9500 {2}sparsity 0\.500 +200 evals\/s$/,
    );
  });

  it("names what ended each island and marks lost ones, which no longer count as live", () => {
    const lines = renderClusterProgress(
      view(
        [
          island(0, { finished: "generation cap", report: report(300, 0.9) }),
          island(1, { finished: "evaluation budget", report: report(250, 0.8) }),
          island(2, { lost: true, report: report(50, 0.99) }),
        ],
        { stopping: "max-generations" },
      ),
    ) as string[];
    expect(lines[0]).toContain("2/3 islands");
    // the lost island's better accuracy is not the run's best
    expect(lines[0]).toContain("best acc 0.9000 (island 0)");
    expect(lines[0]).toMatch(/stopping: max-generations$/);
    expect(lines[1]).toMatch(/at cap$/);
    expect(lines[2]).toMatch(/at budget$/);
    expect(lines[3]).toMatch(/LOST$/);
  });

  it("has no /cap and no ETA without a cap, budget or time limit", () => {
    const lines = renderClusterProgress(view([island(0)], { maxGenerations: null })) as string[];
    expect(lines[0]).toContain("gen 100  best");
    expect(lines[0]).not.toContain("eta");
  });

  it("stops the ETA at the time limit when it comes first, and waits for islands without a report", () => {
    const v = view([island(0)], { timeLimit: { limitSeconds: 5, elapsedSeconds: 2 } });
    expect(clusterEta(v, v.islands)).toEqual({ seconds: 3, by: "time limit" });
    const waiting = view([island(0), island(1, { report: null })]);
    expect(clusterEta(waiting, waiting.islands)).toBeNull();
  });

  it("an island below the cap, or with none, can only have finished at its budget share", () => {
    expect(finishedBy(300, 300)).toBe("generation cap");
    expect(finishedBy(120, 300)).toBe("evaluation budget");
    expect(finishedBy(5000, null)).toBe("evaluation budget");
  });
});
