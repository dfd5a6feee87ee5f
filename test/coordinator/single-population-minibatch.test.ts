// Mini-batch fitness (non-paper) through the whole single-population run, with the reference evaluator:
// fixed subsets are a plain GA on the subset split, rotating runs are deterministic, the reported
// training metrics are full-split ones, and configuration errors name the field and the allowed range.
import { readFileSync } from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { RESCORE_CHUNK, runSingle } from "../../src/coordinator/single-population.ts";
import { type ConfigPatch, resolveConfig } from "../../src/core/config.ts";
import { selectRows } from "../../src/core/datasets/index.ts";
import { E_CONFIG, SltError } from "../../src/core/errors.ts";
import { evaluate, referenceEvaluator } from "../../src/core/evaluate.ts";
import { bestIndividual, fitnessSubsetRows, initRun, step } from "../../src/core/ga/index.ts";
import { maskFromBase64 } from "../../src/core/mask.ts";
import { initNetwork } from "../../src/core/network.ts";
import { Rng } from "../../src/core/rng.ts";
import { loadDataset } from "../../src/io/datasets.ts";
import { checkpointGaState, moonsConfig, readEvents, useMoonsDir, withoutTimes } from "./helpers.ts";

const dirOf = useMoonsDir("slt-minibatch-test-", "minibatch-csv", 300, 80);

const BASE: ConfigPatch = {
  seed: 4,
  network: { architecture: [2, 12, 2] },
  ga: { population: 16, fitness: "loss" },
  termination: { rule: "none", maxGenerations: 6 },
  prune: "none",
};

function config(name: string, patch: ConfigPatch = {}) {
  return moonsConfig(dirOf(), name, BASE, patch);
}

const run = (c: ReturnType<typeof config>) => runSingle(c, { makeEvaluator: referenceEvaluator });

const events = readEvents;

