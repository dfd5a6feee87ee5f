// The passes of the gradient baselines: the forward pass against the reference evaluator, and the
// backward pass against central finite differences. The differences are taken in double (Float64
// workspaces and parameters), where a step of h = 1e-6 leaves a truncation error of order h² · L''' and
// a rounding error of order ε · |L| / h ≈ 1e-10 on losses of order 1, so 1e-7 is a bound with three
// orders of margin that a wrong gradient (of order 1e-2 here) cannot meet. A ReLU kink within h of a
// pre-activation would break the difference; with random inputs that has probability ~1e-6 per unit.
import { describe, expect, it } from "vitest";
import type { Split } from "../../../src/core/dataset.ts";
import { evaluate } from "../../../src/core/evaluate.ts";
import { fullMask } from "../../../src/core/mask.ts";
import { initNetwork } from "../../../src/core/network.ts";
import { Rng } from "../../../src/core/rng.ts";
import { backward, crossEntropy, forward, loadBatch, makeWorkspace } from "../../../src/core/train/mlp.ts";
import { centralDifference, gradients, lossOf, problem, TOLERANCE } from "./helpers.ts";

describe("the dense backward pass", () => {
  const cases: [number[], number][] = [
    [[2, 6, 2], 9],
    [[3, 5, 4, 3], 7],
    [[4, 3, 3, 2, 5], 6],
  ];
  for (const [arch, rows] of cases)
    for (const seed of [1, 2, 3])
      it(`gives every weight's and bias's gradient on [${arch}] (seed ${seed})`, () => {
        const p = problem(arch, rows, seed);
        const g = gradients(p, p.params);
        const loss = () => lossOf(p, p.params);
        p.params.forEach((q, l) => {
          for (let k = 0; k < q.weight.length; k++)
            expect(
              Math.abs(g.w[l][k] - centralDifference(q.weight, k, loss)),
              `seed ${seed}, layer ${l}, weight ${k}`,
            ).toBeLessThan(TOLERANCE);
          for (let k = 0; k < q.bias.length; k++)
            expect(
              Math.abs(g.b[l][k] - centralDifference(q.bias, k, loss)),
              `seed ${seed}, layer ${l}, bias ${k}`,
            ).toBeLessThan(TOLERANCE);
        });
      });

  it("overwrites the gradient arrays rather than adding to them", () => {
    const p = problem([2, 4, 2], 5, 9);
    const first = gradients(p, p.params);
    const ws = makeWorkspace(p.arch, p.rows, "f64");
    loadBatch(ws, p.x, 2, p.order, 0, p.rows);
    forward(p.arch, p.params, ws, p.rows);
    crossEntropy(p.arch, ws, p.y, p.order, 0, p.rows);
    const w = first.w.map((a) => Float64Array.from(a, () => 123));
    const b = first.b.map((a) => Float64Array.from(a, () => 123));
    backward(p.arch, p.params, ws, p.rows, w, b);
    expect(w).toEqual(first.w);
    expect(b).toEqual(first.b);
  });
});

describe("the Float32 forward pass", () => {
  it("gives the reference evaluator's loss and accuracy bit for bit on a whole split", () => {
    const net = initNetwork([3, 7, 4, 3], { kind: "uniform", range: 1 }, 5);
    const rng = Rng.derive(5, "forward-vs-evaluate");
    const n = 40;
    const split: Split = {
      n,
      features: 3,
      x: Float32Array.from({ length: n * 3 }, () => rng.uniform(-1, 1)),
      y: Int32Array.from({ length: n }, () => rng.int(3)),
    };
    const ws = makeWorkspace(net.architecture, n);
    const order = Int32Array.from({ length: n }, (_, i) => i);
    loadBatch(ws, split.x, 3, order, 0, n);
    forward(net.architecture, net.layers, ws, n);
    const r = crossEntropy(net.architecture, ws, split.y, order, 0, n);
    const ref = evaluate(net, fullMask(net.genomeLength), split);
    expect(r.loss).toBe(ref.loss);
    expect(r.correct / n).toBe(ref.accuracy);
  });
});
