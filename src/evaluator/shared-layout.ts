// Shared-memory layout of the worker-pool evaluator (shared-pool.ts, shared-worker.ts).
//
// - One "data" SharedArrayBuffer of 4-byte elements, written once by the main thread and only read
//   afterwards: every layer's weights ([out][in] row-major) then its biases, layer after layer, then
//   the split's x (row-major, as in `Split`) and y. Workers view it as a `Network` and a `Split`
//   without copying (`viewNetwork`, `viewSplit`).
// - One "control" Int32Array of named Atomics slots (`SLOT`), piscina-style, and per worker its work
//   queue's slots (`QUEUE`).
// - A mask arena (Uint32, `wordsPerMask` words per mask, one slot per mask of the batch), an order arena
//   (Int32: the batch's mask indices grouped by work queue) and a result arena (Float64, accuracy, loss
//   and evaluating worker per mask), all replaced by larger buffers when a batch does not fit; the new
//   buffers travel to the workers with the next batch message only.
import type { Split } from "../core/dataset.ts";
import type { Architecture, InitScheme, Layer, Network } from "../core/network.ts";
import type { FastEvaluatorOptions } from "./fast-forward.ts";

/** Named slots of the control Int32Array. */
export const SLOT = {
  /** sequence number of the current batch; stored last by the main thread (release), loaded first by workers (acquire) */
  SEQ: 0,
  /** number of masks in the current batch */
  COUNT: 1,
  /** workers finished with the current batch; bumped after the worker's last result write (release) */
  FINISHED: 2,
} as const;
/**
 * Then one work queue per worker, three slots each: where its mask indices start in the order arena,
 * how many there are, and the claim counter (`Atomics.add(HEAD, 1)` by the owner and by thieves alike).
 */
export const QUEUE = { START: 0, LENGTH: 1, HEAD: 2 } as const;
const QUEUE_BASE = 3;
const QUEUE_SLOTS = 3;

/** Control slot of `field` of worker k's queue. */
export function queueSlot(k: number, field: number): number {
  return QUEUE_BASE + QUEUE_SLOTS * k + field;
}

/** Control slots for a pool of `threads` workers. */
export function controlSlots(threads: number): number {
  return QUEUE_BASE + QUEUE_SLOTS * threads;
}

/** Float64 results per mask: accuracy, loss, and the index of the worker that evaluated it. */
export const RESULT_STRIDE = 3;

/** Where each part lives in the data buffer, in 4-byte elements. Plain data: sent to workers as is. */
export interface DataLayout {
  readonly architecture: Architecture;
  readonly init: InitScheme;
  readonly seed: number | string;
  readonly genomeLength: number;
  /** per weight layer: element offset of its weights and of its biases */
  readonly weightAt: readonly number[];
  readonly biasAt: readonly number[];
  readonly n: number;
  readonly features: number;
  readonly xAt: number;
  readonly yAt: number;
  /** total 4-byte elements */
  readonly elements: number;
}

/** Copies the network's weights and biases and the split's x and y into one new SharedArrayBuffer. */
export function shareNetworkAndSplit(
  net: Network,
  split: Split,
): { readonly data: SharedArrayBuffer; readonly layout: DataLayout } {
  const weightAt: number[] = [];
  const biasAt: number[] = [];
  let at = 0;
  for (const L of net.layers) {
    weightAt.push(at);
    at += L.weight.length;
    biasAt.push(at);
    at += L.bias.length;
  }
  const xAt = at;
  at += split.x.length;
  const yAt = at;
  at += split.y.length;
  const layout: DataLayout = {
    architecture: [...net.architecture],
    init: { ...net.init },
    seed: net.seed,
    genomeLength: net.genomeLength,
    weightAt,
    biasAt,
    n: split.n,
    features: split.features,
    xAt,
    yAt,
    elements: at,
  };
  const data = new SharedArrayBuffer(at * 4);
  const f32 = new Float32Array(data);
  net.layers.forEach((L, l) => {
    f32.set(L.weight, weightAt[l]);
    f32.set(L.bias, biasAt[l]);
  });
  f32.set(split.x, xAt);
  new Int32Array(data).set(split.y, yAt);
  return { data, layout };
}

/** The network as views over the shared data buffer (no copy). */
export function viewNetwork(data: SharedArrayBuffer, layout: DataLayout): Network {
  const arch = layout.architecture;
  const layers: Layer[] = [];
  let offset = 0;
  for (let l = 1; l < arch.length; l++) {
    const inputs = arch[l - 1];
    const outputs = arch[l];
    layers.push({
      inputs,
      outputs,
      weight: new Float32Array(data, layout.weightAt[l - 1] * 4, inputs * outputs),
      bias: new Float32Array(data, layout.biasAt[l - 1] * 4, outputs),
      offset,
    });
    offset += inputs * outputs;
  }
  return {
    architecture: arch,
    init: layout.init,
    seed: layout.seed,
    layers,
    genomeLength: layout.genomeLength,
  };
}

/** The split as views over the shared data buffer (no copy). */
export function viewSplit(data: SharedArrayBuffer, layout: DataLayout): Split {
  return {
    n: layout.n,
    features: layout.features,
    x: new Float32Array(data, layout.xAt * 4, layout.n * layout.features),
    y: new Int32Array(data, layout.yAt * 4, layout.n),
  };
}

/** What each worker receives as `workerData`. */
export interface WorkerInit {
  readonly index: number;
  /** workers in the pool (the number of work queues) */
  readonly threads: number;
  readonly data: SharedArrayBuffer;
  readonly layout: DataLayout;
  readonly control: SharedArrayBuffer;
  /** each worker's fast-evaluator options (all plain data, so they pass as workerData) */
  readonly evaluator: FastEvaluatorOptions;
  /** test-only fault injection (see SharedEvaluatorOptions.faultInjection) */
  readonly fault?: { readonly throwAtMask?: number; readonly exitAtMask?: number };
}

/**
 * Main → worker, one per batch. `arena`, `order` and `results` are present only after they were
 * replaced.
 */
export interface BatchMessage {
  readonly type: "batch";
  readonly seq: number;
  readonly arena?: SharedArrayBuffer;
  readonly order?: SharedArrayBuffer;
  readonly results?: SharedArrayBuffer;
}

/** A worker's nearest-parent counts so far (fast-forward.ts `CacheStats.nearest`). */
export interface NearestCounts {
  readonly exact: number;
  readonly delta: number;
  readonly full: number;
  readonly tooCostly: number;
}

/** Worker → main. */
export type WorkerMessage =
  | { readonly type: "ready"; readonly fast: boolean }
  | {
      readonly type: "done";
      readonly seq: number;
      readonly evaluated: number;
      readonly nearest: NearestCounts;
    };