describe("mini-batch fitness in a single-population run", () => {
  it("fixed: the GA is the reference GA on one subset split", async () => {
    const c = config("fixed", { ga: { population: 16, fitness: "loss", fitnessSubset: { size: 50 } } });
    expect(c.ga.fitnessSubset).toEqual({ size: 50, mode: "fixed", fitnessMode: "mini-batch (non-paper)" });
    const s = await run(c);
    const data = loadDataset(c.dataset);
    const net = initNetwork(c.network.architecture, c.network.init, c.network.seed);
    const rows = fitnessSubsetRows({ size: 50, mode: "fixed" }, data.train.n, c.seed, 0);
    const deps = { evaluate: referenceEvaluator(net, selectRows(data.train, rows)), network: net };
    let state = initRun(c.ga, deps, Rng.derive(c.seed, "ga"));
    for (let g = 0; g < 6; g++) state = step(state, deps);
    const generations = events(s.runDir).filter((e) => e.type === "generation");
    expect(generations.map((e) => e.bestFitness)).toEqual(state.history.map((h) => h.bestFitness));
    expect(generations.map((e) => e.evaluations)).toEqual(state.history.map((h) => h.evaluations));
    const checkpoint = await checkpointGaState(s.runDir, net.genomeLength);
    expect(checkpoint.population.map((i) => [i.hash, i.loss])).toEqual(
      state.population.map((i) => [i.hash, i.loss]),
    );
  });

  it("rotating: the same seed gives the same events and ticket", async () => {
    const patch = {
      ga: {
        population: 16,
        fitness: "loss" as const,
        fitnessSubset: { size: 40, mode: "rotating" as const },
      },
    };
    const a = await run(config("rot-a", patch));
    const b = await run(config("rot-b", patch));
    // checkpoint events carry the write's time and checksum (the checkpoint holds its creation time)
    const strip = (e: Record<string, unknown>[]) =>
      withoutTimes(e.filter((x) => x.type !== "start" && x.type !== "checkpoint"));
    expect(strip(events(b.runDir))).toEqual(strip(events(a.runDir)));
    const ta = JSON.parse(readFileSync(a.ticket, "utf8"));
    const tb = JSON.parse(readFileSync(b.ticket, "utf8"));
    expect(tb.mask).toEqual(ta.mask);
    expect(tb.metrics).toEqual(ta.metrics);
    const gens = events(a.runDir).filter((e) => e.type === "generation");
    // every step re-scores the population (up to 16 distinct masks) besides the new individuals
    for (const g of gens.slice(1)) {
      expect(g.newEvaluations as number).toBeGreaterThanOrEqual(16);
      expect(g.rescored as number).toBeGreaterThan(0);
      expect(g.rescored as number).toBeLessThanOrEqual(16);
    }
    expect(gens[0].rescored).toBeUndefined();
    // a different seed draws other subsets
    const c = await run(config("rot-c", { ...patch, seed: 5 }));
    expect(strip(events(c.runDir))).not.toEqual(strip(events(a.runDir)));
  });

  for (const mode of ["fixed", "rotating"] as const) {
    it(`${mode}: the ticket's training metrics and the best individual come from the full training split`, async () => {
      const c = config(`full-${mode}`, {
        ga: { population: 16, fitness: "loss", fitnessSubset: { size: 30, mode } },
      });
      const s = await run(c);
      const data = loadDataset(c.dataset);
      const net = initNetwork(c.network.architecture, c.network.init, c.network.seed);
      const ticket = JSON.parse(readFileSync(s.ticket, "utf8"));
      const mask = maskFromBase64(ticket.mask.bits, net.genomeLength);
      const full = evaluate(net, mask, data.train);
      expect(ticket.metrics.trainAccuracy).toBe(full.accuracy);
      expect(ticket.metrics.trainLoss).toBe(full.loss);
      expect(s.trainAccuracy).toBe(full.accuracy);
      expect(s.trainLoss).toBe(full.loss);
      expect(s.testAccuracy).toBe(evaluate(net, mask, data.test).accuracy);
      // the best of the final population on the full split, not on the subset
      const final = await checkpointGaState(s.runDir, net.genomeLength);
      const rescored = final.population.map((ind) => ({ ...ind, ...evaluate(net, ind.mask, data.train) }));
      const best = bestIndividual(rescored, "loss");
      expect(best).toBeDefined();
      expect(mask.words).toEqual(best?.mask.words);
      expect(s.sparsity).toBe((best?.zeros ?? 0) / net.genomeLength);
      // labelled wherever results are reported
      expect(s.fitnessMode).toBe("mini-batch (non-paper)");
      expect(s.fitnessSubset).toEqual({ size: 30, mode });
      expect(ticket.metrics.fitnessMode).toBe("mini-batch (non-paper)");
      expect(ticket.metrics.fitnessSubsetSize).toBe(30);
      expect(ticket.metrics.fitnessSubsetMode).toBe(mode);
      const written = JSON.parse(readFileSync(path.join(s.runDir, "config.json"), "utf8"));
      expect(written.ga.fitnessSubset.fitnessMode).toBe("mini-batch (non-paper)");
      const ev = events(s.runDir);
      expect(ev[0].fitnessMode).toBe("mini-batch (non-paper)");
      expect(ev.find((e) => e.type === "full-split-rescore")).toMatchObject({ individuals: 16 });
      // config.json feeds back as a configuration
      expect(
        resolveConfig({ source: "config.json", patch: { ...written, name: "again" } }).ga.fitnessSubset,
      ).toEqual(c.ga.fitnessSubset);
    });
  }

  it("rotating, on a worker pool: one pool per generation's subset, closed in turn, the same run", async () => {
    const patch = {
      ga: {
        population: 16,
        fitness: "loss" as const,
        fitnessSubset: { size: 30, mode: "rotating" as const },
      },
    };
    const made: number[] = [];
    let open = 0;
    let mostOpen = 0;
    const s = await runSingle(config("pool-b", patch), {
      makeEvaluator: referenceEvaluator,
      makeAsyncEvaluator: async (net, split) => {
        const evaluate = referenceEvaluator(net, split);
        made.push(split.n);
        open++;
        mostOpen = Math.max(mostOpen, open);
        return {
          batch: async (masks) => evaluate(masks),
          close: async () => {
            open--;
          },
        };
      },
    });
    // generations 0 to 6, each on its own 30 rows, then the final evaluation on all 300 training rows;
    // only one pool open at a time, none at the end
    expect(made).toEqual([30, 30, 30, 30, 30, 30, 30, 300]);
    expect(open).toBe(0);
    expect(mostOpen).toBe(1);
    const a = await run(config("pool-a", patch));
    const strip = (e: Record<string, unknown>[]) =>
      withoutTimes(e.filter((x) => x.type !== "start" && x.type !== "checkpoint"));
    expect(strip(events(s.runDir))).toEqual(strip(events(a.runDir)));
  });

  it("a stop during the final evaluation keeps what was re-scored, the subset's best first", async () => {
    const c = config("rescore-stop", {
      ga: { population: 16, fitness: "loss", fitnessSubset: { size: 30, mode: "rotating" } },
    });
    // the stop is requested once the final evaluation has printed its first progress line
    let text = "";
    const progress = new Writable({
      write(chunk, _encoding, done) {
        text += String(chunk);
        done();
      },
    });
    const shouldStop = () => text.includes("final evaluation on the full training split");
    const s = await runSingle(c, {
      makeEvaluator: referenceEvaluator,
      progress,
      progressIntervalMs: 0,
      shouldStop,
    });
    expect(text).toMatch(new RegExp(`final evaluation on the full training split: ${RESCORE_CHUNK}/\\d+`));
    expect(s.stopReason).toBe("interrupted");
    const rescore = events(s.runDir).find((e) => e.type === "full-split-rescore") ?? {};
    expect(rescore).toMatchObject({ individuals: RESCORE_CHUNK, interrupted: true });
    expect(rescore.of as number).toBeGreaterThan(RESCORE_CHUNK);
    // the ticket is the best of those re-scored, its figures are full-split ones
    const data = loadDataset(c.dataset);
    const net = initNetwork(c.network.architecture, c.network.init, c.network.seed);
    const ticket = JSON.parse(readFileSync(s.ticket, "utf8"));
    const mask = maskFromBase64(ticket.mask.bits, net.genomeLength);
    expect(s.trainLoss).toBe(evaluate(net, mask, data.train).loss);
    expect(s.trainLoss).toBeLessThanOrEqual((rescore.subsetBestOnFullSplit as { loss: number }).loss);
    expect(s.trainLoss).toBe((rescore.best as { loss: number }).loss);
  });

  it("a stop during the search ends the final evaluation after its first individuals too", async () => {
    const c = config("search-stop", {
      ga: { population: 16, fitness: "loss", fitnessSubset: { size: 30, mode: "rotating" } },
    });
    let asked = 0;
    // asked once per generation boundary: the third ends the search, the stop stays requested
    const s = await runSingle(c, { makeEvaluator: referenceEvaluator, shouldStop: () => ++asked >= 3 });
    expect(s.stopReason).toBe("interrupted");
    expect(s.generations).toBe(2);
    const rescore = events(s.runDir).find((e) => e.type === "full-split-rescore") ?? {};
    expect(rescore).toMatchObject({ individuals: RESCORE_CHUNK, interrupted: true, of: 16 });
  });

  it("the papers' mode says so too", async () => {
    const s = await run(config("paper"));
    expect(s.fitnessMode).toBe("full training split");
    expect(s.fitnessSubset).toBeNull();
    expect(JSON.parse(readFileSync(s.ticket, "utf8")).metrics.fitnessMode).toBe("full training split");
  });
});

