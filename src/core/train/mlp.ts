// Forward and backward passes of the fully connected ReLU network on a mini-batch, for the gradient
// baselines (`slt baseline`). Pure: every buffer is the caller's (a Workspace made once per run), so a
// training step allocates nothing. Layout as core/network.ts: weight [out][in] row-major; ReLU after
// every hidden layer; raw logits out. Each unit's sum is accumulated in double from its bias, in input
// order, and stored in the workspace's float type, as the reference evaluator (core/evaluate.ts) does,
// so a Float32 forward pass gives the evaluator's logits bit for bit. The kernels take Float32 (training)
// or Float64 arrays (the gradient tests, which compare with finite differences in double).
import type { Architecture } from "../network.ts";

export type Floats = Float32Array | Float64Array;

/** The buffers of one mini-batch of up to `capacity` rows. */
export interface Workspace {
  readonly capacity: number;
  /** acts[0]: the batch's inputs; acts[l]: layer l's outputs (ReLU applied, raw logits for the last) */
  readonly acts: Floats[];
  /** acts-shaped: the loss's gradient wrt each layer's pre-activation (deltas[0] unused) */
  readonly deltas: Floats[];
}

export function makeWorkspace(
  arch: Architecture,
  capacity: number,
  precision: "f32" | "f64" = "f32",
): Workspace {
  const make = (n: number) => (precision === "f32" ? new Float32Array(n) : new Float64Array(n));
  return {
    capacity,
    acts: arch.map((w) => make(w * capacity)),
    deltas: arch.map((w) => make(w * capacity)),
  };
}

/** One layer's parameters as the passes read them (the effective weights: masked for edge-popup). */
export interface LayerParams {
  readonly weight: Floats;
  readonly bias: Floats;
}

/** Copies rows `order[start … start+count)` of a row-major [n][features] matrix into acts[0]. */
export function loadBatch(
  ws: Workspace,
  x: Floats,
  features: number,
  order: Int32Array,
  start: number,
  count: number,
): void {
  const a = ws.acts[0];
  for (let r = 0; r < count; r++) {
    const src = order[start + r] * features;
    const dst = r * features;
    for (let f = 0; f < features; f++) a[dst + f] = x[src + f];
  }
}

/**
 * The forward pass of the first `count` rows of acts[0], filling every layer's outputs. Rows go eight at
 * a time: each weight row is read once per eight rows (MNIST's first layer, 0.9 MB, does not stay in
 * cache across rows), and eight independent sums hide the latency of the additions, which one row's
 * single chain of sums waits on. Each unit's sum is still its bias plus its products in input order.
 */
export function forward(
  arch: Architecture,
  params: readonly LayerParams[],
  ws: Workspace,
  count: number,
): void {
  const last = params.length - 1;
  for (let l = 0; l <= last; l++) {
    const outputs = arch[l + 1];
    const y = ws.acts[l + 1];
    const r = forwardEight(arch[l], outputs, params[l], ws.acts[l], y, count, l < last);
    for (let o = 0; o < outputs; o++)
      forwardUnit(arch[l], outputs, params[l], ws.acts[l], y, r, count, o, l < last);
  }
}

/** Rows 0 … 8⌊count/8⌋ of one layer, eight at a time; returns the first row left. */
function forwardEight(
  inputs: number,
  outputs: number,
  { weight, bias }: LayerParams,
  x: Floats,
  y: Floats,
  count: number,
  hidden: boolean,
): number {
  let r = 0;
  for (; r + 8 <= count; r += 8) {
    const x0 = r * inputs;
    for (let o = 0; o < outputs; o++) {
      const b = bias[o];
      let a0 = b;
      let a1 = b;
      let a2 = b;
      let a3 = b;
      let a4 = b;
      let a5 = b;
      let a6 = b;
      let a7 = b;
      const row = o * inputs;
      for (let i = 0; i < inputs; i++) {
        const w = weight[row + i];
        const k = x0 + i;
        a0 += w * x[k];
        a1 += w * x[k + inputs];
        a2 += w * x[k + 2 * inputs];
        a3 += w * x[k + 3 * inputs];
        a4 += w * x[k + 4 * inputs];
        a5 += w * x[k + 5 * inputs];
        a6 += w * x[k + 6 * inputs];
        a7 += w * x[k + 7 * inputs];
      }
      const at = r * outputs + o;
      y[at] = hidden && a0 < 0 ? 0 : a0;
      y[at + outputs] = hidden && a1 < 0 ? 0 : a1;
      y[at + 2 * outputs] = hidden && a2 < 0 ? 0 : a2;
      y[at + 3 * outputs] = hidden && a3 < 0 ? 0 : a3;
      y[at + 4 * outputs] = hidden && a4 < 0 ? 0 : a4;
      y[at + 5 * outputs] = hidden && a5 < 0 ? 0 : a5;
      y[at + 6 * outputs] = hidden && a6 < 0 ? 0 : a6;
      y[at + 7 * outputs] = hidden && a7 < 0 ? 0 : a7;
    }
  }
  return r;
}

/** Unit o of one layer for rows from … count−1, one at a time. */
function forwardUnit(
  inputs: number,
  outputs: number,
  { weight, bias }: LayerParams,
  x: Floats,
  y: Floats,
  from: number,
  count: number,
  o: number,
  hidden: boolean,
): void {
  const row = o * inputs;
  for (let r = from; r < count; r++) {
    let acc = bias[o];
    const xr = r * inputs;
    for (let i = 0; i < inputs; i++) acc += weight[row + i] * x[xr + i];
    y[r * outputs + o] = hidden && acc < 0 ? 0 : acc;
  }
}

