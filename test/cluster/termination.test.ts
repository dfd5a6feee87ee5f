// Global termination by the coordinator, with real island processes on loopback: islands report their
// own rule's verdict and go on; the coordinator stops the run and says why.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { type ClusterSummary, runCluster } from "../../src/coordinator/cluster.ts";
import { type ConfigPatch, resolveConfig } from "../../src/core/config.ts";
import { evaluationShare } from "../../src/core/ga/index.ts";
import { makeEvaluator } from "../../src/evaluator/index.ts";
import { silentLogger } from "../../src/io/log.ts";

const work = mkdtempSync(join(tmpdir(), "slt-termination-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function events(summary: ClusterSummary): Record<string, unknown>[] {
  return readFileSync(join(summary.runDir, "events.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
}

function config(name: string, patch: ConfigPatch) {
  return resolveConfig({ source: "test", patch: { name, out: work, prune: "none", ...patch } });
}

describe("global termination", () => {
  it("stops with all-plateaued once every island reports a plateau; progress shows every island", async () => {
    // [2,3,2] on moons: nothing beats the first plateau, so the 2024 rule (best unchanged for 50
    // generations, at least 100 run) fires on every island long before the cap
    const progress = new PassThrough();
    let text = "";
    progress.on("data", (d) => {
      text += d;
    });
    const summary = await runCluster(
      config("plateau3", {
        seed: 3,
        dataset: { name: "moons" },
        network: { architecture: [2, 3, 2] },
        ga: { population: 10 },
        termination: { rule: "2024", maxGenerations: 100_000 },
        cluster: { islands: 3, topology: "ring", interval: 5, migrants: 1 },
      }),
      { makeEvaluator, logger: silentLogger(), progress },
    );
    expect(summary.stopReason).toBe("all-plateaued");
    expect(summary.lost).toEqual([]);
    for (const i of summary.islands) {
      expect(i.generations).toBeGreaterThanOrEqual(100);
      expect(i.generations).toBeLessThan(100_000);
    }
    const ev = events(summary);
    const decision = ev.find((e) => e.type === "termination") as {
      reason: string;
      islands: { island: number; verdict: string | null; finished: string | null }[];
    };
    expect(decision.reason).toBe("all-plateaued");
    expect(decision.islands.map((i) => i.island)).toEqual([0, 1, 2]);
    for (const i of decision.islands) expect(i).toMatchObject({ verdict: "plateau", finished: null });
    expect(ev.find((e) => e.type === "stop")).toMatchObject({ reason: "all-plateaued" });
    expect(ev[ev.length - 1]).toMatchObject({ type: "end", stopReason: "all-plateaued" });
    // islands kept evolving after their first plateau verdict: the verdict came with a report, not a ticket
    const firstPlateau = ev.findIndex((e) => e.type === "report" && e.verdict === "plateau");
    expect(firstPlateau).toBeGreaterThan(0);
    expect(ev.findIndex((e) => e.type === "ticket")).toBeGreaterThan(firstPlateau);

    // host figures from the sampler reach events.jsonl
    const reports = ev.filter((e) => e.type === "report") as {
      host: { cpuPercent: number | null; memoryUsedBytes: number; memoryTotalBytes: number };
    }[];
    for (const r of reports) {
      expect(r.host.memoryUsedBytes).toBeLessThanOrEqual(r.host.memoryTotalBytes);
      if (r.host.cpuPercent !== null) {
        expect(r.host.cpuPercent).toBeGreaterThanOrEqual(0);
        expect(r.host.cpuPercent).toBeLessThanOrEqual(100);
      }
    }
    // (the CPU figure needs a first sampling interval, which a fast run may not outlast)
    for (const r of reports) expect(r.host.memoryTotalBytes).toBeGreaterThan(0);

    // progress: a run line (generations against the cap), then one line per island, each with
    // generation, accuracy, sparsity, rate
    const lines = text.split("\n");
    expect(lines.some((l) => /^\[\d+\.\ds\] 3\/3 islands {2}gen (\d+–)?\d+\/\d+ {2}best acc /.test(l))).toBe(
      true,
    );
    for (const id of [0, 1, 2]) {
      expect(
        lines.some((l) =>
          new RegExp(
            `^ {2}island ${id} .* gen +\\d+/\\d+ {2}acc \\d\\.\\d{4} {2}sparsity \\d\\.\\d{3} +\\d+ evals/s`,
          ).test(l),
        ),
      ).toBe(true);
    }
    expect(text).toMatch(/slt: stopping the run \(all-plateaued\)/);
    // the cap is far: the run's ETA is the slowest island's time to it at its current rate
    expect(text).toMatch(/ islands .* {2}eta \S+ \(generation cap\)/);
  });

  it("stops with target as soon as an island reaches 100% training accuracy (2025-binary)", async () => {
    // six separable points: a [2,6,2] network has masks that classify them all
    const csv = join(work, "easy.csv");
    writeFileSync(csv, "x,y,label\n1,0.2,0\n0.8,-0.1,0\n0.9,0.5,0\n-1,0.1,1\n-0.7,-0.3,1\n-0.9,0.4,1\n");
    const summary = await runCluster(
      config("target2", {
        seed: 1,
        dataset: { train: csv, test: csv },
        network: { architecture: [2, 6, 2] },
        ga: { population: 10 },
        termination: { rule: "2025-binary", maxGenerations: 100_000 },
        cluster: { islands: 2, topology: "ring", interval: 5, migrants: 1 },
      }),
      { makeEvaluator, logger: silentLogger() },
    );
    expect(summary.stopReason).toBe("target");
    expect(summary.trainAccuracy).toBe(1);
    const ev = events(summary);
    const decision = ev.find((e) => e.type === "termination") as { reason: string; detail: string };
    expect(decision.reason).toBe("target");
    expect(decision.detail).toMatch(/island \d reached 100% training accuracy at generation \d+/);
    expect(JSON.parse(readFileSync(summary.ticket, "utf8")).metrics.stopReason).toBe("target");
  });

  it("an evaluation budget gives each island its share; the run stops with max-evaluations", async () => {
    // no generation cap at all (termination.maxGenerations null, as the 2024-ga preset): only the
    // budget ends the islands
    const budget = 600;
    const progress = new PassThrough();
    let text = "";
    progress.on("data", (d) => {
      text += d;
    });
    const summary = await runCluster(
      config("budget3", {
        seed: 5,
        dataset: { name: "digits-3" },
        ga: { population: 12 },
        termination: { rule: "none", maxGenerations: null, maxEvaluations: budget },
        cluster: { islands: 3, topology: "ring", interval: 3, migrants: 1 },
      }),
      { makeEvaluator, logger: silentLogger(), progress, progressIntervalMs: 0 },
    );
    expect(summary.stopReason).toBe("max-evaluations");
    // progress: generations with no cap to show, evaluations against the budget, islands done "at budget"
    expect(text).toMatch(
      new RegExp(`^\\[\\d+\\.\\ds\\] 3/3 islands {2}gen [\\d–]+ {2}best .* evals \\d+/${budget} `, "m"),
    );
    for (const id of [0, 1, 2])
      expect(text).toMatch(new RegExp(`^ {2}island ${id} .* gen +\\d+ {2}(loss|acc) .*at budget$`, "m"));
    expect(text).not.toMatch(/at cap|\/null/);
    const shares = [0, 1, 2].map((id) => evaluationShare(budget, 3, id) as number);
    expect(shares.reduce((a, b) => a + b, 0)).toBe(budget);
    const tickets = events(summary).filter((e) => e.type === "ticket" && e.afterStop === false) as {
      island: number;
      evaluations: number;
    }[];
    expect(tickets.map((t) => t.island).sort()).toEqual([0, 1, 2]);
    for (const t of tickets) {
      // each island stops after the generation that reaches its share: at most one generation over
      expect(t.evaluations).toBeGreaterThanOrEqual(shares[t.island]);
      expect(t.evaluations).toBeLessThan(shares[t.island] + 12 * 3);
    }
  });

  it("refuses an evaluation budget in lockstep mode, where islands must reach the same generation", () => {
    expect(() =>
      config("budget-lockstep", {
        termination: { maxEvaluations: 1000 },
        cluster: { islands: 2, mode: "lockstep" },
      }),
    ).toThrow(/maxEvaluations: an evaluation budget needs cluster.mode "async"/);
  });
});
