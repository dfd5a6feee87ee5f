// The gradient baselines of `slt baseline`, on the GA's fixed network (core/network.ts) and data:
// - edge-popup (Ramanujan et al. 2020, as its code allenai/hidden-networks runs it and the GA papers
//   compared with it, reference §9): weights and biases frozen; a score per weight; each forward pass
//   keeps, per layer, the top-k fraction of |score| (topk.ts); the gradient reaches the scores straight
//   through the mask: dL/dmask = dL/dw_eff ⊙ w, and through |score| (the code ranks scores.abs()),
//   dL/dscore = dL/dw_eff ⊙ w ⊙ sign(score). Scores start kaiming-uniform, U(±1/√fan_in) (PyTorch's
//   kaiming_uniform_ with a = √5); weight decay applies to the scores.
// - dense: every weight and bias trained from the same initial values; weight decay on both (one
//   PyTorch parameter group).
// Both: cross-entropy, SGD with momentum (sgd.ts), cosine schedule per epoch, mini-batches in a fresh
// seeded order each epoch, the last batch smaller when the batch size does not divide the split.
// Pure and deterministic: a state in, a new state out (its arrays copied once per epoch, then updated
// in place batch by batch); the only randomness is two streams derived from the run seed.

import type { Split } from "../dataset.ts";
import { emptyMask, fullMask, type Mask, setBit } from "../mask.ts";
import type { Network } from "../network.ts";
import { Rng, type RngState } from "../rng.ts";
import {
  backward,
  crossEntropy,
  type Floats,
  forward,
  type LayerParams,
  loadBatch,
  makeWorkspace,
} from "./mlp.ts";
import { cosineLr, sgdStep } from "./sgd.ts";
import { topKMask } from "./topk.ts";

export type BaselineMethod = "edge-popup" | "dense";

export interface BaselineSettings {
  readonly method: BaselineMethod;
  /** edge-popup: the fraction of each layer's weights kept (0.5: the papers' "EP (50%)") */
  readonly keep: number;
  readonly epochs: number;
  readonly batchSize: number;
  /** the base learning rate of the cosine schedule */
  readonly lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
}

export interface TrainState {
  /** epochs done */
  readonly epoch: number;
  /** per layer; dense: the trained values, edge-popup: the network's own, never changed */
  readonly weights: readonly Float32Array[];
  readonly biases: readonly Float32Array[];
  /** edge-popup's scores per layer; null for dense */
  readonly scores: readonly Float32Array[] | null;
  /** momentum buffers, one per trained array: edge-popup the scores, dense weight and bias of each layer */
  readonly velocity: readonly Float32Array[];
  /** the stream that orders each epoch's rows */
  readonly shuffle: RngState;
}

export interface EpochStats {
  /** 1-based: the epoch just trained */
  readonly epoch: number;
  readonly lr: number;
  /** mean cross-entropy and accuracy over the epoch's batches as they were trained (edge-popup's running figures) */
  readonly trainLoss: number;
  readonly trainAccuracy: number;
  readonly steps: number;
}

/** The streams of a baseline run, named by purpose under the run seed. */
export const scoreStream = (seed: number | string) => Rng.derive(seed, "edge-popup", "scores");
export const shuffleStream = (seed: number | string) => Rng.derive(seed, "baseline", "shuffle");

/** The state before the first epoch: the network's weights, edge-popup's initial scores, zero momentum. */
export function initTraining(net: Network, settings: BaselineSettings, seed: number | string): TrainState {
  const weights = net.layers.map((l) => Float32Array.from(l.weight));
  const biases = net.layers.map((l) => Float32Array.from(l.bias));
  let scores: Float32Array[] | null = null;
  if (settings.method === "edge-popup") {
    const rng = scoreStream(seed);
    scores = net.layers.map((l) => {
      const bound = 1 / Math.sqrt(l.inputs);
      const s = new Float32Array(l.weight.length);
      for (let k = 0; k < s.length; k++) s[k] = rng.uniform(-bound, bound);
      return s;
    });
  }
  const trained = scores ?? weights.flatMap((w, l) => [w, biases[l]]);
  return {
    epoch: 0,
    weights,
    biases,
    scores,
    velocity: trained.map((a) => new Float32Array(a.length)),
    shuffle: shuffleStream(seed).save(),
  };
}

/** A fresh permutation of 0 … n−1 (Fisher–Yates from the identity). */
function epochOrder(n: number, rng: Rng): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  rng.shuffle(order);
  return order;
}

const copies = (arrays: readonly Float32Array[]) => arrays.map((a) => Float32Array.from(a));

