// The reference evaluator: the simple, obviously-correct forward pass every fast path is checked
// against. Float32 weights, inputs and activations; each unit's sum is accumulated in double and
// stored as Float32; loss is the mean softmax cross-entropy (natural log, stable log-sum-exp).
import type { Split } from "./dataset.ts";
import type { Mask } from "./mask.ts";
import type { Network } from "./network.ts";

export interface Metrics {
  /** fraction of rows whose argmax logit (first on ties) equals the label */
  readonly accuracy: number;
  /** mean cross-entropy over rows */
  readonly loss: number;
}

/** Evaluates a batch of masks on the training split; the GA step takes one of these as an argument. */
export type BatchEvaluator = (masks: readonly Mask[]) => Metrics[];

/** A BatchEvaluator that answers later (e.g. worker threads); the GA's async drivers take one. */
export type AsyncBatchEvaluator = (masks: readonly Mask[]) => Promise<Metrics[]>;

function checkShapes(net: Network, mask: Mask, split: Split): void {
  if (mask.length !== net.genomeLength) {
    throw new RangeError(`mask has ${mask.length} bits but the network has ${net.genomeLength} weights`);
  }
  if (split.features !== net.architecture[0]) {
    throw new RangeError(
      `data has ${split.features} features but the network expects ${net.architecture[0]} inputs`,
    );
  }
}

/** Weights with pruned entries set to zero, one Float32Array per layer. */
export function maskedWeights(net: Network, mask: Mask): Float32Array[] {
  return net.layers.map((layer) => {
    const w = new Float32Array(layer.weight.length);
    for (let k = 0; k < w.length; k++) {
      const i = layer.offset + k;
      if ((mask.words[i >>> 5] >>> (i & 31)) & 1) w[k] = layer.weight[k];
    }
    return w;
  });
}

/** Accuracy and mean cross-entropy of the masked network on a split. */
export function evaluate(net: Network, mask: Mask, split: Split): Metrics {
  checkShapes(net, mask, split);
  const weights = maskedWeights(net, mask);
  const widest = Math.max(...net.architecture);
  let a = new Float32Array(widest);
  let b = new Float32Array(widest);
  const last = net.layers.length - 1;
  let correct = 0;
  let lossSum = 0;
  for (let r = 0; r < split.n; r++) {
    for (let f = 0; f < split.features; f++) a[f] = split.x[r * split.features + f];
    for (let l = 0; l <= last; l++) {
      const { inputs, outputs, bias } = net.layers[l];
      const w = weights[l];
      for (let o = 0; o < outputs; o++) {
        let acc = bias[o];
        const row = o * inputs;
        for (let i = 0; i < inputs; i++) acc += w[row + i] * a[i];
        b[o] = l < last && acc < 0 ? 0 : acc;
      }
      const t = a;
      a = b;
      b = t;
    }
    const classes = net.architecture[net.architecture.length - 1];
    let best = 0;
    let max = a[0];
    for (let c = 1; c < classes; c++) {
      if (a[c] > max) {
        max = a[c];
        best = c;
      }
    }
    const label = split.y[r];
    if (best === label) correct++;
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(a[c] - max);
    lossSum += max + Math.log(sum) - a[label];
  }
  return { accuracy: split.n === 0 ? 0 : correct / split.n, loss: split.n === 0 ? 0 : lossSum / split.n };
}

/** The reference batch evaluator on one split. */
export function referenceEvaluator(net: Network, split: Split): BatchEvaluator {
  return (masks) => masks.map((m) => evaluate(net, m, split));
}