/**
 * Mean softmax cross-entropy (natural log) of the batch's logits against `labels[order[start + r]]`,
 * its correct predictions (argmax, first index on ties, as the evaluator), and the loss's gradient wrt
 * the logits into the last deltas: (softmax − one-hot) / count.
 */
export function crossEntropy(
  arch: Architecture,
  ws: Workspace,
  labels: Int32Array,
  order: Int32Array,
  start: number,
  count: number,
): { loss: number; correct: number } {
  const L = arch.length - 1;
  const classes = arch[L];
  const z = ws.acts[L];
  const d = ws.deltas[L];
  let lossSum = 0;
  let correct = 0;
  for (let r = 0; r < count; r++) {
    const base = r * classes;
    const label = labels[order[start + r]];
    let max = z[base];
    let best = 0;
    for (let c = 1; c < classes; c++) {
      if (z[base + c] > max) {
        max = z[base + c];
        best = c;
      }
    }
    if (best === label) correct++;
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(z[base + c] - max);
    lossSum += max + Math.log(sum) - z[base + label];
    for (let c = 0; c < classes; c++)
      d[base + c] = (Math.exp(z[base + c] - max) / sum - (c === label ? 1 : 0)) / count;
  }
  return { loss: lossSum / count, correct };
}

/**
 * The backward pass after `forward` and `crossEntropy` on the same `count` rows: the gradients wrt
 * every layer's (effective) weights into `gradWeight[l]`, and wrt its biases into `gradBias[l]` when
 * given (overwritten, not added to). A hidden unit's ReLU passes the gradient where its output is > 0.
 */
export function backward(
  arch: Architecture,
  params: readonly LayerParams[],
  ws: Workspace,
  count: number,
  gradWeight: readonly Floats[],
  gradBias: readonly Floats[] | null,
): void {
  for (let l = params.length - 1; l >= 0; l--) {
    const inputs = arch[l];
    const outputs = arch[l + 1];
    weightGradient(ws.acts[l], ws.deltas[l + 1], inputs, outputs, count, gradWeight[l], gradBias?.[l]);
    if (l > 0) backToInputs(params[l].weight, ws, l, inputs, outputs, count);
  }
}

/**
 * gw[o][i] = Σ_r delta[r][o] · x[r][i] and gb[o] = Σ_r delta[r][o]: output by output, so a row of gw
 * stays in cache while the batch's rows pass, four at a time.
 */
function weightGradient(
  x: Floats,
  delta: Floats,
  inputs: number,
  outputs: number,
  count: number,
  gw: Floats,
  gb: Floats | undefined,
): void {
  gw.fill(0);
  for (let o = 0; o < outputs; o++) {
    const row = o * inputs;
    let bias = 0;
    let r = 0;
    for (; r + 4 <= count; r += 4) {
      const d0 = delta[r * outputs + o];
      const d1 = delta[(r + 1) * outputs + o];
      const d2 = delta[(r + 2) * outputs + o];
      const d3 = delta[(r + 3) * outputs + o];
      bias += d0 + d1 + d2 + d3;
      if (d0 === 0 && d1 === 0 && d2 === 0 && d3 === 0) continue;
      const x0 = r * inputs;
      const x1 = x0 + inputs;
      const x2 = x1 + inputs;
      const x3 = x2 + inputs;
      for (let i = 0; i < inputs; i++)
        gw[row + i] += d0 * x[x0 + i] + d1 * x[x1 + i] + d2 * x[x2 + i] + d3 * x[x3 + i];
    }
    for (; r < count; r++) {
      const dv = delta[r * outputs + o];
      bias += dv;
      if (dv === 0) continue;
      const xr = r * inputs;
      for (let i = 0; i < inputs; i++) gw[row + i] += dv * x[xr + i];
    }
    if (gb) gb[o] = bias;
  }
}

/** deltas[l] = (deltas[l+1] · W) ⊙ [acts[l] > 0]: the gradient through layer l's weights and the ReLU below. */
function backToInputs(
  weight: Floats,
  ws: Workspace,
  l: number,
  inputs: number,
  outputs: number,
  count: number,
): void {
  const x = ws.acts[l];
  const up = ws.deltas[l + 1];
  const down = ws.deltas[l];
  down.fill(0, 0, count * inputs);
  let r = 0;
  for (; r + 4 <= count; r += 4) {
    const x0 = r * inputs;
    const x1 = x0 + inputs;
    const x2 = x1 + inputs;
    const x3 = x2 + inputs;
    for (let o = 0; o < outputs; o++) {
      const d0 = up[r * outputs + o];
      const d1 = up[(r + 1) * outputs + o];
      const d2 = up[(r + 2) * outputs + o];
      const d3 = up[(r + 3) * outputs + o];
      if (d0 === 0 && d1 === 0 && d2 === 0 && d3 === 0) continue;
      const row = o * inputs;
      for (let i = 0; i < inputs; i++) {
        const w = weight[row + i];
        down[x0 + i] += d0 * w;
        down[x1 + i] += d1 * w;
        down[x2 + i] += d2 * w;
        down[x3 + i] += d3 * w;
      }
    }
  }
  for (; r < count; r++) {
    const xr = r * inputs;
    for (let o = 0; o < outputs; o++) {
      const dv = up[r * outputs + o];
      if (dv === 0) continue;
      const row = o * inputs;
      for (let i = 0; i < inputs; i++) down[xr + i] += dv * weight[row + i];
    }
  }
  for (let k = 0; k < count * inputs; k++) if (!(x[k] > 0)) down[k] = 0;
}
