// The baselines' training: edge-popup's straight-through score gradient against finite differences,
// the state's purity and determinism, what each method trains, and the ticket's mask and network.
import { describe, expect, it } from "vitest";
import type { Split } from "../../../src/core/dataset.ts";
import { popcount } from "../../../src/core/mask.ts";
import { initNetwork, type Network } from "../../../src/core/network.ts";
import { Rng } from "../../../src/core/rng.ts";
import { keptCount, topKMask } from "../../../src/core/train/topk.ts";
import {
  type BaselineSettings,
  finalMask,
  finalNetwork,
  initTraining,
  scoreGradient,
  trainEpoch,
} from "../../../src/core/train/trainer.ts";
import { centralDifference, gradients, lossOf, problem, TOLERANCE } from "./helpers.ts";

describe("edge-popup's score gradient", () => {
  // The mask is a step function of the scores, so the straight-through gradient is checked on the
  // relaxation it stands for: w_eff = w ⊙ m(s) with m(s) = topk(|s₀|) + |s| − |s₀|, which equals the
  // hard mask at s₀ and whose derivative in s is the mask's, passed through |s|. Its central difference
  // in each score must equal scoreGradient(dL/dw_eff, w, s₀), kept and pruned weights alike.
  for (const [arch, seed] of [
    [[2, 6, 2], 1],
    [[3, 5, 4, 3], 2],
    [[4, 8, 3], 3],
  ] as [number[], number][])
    it(`is dL/dw_eff ⊙ w ⊙ sign(s) on [${arch}] (seed ${seed})`, () => {
      const p = problem(arch, 8, seed);
      const rng = Rng.derive(seed, "scores");
      const scores = p.params.map((q) => Float64Array.from(q.weight, () => rng.uniform(-1, 1)));
      const s0 = scores.map((s) => Float64Array.from(s));
      const hard = scores.map((s) => {
        const m = new Float64Array(s.length);
        topKMask(s, 0.5, m, new Float64Array(s.length));
        return m;
      });
      const effective = () =>
        p.params.map((q, l) => ({
          weight: q.weight.map((w, k) => w * (hard[l][k] + Math.abs(scores[l][k]) - Math.abs(s0[l][k]))),
          bias: q.bias,
        }));
      const gradEff = gradients(p, effective()).w;
      scores.forEach((s, l) => {
        const analytic = new Float64Array(s.length);
        scoreGradient(gradEff[l], p.params[l].weight, s0[l], analytic);
        for (let k = 0; k < s.length; k++)
          expect(
            Math.abs(analytic[k] - centralDifference(s, k, () => lossOf(p, effective()))),
            `seed ${seed}, layer ${l}, score ${k} (kept: ${hard[l][k]})`,
          ).toBeLessThan(TOLERANCE);
      });
    });

  it("is zero where a score is zero (|s| has no slope to pass there, as PyTorch's abs)", () => {
    const out = new Float64Array(3);
    scoreGradient(Float64Array.of(1, 2, 3), Float64Array.of(1, 1, 1), Float64Array.of(0, -2, 0.5), out);
    expect([...out]).toEqual([0, -2, 3]);
  });
});

function moonsLike(n: number, seed: number): Split {
  const rng = Rng.derive(seed, "trainer-test-data");
  const x = new Float32Array(2 * n);
  const y = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    y[r] = r % 2;
    x[2 * r] = rng.normal(y[r] ? 0.5 : -0.5, 0.3);
    x[2 * r + 1] = rng.normal(y[r] ? -0.3 : 0.3, 0.3);
  }
  return { n, features: 2, x, y };
}

const settings = (method: BaselineSettings["method"]): BaselineSettings => ({
  method,
  keep: 0.5,
  epochs: 4,
  batchSize: 16,
  lr: 0.1,
  momentum: 0.9,
  weightDecay: 1e-4,
});

const net: Network = initNetwork([2, 10, 2], { kind: "uniform", range: 1 }, 3);
const split = moonsLike(100, 3);