function configError(f: () => unknown): SltError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SltError);
    expect((e as SltError).code).toBe(E_CONFIG);
    return e as SltError;
  }
  throw new Error("expected E_CONFIG");
}

describe("mini-batch configuration errors", () => {
  it("size ≤ 0 or not whole names the field and the allowed range", () => {
    for (const size of [0, -3, 2.5]) {
      const e = configError(() => config("bad", { ga: { fitnessSubset: { size } } }));
      expect(e.message).toContain(`ga.fitnessSubset.size: got ${size}`);
      expect(e.message).toContain("1 … the training split's row count");
    }
    expect(
      configError(() => config("bad", { ga: { fitnessSubset: { size: 5, mode: "random" as "fixed" } } }))
        .message,
    ).toContain("ga.fitnessSubset.mode");
  });

  it("size above the training rows names the field and the allowed range", async () => {
    const c = config("too-big", { ga: { fitnessSubset: { size: 301 } } });
    await expect(run(c)).rejects.toThrow(
      "invalid configuration: ga.fitnessSubset.size: got 301; allowed 1..300 (the training rows of csv)",
    );
    const all = await run(config("all-rows", { ga: { population: 8, fitnessSubset: { size: 300 } } }));
    expect(all.fitnessMode).toBe("mini-batch (non-paper)");
  });

  it("the island cluster refuses mini-batch fitness", () => {
    const e = configError(() =>
      config("islands", { ga: { fitnessSubset: { size: 10 } }, cluster: { islands: 2 } }),
    );
    expect(e.message).toContain("cluster.islands must be 1, got 2");
  });
});

describe("mnist configuration defaults", () => {
  it("[784,300,100,c], the multi-class preset, no post-pruning unless asked for", () => {
    const m = resolveConfig({ source: "test", patch: { dataset: { name: "mnist" } } });
    expect(m.network.architecture).toEqual([784, 300, 100, 10]);
    expect(m.preset).toBe("2025-multiclass");
    expect(m.ga.fitness).toBe("loss");
    expect(m.prune).toBe("none");
    expect(m.dataset.scale).toBeUndefined();
    const three = resolveConfig({ source: "test", patch: { dataset: { name: "mnist-3" }, prune: "clean" } });
    expect(three.network.architecture).toEqual([784, 300, 100, 3]);
    expect(three.prune).toBe("clean");
    expect(resolveConfig({ source: "test", patch: { dataset: { name: "digits-10" } } }).prune).toBe(
      "published",
    );
  });

  it("the island cluster refuses a mini-batch config instead of ignoring it", async () => {
    const config = resolveConfig({
      source: "test",
      patch: { dataset: { name: "digits-3" }, ga: { fitnessSubset: { size: 50 } }, cluster: { islands: 1 } },
    });
    const { runCluster } = await import("../../src/coordinator/cluster.ts");
    await expect(runCluster(config, { makeEvaluator: referenceEvaluator })).rejects.toThrow(
      /ga.fitnessSubset \(mini-batch fitness\) runs one population only/,
    );
  });
});
