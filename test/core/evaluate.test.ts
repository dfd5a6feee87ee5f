import { describe, expect, it } from "vitest";
import type { Split } from "../../src/core/dataset.ts";
import { evaluate, referenceEvaluator } from "../../src/core/evaluate.ts";
import { emptyMask, fullMask, setBit } from "../../src/core/mask.ts";
import type { Network } from "../../src/core/network.ts";

// A hand-built [2,2,2] net. Genome: layer 0 weights [h0<-x0, h0<-x1, h1<-x0, h1<-x1] (bits 0..3),
// layer 1 weights [o0<-h0, o0<-h1, o1<-h0, o1<-h1] (bits 4..7).
const net: Network = {
  architecture: [2, 2, 2],
  init: { kind: "uniform", range: 1 },
  seed: 0,
  genomeLength: 8,
  layers: [
    {
      inputs: 2,
      outputs: 2,
      offset: 0,
      weight: new Float32Array([1, -1, 0.5, 0.5]),
      bias: new Float32Array([0, -1]),
    },
    {
      inputs: 2,
      outputs: 2,
      offset: 4,
      weight: new Float32Array([1, 0, 0, 2]),
      bias: new Float32Array([0.25, 0]),
    },
  ],
};

const split = (rows: number[][], labels: number[]): Split => ({
  n: rows.length,
  features: 2,
  x: new Float32Array(rows.flat()),
  y: new Int32Array(labels),
});

function ce(logits: number[], label: number): number {
  const lse = Math.log(logits.reduce((s, z) => s + Math.exp(z), 0));
  return lse - logits[label];
}

describe("reference evaluator", () => {
  it("computes accuracy and mean cross-entropy of a hand-worked full mask", () => {
    // x = (2, 1): h0 = relu(2 - 1) = 1, h1 = relu(-1 + 1 + 0.5) = 0.5; o0 = 0.25 + 1 = 1.25, o1 = 2·0.5 = 1
    // x = (0, 4): h0 = relu(-4) = 0, h1 = relu(-1 + 2) = 1;          o0 = 0.25,        o1 = 2
    const data = split(
      [
        [2, 1],
        [0, 4],
      ],
      [0, 0],
    );
    const m = evaluate(net, fullMask(8), data);
    expect(m.accuracy).toBe(0.5);
    expect(m.loss).toBeCloseTo((ce([1.25, 1], 0) + ce([0.25, 2], 0)) / 2, 12);
  });

  it("a pruned weight contributes nothing; biases are never masked", () => {
    const mask = fullMask(8);
    setBit(mask, 1, false); // drop h0 <- x1
    // x = (2, 1): h0 = relu(2) = 2, h1 = 0.5; o0 = 2.25, o1 = 1 → class 0
    const m = evaluate(net, mask, split([[2, 1]], [0]));
    expect(m.accuracy).toBe(1);
    expect(m.loss).toBeCloseTo(ce([2.25, 1], 0), 12);
    // With every weight pruned the logits are the biases (0.25, 0): class 0 everywhere.
    const empty = evaluate(
      net,
      emptyMask(8),
      split(
        [
          [5, -3],
          [1, 1],
        ],
        [0, 1],
      ),
    );
    expect(empty.accuracy).toBe(0.5);
    expect(empty.loss).toBeCloseTo((ce([0.25, 0], 0) + ce([0.25, 0], 1)) / 2, 12);
  });

  it("breaks logit ties towards the first class, like numpy's argmax", () => {
    const mask = emptyMask(8);
    const tie: Network = {
      ...net,
      layers: [net.layers[0], { ...net.layers[1], bias: new Float32Array([0, 0]) }],
    };
    expect(evaluate(tie, mask, split([[1, 1]], [0])).accuracy).toBe(1);
    expect(evaluate(tie, mask, split([[1, 1]], [1])).accuracy).toBe(0);
    expect(evaluate(tie, mask, split([[1, 1]], [1])).loss).toBeCloseTo(Math.log(2), 12);
  });

  it("keeps the loss finite for huge logits (stable log-softmax)", () => {
    const big: Network = {
      ...net,
      layers: [net.layers[0], { ...net.layers[1], bias: new Float32Array([1e30, 0]) }],
    };
    // naive softmax would overflow exp(1e30); log-sum-exp gives exactly the logit gap
    expect(evaluate(big, emptyMask(8), split([[0, 0]], [1])).loss).toBe(Math.fround(1e30));
    expect(evaluate(big, emptyMask(8), split([[0, 0]], [0])).loss).toBe(0);
  });

  it("rejects a mask or data that does not fit the network", () => {
    expect(() => evaluate(net, emptyMask(7), split([[0, 0]], [0]))).toThrow(
      /mask has 7 bits but the network has 8 weights/,
    );
    const wrong: Split = { n: 1, features: 3, x: new Float32Array(3), y: new Int32Array(1) };
    expect(() => evaluate(net, emptyMask(8), wrong)).toThrow(
      /data has 3 features but the network expects 2 inputs/,
    );
    expect(referenceEvaluator(net, split([[2, 1]], [0]))([fullMask(8), emptyMask(8)])).toHaveLength(2);
  });
});
