// Shared by the gradient tests of core/train: random problems in double, the loss, the analytic
// gradients and central finite differences (see mlp.test.ts for the step and the tolerance).
import { Rng } from "../../../src/core/rng.ts";
import {
  backward,
  crossEntropy,
  type Floats,
  forward,
  type LayerParams,
  loadBatch,
  makeWorkspace,
} from "../../../src/core/train/mlp.ts";

export const H = 1e-6;
/** see mlp.test.ts */
export const TOLERANCE = 1e-7;

export interface Problem {
  arch: number[];
  params: { weight: Float64Array; bias: Float64Array }[];
  x: Float64Array;
  y: Int32Array;
  order: Int32Array;
  rows: number;
}

/** A random net in double and a batch of random rows, all from the seed. */
export function problem(arch: number[], rows: number, seed: number): Problem {
  const rng = Rng.derive(seed, "mlp-test");
  const params = arch.slice(1).map((out, l) => ({
    weight: Float64Array.from({ length: out * arch[l] }, () => rng.uniform(-1, 1)),
    bias: Float64Array.from({ length: out }, () => rng.uniform(-0.5, 0.5)),
  }));
  const x = Float64Array.from({ length: rows * arch[0] }, () => rng.uniform(-1, 1));
  const y = Int32Array.from({ length: rows }, () => rng.int(arch[arch.length - 1]));
  // rows in a scrambled order, so the batch is gathered through `order` as training gathers it
  const order = rng.shuffle(Int32Array.from({ length: rows }, (_, i) => i)) as Int32Array;
  return { arch, params, x, y, order, rows };
}

/** The batch's mean cross-entropy with these parameters (double throughout). */
export function lossOf(p: Problem, params: readonly LayerParams[]): number {
  const ws = makeWorkspace(p.arch, p.rows, "f64");
  loadBatch(ws, p.x, p.arch[0], p.order, 0, p.rows);
  forward(p.arch, params, ws, p.rows);
  return crossEntropy(p.arch, ws, p.y, p.order, 0, p.rows).loss;
}

/** Analytic gradients wrt every weight and bias. */
export function gradients(p: Problem, params: readonly LayerParams[]): { w: Floats[]; b: Floats[] } {
  const ws = makeWorkspace(p.arch, p.rows, "f64");
  loadBatch(ws, p.x, p.arch[0], p.order, 0, p.rows);
  forward(p.arch, params, ws, p.rows);
  crossEntropy(p.arch, ws, p.y, p.order, 0, p.rows);
  const w = params.map((q) => new Float64Array(q.weight.length));
  const b = params.map((q) => new Float64Array(q.bias.length));
  backward(p.arch, params, ws, p.rows, w, b);
  return { w, b };
}

/** The central difference of the loss in one entry of `values` (restored afterwards). */
export function centralDifference(values: Floats, k: number, loss: () => number): number {
  const v = values[k];
  values[k] = v + H;
  const up = loss();
  values[k] = v - H;
  const down = loss();
  values[k] = v;
  return (up - down) / (2 * H);
}