describe("initTraining and trainEpoch", () => {
  it("draw edge-popup's scores kaiming-uniform, U(±1/√fan_in), and start with zero momentum", () => {
    const s = initTraining(net, settings("edge-popup"), 1);
    expect(s.scores).not.toBeNull();
    s.scores?.forEach((layer, l) => {
      const bound = 1 / Math.sqrt(net.layers[l].inputs);
      expect(layer.every((v) => Math.abs(v) <= bound)).toBe(true);
      // spread over the range, not a constant
      expect(Math.max(...layer) - Math.min(...layer)).toBeGreaterThan(bound / 2);
    });
    expect(s.velocity.every((v) => v.every((x) => x === 0))).toBe(true);
  });

  it("is deterministic in the seed and leaves the state it was given as it was", () => {
    for (const method of ["edge-popup", "dense"] as const) {
      const a = initTraining(net, settings(method), 7);
      const before = structuredClone(a);
      const one = trainEpoch(a, net, split, settings(method));
      const two = trainEpoch(initTraining(net, settings(method), 7), net, split, settings(method));
      expect(a).toEqual(before);
      expect(one).toEqual(two);
      const other = trainEpoch(initTraining(net, settings(method), 8), net, split, settings(method));
      expect(other.state).not.toEqual(one.state);
    }
  });

  it("edge-popup trains the scores only; dense trains weights and biases", () => {
    const ep = trainEpoch(initTraining(net, settings("edge-popup"), 1), net, split, settings("edge-popup"));
    expect(ep.state.weights).toEqual(net.layers.map((l) => l.weight));
    expect(ep.state.biases).toEqual(net.layers.map((l) => l.bias));
    expect(ep.state.scores).not.toEqual(initTraining(net, settings("edge-popup"), 1).scores);
    const dense = trainEpoch(initTraining(net, settings("dense"), 1), net, split, settings("dense"));
    expect(dense.state.scores).toBeNull();
    expect(dense.state.weights).not.toEqual(net.layers.map((l) => l.weight));
    expect(dense.state.biases).not.toEqual(net.layers.map((l) => l.bias));
  });

  it("steps once per batch, the last one smaller, at the epoch's cosine learning rate", () => {
    let state = initTraining(net, settings("dense"), 1);
    const lrs: number[] = [];
    for (let e = 0; e < 4; e++) {
      const r = trainEpoch(state, net, split, settings("dense"));
      expect(r.stats.steps).toBe(Math.ceil(100 / 16));
      expect(r.stats.epoch).toBe(e + 1);
      lrs.push(r.stats.lr);
      state = r.state;
    }
    expect(lrs[0]).toBe(0.1);
    expect(lrs[2]).toBeCloseTo(0.05, 15);
  });

  it("dense training lowers the loss on separable data", () => {
    let state = initTraining(net, settings("dense"), 1);
    const losses: number[] = [];
    for (let e = 0; e < 4; e++) {
      const r = trainEpoch(state, net, split, settings("dense"));
      losses.push(r.stats.trainLoss);
      state = r.state;
    }
    expect(losses[3]).toBeLessThan(losses[0]);
  });
});

describe("the ticket of a baseline", () => {
  it("edge-popup: the GA's network and each layer's top-k of the final scores", () => {
    const wide = initNetwork([3, 5, 2], { kind: "uniform", range: 1 }, 2);
    const s = { ...settings("edge-popup"), keep: 0.3 };
    const state = initTraining(wide, s, 1);
    const mask = finalMask(state, wide, s);
    expect(finalNetwork(state, wide)).toBe(wide);
    // layer 0: 15 weights keep 15 − ⌊0.7 · 15⌋ = 5; layer 1: 10 keep 10 − ⌊7.000000000000001⌋ = 3
    expect(popcount(mask)).toBe(keptCount(15, 0.3) + keptCount(10, 0.3));
    expect(popcount(mask)).toBe(8);
  });

  it("dense: every weight kept, the trained values", () => {
    const state = trainEpoch(initTraining(net, settings("dense"), 1), net, split, settings("dense")).state;
    const mask = finalMask(state, net, settings("dense"));
    expect(popcount(mask)).toBe(net.genomeLength);
    const trained = finalNetwork(state, net);
    expect(trained.layers.map((l) => l.weight)).toEqual(state.weights);
    expect(trained.layers.map((l) => l.bias)).toEqual(state.biases);
    expect(trained.layers.map((l) => l.offset)).toEqual(net.layers.map((l) => l.offset));
  });
});