/** One epoch: the next state and the epoch's running figures. */
export function trainEpoch(
  state: TrainState,
  net: Network,
  split: Split,
  settings: BaselineSettings,
): { state: TrainState; stats: EpochStats } {
  const arch = net.architecture;
  const next = {
    epoch: state.epoch + 1,
    weights: copies(state.weights),
    biases: copies(state.biases),
    scores: state.scores && copies(state.scores),
    velocity: copies(state.velocity),
  };
  const rng = Rng.restore(state.shuffle);
  const order = epochOrder(split.n, rng);
  const lr = cosineLr(settings.lr, state.epoch, settings.epochs);
  const sgd = { lr, momentum: settings.momentum, weightDecay: settings.weightDecay };
  const batch = Math.min(settings.batchSize, split.n);
  const ws = makeWorkspace(arch, batch);
  const step = next.scores
    ? edgePopupStep(next.weights, next.biases, next.scores, next.velocity, settings.keep, sgd)
    : denseStep(next.weights, next.biases, next.velocity, sgd);
  let lossSum = 0;
  let correct = 0;
  let steps = 0;
  for (let start = 0; start < split.n; start += batch) {
    const count = Math.min(batch, split.n - start);
    loadBatch(ws, split.x, split.features, order, start, count);
    step.params();
    forward(arch, step.layers, ws, count);
    const r = crossEntropy(arch, ws, split.y, order, start, count);
    lossSum += r.loss * count;
    correct += r.correct;
    backward(arch, step.layers, ws, count, step.gradWeight, step.gradBias);
    step.update();
    steps++;
  }
  const stats = {
    epoch: next.epoch,
    lr,
    trainLoss: split.n === 0 ? 0 : lossSum / split.n,
    trainAccuracy: split.n === 0 ? 0 : correct / split.n,
    steps,
  };
  return { state: { ...next, shuffle: rng.save() }, stats };
}

interface Step {
  /** the parameters the passes read */
  readonly layers: readonly LayerParams[];
  readonly gradWeight: Float32Array[];
  readonly gradBias: Float32Array[] | null;
  /** makes `layers` current before a batch (edge-popup: this batch's mask) */
  params(): void;
  /** the optimiser's step from the batch's gradients */
  update(): void;
}

function denseStep(
  weights: Float32Array[],
  biases: Float32Array[],
  velocity: Float32Array[],
  sgd: { lr: number; momentum: number; weightDecay: number },
): Step {
  const gradWeight = weights.map((w) => new Float32Array(w.length));
  const gradBias = biases.map((b) => new Float32Array(b.length));
  return {
    layers: weights.map((weight, l) => ({ weight, bias: biases[l] })),
    gradWeight,
    gradBias,
    params: () => {},
    update: () => {
      for (let l = 0; l < weights.length; l++) {
        sgdStep(weights[l], gradWeight[l], velocity[2 * l], sgd);
        sgdStep(biases[l], gradBias[l], velocity[2 * l + 1], sgd);
      }
    },
  };
}

/**
 * dL/dscore = dL/dw_eff ⊙ w ⊙ sign(score) into `out` (see the file comment): the straight-through
 * gradient of edge-popup's mask, through the |score| it ranks. sign(0) = 0, as PyTorch's abs backward.
 */
export function scoreGradient(gradEff: Floats, weight: Floats, scores: Floats, out: Floats): void {
  for (let k = 0; k < out.length; k++) {
    const s = scores[k];
    const g = gradEff[k] * weight[k];
    out[k] = s > 0 ? g : s < 0 ? -g : 0;
  }
}

function edgePopupStep(
  weights: Float32Array[],
  biases: Float32Array[],
  scores: Float32Array[],
  velocity: Float32Array[],
  keep: number,
  sgd: { lr: number; momentum: number; weightDecay: number },
): Step {
  const masks = weights.map((w) => new Float32Array(w.length));
  const effective = weights.map((w) => new Float32Array(w.length));
  const gradWeight = weights.map((w) => new Float32Array(w.length));
  const gradScore = weights.map((w) => new Float32Array(w.length));
  const scratch = new Float32Array(Math.max(...weights.map((w) => w.length)));
  return {
    layers: effective.map((weight, l) => ({ weight, bias: biases[l] })),
    gradWeight,
    gradBias: null,
    params: () => {
      for (let l = 0; l < weights.length; l++) {
        topKMask(scores[l], keep, masks[l], scratch);
        const w = weights[l];
        const m = masks[l];
        const e = effective[l];
        for (let k = 0; k < e.length; k++) e[k] = m[k] === 1 ? w[k] : 0;
      }
    },
    update: () => {
      for (let l = 0; l < weights.length; l++) {
        scoreGradient(gradWeight[l], weights[l], scores[l], gradScore[l]);
        sgdStep(scores[l], gradScore[l], velocity[l], sgd);
      }
    },
  };
}

/**
 * The ticket's mask: edge-popup's top-k of the final scores, as its forward pass uses them; dense: every
 * weight kept.
 */
export function finalMask(state: TrainState, net: Network, settings: BaselineSettings): Mask {
  const scores = state.scores;
  if (scores === null) return fullMask(net.genomeLength);
  const mask = emptyMask(net.genomeLength);
  const scratch = new Float32Array(Math.max(...net.layers.map((l) => l.weight.length)));
  net.layers.forEach((layer, l) => {
    const kept = new Float32Array(layer.weight.length);
    topKMask(scores[l], settings.keep, kept, scratch);
    for (let k = 0; k < kept.length; k++) if (kept[k] === 1) setBit(mask, layer.offset + k, true);
  });
  return mask;
}

/** The network the ticket holds: the GA's for edge-popup (nothing trained), the trained values for dense. */
export function finalNetwork(state: TrainState, net: Network): Network {
  if (state.scores) return net;
  return {
    ...net,
    layers: net.layers.map((layer, l) => ({ ...layer, weight: state.weights[l], bias: state.biases[l] })),
  };
}
