// Loss on demand (core/ga/loss.ts): an accuracy-fitness search evaluates without the loss, yet every
// reported loss — each generation's best, the ticket, the summary — is the reference evaluator's, and
// the search itself (masks, accuracies, evaluations) is the same as with the loss computed throughout.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type EvaluatorFactory, runSingle } from "../../src/coordinator/single-population.ts";
import type { ConfigPatch } from "../../src/core/config.ts";
import { evaluate, type Metrics, referenceEvaluator } from "../../src/core/evaluate.ts";
import {
  type GaState,
  initRun,
  makeIndividual,
  searchNeedsLoss,
  step,
  withBestLoss,
  withLosses,
} from "../../src/core/ga/index.ts";
import { maskFromBase64, randomMask } from "../../src/core/mask.ts";
import { initNetwork } from "../../src/core/network.ts";
import { Rng } from "../../src/core/rng.ts";
import { makeEvaluator } from "../../src/evaluator/index.ts";
import { loadDataset } from "../../src/io/datasets.ts";
import { moonsConfig, readEvents, useMoonsDir } from "./helpers.ts";

const dirOf = useMoonsDir("slt-loss-test-", "loss-on-demand-csv", 400, 100);

const BASE: ConfigPatch = {
  seed: 3,
  network: { architecture: [2, 16, 2] },
  ga: { population: 20, fitness: "accuracy" },
  termination: { rule: "none", maxGenerations: 8 },
  prune: "clean",
};

function config(name: string, patch: ConfigPatch = {}) {
  return moonsConfig(dirOf(), name, BASE, patch);
}

const events = readEvents;

describe("loss on demand", () => {
  it("only loss fitness and the 2025-multiclass rule need the loss during the search", () => {
    expect(searchNeedsLoss("loss", "none")).toBe(true);
    expect(searchNeedsLoss("accuracy", "2025-multiclass")).toBe(true);
    for (const rule of ["2024", "2024-adaptive", "2025-binary", "none"] as const) {
      expect(searchNeedsLoss("accuracy", rule)).toBe(false);
    }
  });

  it("withLosses fills NaN losses once per distinct mask and leaves known ones alone", () => {
    const rng = Rng.derive(1, "with-losses");
    const a = randomMask(40, rng);
    const b = randomMask(40, rng);
    const nan = { accuracy: 0.5, loss: Number.NaN };
    const inds = [
      makeIndividual(a, nan, "initial", 0),
      makeIndividual(b, { accuracy: 0.6, loss: 0.25 }, "initial", 0),
      makeIndividual(a, nan, "mutant", 1),
    ];
    const asked: number[] = [];
    const filled = withLosses(inds, (masks) => {
      asked.push(masks.length);
      return masks.map(() => 0.75);
    });
    expect(asked).toEqual([1]);
    expect(filled.map((i) => i.loss)).toEqual([0.75, 0.25, 0.75]);
    expect(filled[1]).toBe(inds[1]);
    expect(() => withLosses(inds, () => [])).toThrow(/returned 0 losses for 1 masks/);
  });

  it("an accuracy run: same search as with the loss, reported losses are the reference's", async () => {
    const made: (boolean | undefined)[] = [];
    const factory: EvaluatorFactory = (net, split, options) => {
      made.push(options?.loss);
      return makeEvaluator(net, split, options);
    };
    const c = config("accuracy");
    const s = await runSingle(c, { makeEvaluator: factory });
    // the GA's evaluator skipped the loss
    expect(made[0]).toBe(false);

    // the reference GA with the loss computed for every mask
    const data = loadDataset(c.dataset);
    const net = initNetwork(c.network.architecture, c.network.init, c.network.seed);
    const deps = { evaluate: referenceEvaluator(net, data.train), network: net };
    let state: GaState = initRun(c.ga, deps, Rng.derive(c.seed, "ga"));
    for (let g = 0; g < 8; g++) state = step(state, deps);
    const gens = events(s.runDir).filter((e) => e.type === "generation");
    expect(gens.map((e) => e.bestAccuracy)).toEqual(state.history.map((h) => h.bestAccuracy));
    expect(gens.map((e) => e.evaluations)).toEqual(state.history.map((h) => h.evaluations));
    // every generation's best loss is reported, and it is the reference's
    expect(gens.map((e) => e.bestLoss)).toEqual(state.history.map((h) => h.bestLoss));
    for (const e of gens) expect(Number.isFinite(e.bestLoss)).toBe(true);

    const ticket = JSON.parse(readFileSync(s.ticket, "utf8"));
    const mask = maskFromBase64(ticket.mask.bits, ticket.mask.length);
    const ref: Metrics = evaluate(net, mask, data.train);
    expect(ticket.metrics.trainLoss).toBe(ref.loss);
    expect(ticket.metrics.trainAccuracy).toBe(ref.accuracy);
    expect(Number.isFinite(s.trainLoss)).toBe(true);
  });

  it("withBestLoss leaves a state whose best already has a loss untouched", () => {
    const rng = Rng.derive(2, "best-loss");
    const net = initNetwork([2, 6, 2], { kind: "uniform", range: 1 }, 2);
    const split = {
      n: 30,
      features: 2,
      x: new Float32Array(60).map(() => rng.normal(0, 1)),
      y: new Int32Array(30),
    };
    const deps = { evaluate: referenceEvaluator(net, split), network: net };
    const state = initRun({ population: 6, fitness: "accuracy" }, deps, Rng.derive(2, "ga"));
    expect(withBestLoss(state, "accuracy", () => [Number.NaN])).toBe(state);
  });
});
