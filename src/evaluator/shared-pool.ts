// The shared-memory evaluator: a small Atomics-based pool of worker threads, each running the fast
// evaluator (fast-forward.ts) over one copy of the network and the data in shared memory. Results are
// the reference evaluator's (src/core/evaluate.ts) exactly, whatever the number of threads: a mask's
// metrics depend only on the mask, never on which worker evaluated it or what it evaluated before.
//
// Shared memory (shared-layout.ts):
// - weights, biases and the split's x and y are copied ONCE into a SharedArrayBuffer when the pool is
//   created; every worker views them as a Network and a Split without copying. (Each worker's fast
//   evaluator then keeps its own private scratch: x transposed feature-major, the block buffer, its
//   first-hidden-layer column memo and its cache of evaluated masks for delta evaluation.)
// - each batch's masks are written into a shared mask arena (one slot of ⌈genome/32⌉ words per mask),
//   the order in which the workers' queues take them into an order arena; the workers write accuracy,
//   loss and their own index into a shared Float64 result arena. The arenas grow (at least doubling)
//   when a batch does not fit; the new buffers are sent to the workers with the next batch message
//   only — otherwise a batch costs one small postMessage per worker, and no mask is copied per task.
//
// Delta evaluation. Each worker evaluates a mask from the nearest mask in its own cache when that is
// cheaper (`evaluateNearest`, fast-forward.ts; on by default, `SLT_DELTA=0` turns it off, each worker
// has its own `cacheBytes`, by default 64 MiB or 4 whole masks' columns, up to 1 GiB). Per-worker caches miss when a mask's parent was evaluated
// by another worker, so masks are queued by nearest-parent affinity (class `Affinity` below): the main
// thread remembers which worker evaluated each of the last 256 masks and queues every new mask to the
// worker of its nearest one (a mutant of a child in the same batch follows the child). On a GA's mask
// sequence that keeps as many masks evaluated by delta as one worker would, where plain work stealing
// loses a third to a half of them (docs/performance.md § Why the kernels are shaped so). Affinity alone could pile a batch onto one worker (everything descends from what worker 0 did
// first), so each queue is capped at ⌈1.25 · batch / workers⌉, the overflow moved (from the back) to
// the shortest queue, and work stealing evens out what remains.
//
// Work split: per-worker queues with work stealing. A worker takes masks from its own queue with
// Atomics.add on the queue's counter, then from the other queues in turn with the same counters. A
// mask's cost varies a lot (the plan skips pruned weights; memo hits and deltas depend on what a worker
// evaluated before), so static slices would leave threads idle; one atomic add per mask is negligible
// next to a forward pass. Without delta (or with one worker) every mask goes to one queue that all
// workers take from, as plain work stealing.
//
// Synchronisation: the main thread writes the masks, the order and the batch's COUNT/FINISHED and queue
// slots, then stores SEQ (Atomics: release) and posts {seq} to each worker, which loads SEQ (acquire)
// before reading masks. Each worker bumps FINISHED (release) after its last result and posts "done"
// (with its delta counts); once all have, the main thread loads FINISHED (acquire) and reads the results.
//
// This evaluator is asynchronous (`AsyncBatchEvaluator`): the island drives the core GA with
// `initRunAsync` / `stepAsync` (src/core/ga), which await each batch and reach the synchronous step's
// states. `threads: 0` evaluates in-process on the calling thread (the plain fast evaluator, no shared
// memory) behind the same async API.
import { Worker } from "node:worker_threads";
import type { Split } from "../core/dataset.ts";
import type { AsyncBatchEvaluator, Metrics } from "../core/evaluate.ts";
import type { Mask } from "../core/mask.ts";
import type { Network } from "../core/network.ts";
import {
  checkSplit,
  createFastEvaluator,
  evaluatorOptionsFromEnv,
  type FastEvaluatorOptions,
} from "./fast-forward.ts";
import {
  type BatchMessage,
  controlSlots,
  type NearestCounts,
  QUEUE,
  queueSlot,
  RESULT_STRIDE,
  SLOT,
  shareNetworkAndSplit,
  type WorkerInit,
  type WorkerMessage,
} from "./shared-layout.ts";

export type { AsyncBatchEvaluator } from "../core/evaluate.ts";
export type { NearestCounts } from "./shared-layout.ts";

export interface SharedEvaluatorOptions {
  /**
   * worker threads (default 1). 0 evaluates in-process on the calling thread (no workers, no shared
   * memory; the event loop is blocked while a batch runs). 1 already moves the work off the main thread,
   * which keeps it free for networking. The default is 1, not the core count, because a host usually
   * runs several islands; pass `os.availableParallelism()` for a single island per host.
   */
  readonly threads?: number;
  /**
   * options of each worker's fast evaluator (each worker has its own cache of `cacheBytes`). `delta`
   * and `cacheBytes` default to `evaluatorOptionsFromEnv()`: on, the default budget, unless SLT_DELTA /
   * SLT_DELTA_CACHE_MB say otherwise.
   */
  readonly evaluator?: FastEvaluatorOptions;
  /**
   * with delta evaluation and 2 or more workers, queue each mask to the worker that evaluated its
   * nearest recent mask (default true); false puts every mask in one queue that all workers take from
   */
  readonly affinity?: boolean;
  /** masks the shared arena holds before it first grows (default 64) */
  readonly initialCapacity?: number;
  /**
   * TEST ONLY: the worker that takes mask `throwAtMask` of a batch throws (an uncaught error), and the
   * one that takes `exitAtMask` calls process.exit(3). Used to check that a crashed worker rejects the
   * pending batch and breaks the pool.
   */
  readonly faultInjection?: { readonly throwAtMask?: number; readonly exitAtMask?: number };
}

export interface SharedEvaluator {
  /** worker threads (0: in-process) */
  readonly threads: number;
  readonly genomeLength: number;
  /** false when the fast kernels fell back to the reference evaluator (non-finite or huge values) */
  readonly fast: boolean;
  /** masks evaluated so far */
  readonly evaluations: number;
  /** masks evaluated so far by each worker (how work stealing shared them out); [] in-process */
  workerEvaluations(): number[];
  /** nearest-parent counts summed over the workers (as of their last finished batch) */
  nearestStats(): NearestCounts;
  /**
   * Metrics of each mask, in order; identical to the reference `evaluate`. Calls made while a batch
   * runs are queued and run in call order. Masks are read when their batch starts: do not modify them
   * until the promise settles. Rejects with a RangeError naming the first mask of the wrong length, with
   * the pool's error after a worker crashed, and after `close`.
   */
  evaluateBatch(masks: readonly Mask[]): Promise<Metrics[]>;
  /** `evaluateBatch` as a free function. */
  readonly batch: AsyncBatchEvaluator;
  /** Terminates the workers; a running or queued batch rejects. Idempotent. */
  close(): Promise<void>;
}

/** A worker crashed or exited: the pending batch and every later call reject with this error. */
export class SharedEvaluatorError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SharedEvaluatorError";
  }
}

const DEFAULT_CAPACITY = 64;

function checkMasks(masks: readonly Mask[], genomeLength: number): void {
  const words = Math.ceil(genomeLength / 32);
  for (let k = 0; k < masks.length; k++) {
    const m = masks[k];
    if (m.length !== genomeLength) {
      throw new RangeError(`mask ${k} has ${m.length} bits but the network has ${genomeLength} weights`);
    }
    if (m.words.length !== words) {
      throw new RangeError(
        `mask ${k} has ${m.words.length} words, expected ${words} for ${genomeLength} bits`,
      );
    }
  }
}

function closedError(): Error {
  return new Error("shared evaluator is closed");
}

/** threads = 0: the fast evaluator on the calling thread, behind the async API. */
class InProcess implements SharedEvaluator {
  readonly threads = 0;
  readonly genomeLength: number;
  readonly fast: boolean;
  readonly batch: AsyncBatchEvaluator;
  evaluations = 0;
  #evaluator: ReturnType<typeof createFastEvaluator> | null;
  #nearest: NearestCounts = { exact: 0, delta: 0, full: 0, tooCostly: 0 };

  constructor(net: Network, split: Split, options: FastEvaluatorOptions) {
    this.#evaluator = createFastEvaluator(net, split, options);
    this.genomeLength = net.genomeLength;
    this.fast = this.#evaluator.fast;
    this.batch = (masks) => this.evaluateBatch(masks);
  }

  async evaluateBatch(masks: readonly Mask[]): Promise<Metrics[]> {
    const evaluator = this.#evaluator;
    if (evaluator === null) throw closedError();
    checkMasks(masks, this.genomeLength);
    const out = evaluator.evaluateBatch(masks);
    this.evaluations += out.length;
    return out;
  }

  workerEvaluations(): number[] {
    return [];
  }

  nearestStats(): NearestCounts {
    if (this.#evaluator !== null) {
      const { exact, delta, full, tooCostly } = this.#evaluator.cacheStats().nearest;
      this.#nearest = { exact, delta, full, tooCostly };
    }
    return { ...this.#nearest };
  }

  async close(): Promise<void> {
    this.nearestStats();
    this.#evaluator = null;
  }
}

/**
 * Nearest-parent affinity: each new mask goes to the queue of the worker that evaluated the nearest of
 * the last HISTORY masks (or of the masks before it in this batch, which inherit their own choice), so
 * that the worker finds that parent in its own cache. Queues are then capped at ⌈1.25 · count / threads⌉
 * (the overflow, from the back, goes to the shortest queue) and work stealing evens out the rest.
 * A mask with nothing within `units` bits (the search's own cut-off) goes to the shortest queue.
 * Exported for tests.
 */
export class Affinity {
  static readonly HISTORY = 256;
  readonly #threads: number;
  readonly #words: number;
  readonly #cutoff: number;
  /** ring of recent masks (HISTORY · words) and the worker that evaluated each */
  readonly #ring: Uint32Array;
  readonly #owner: Int32Array;
  #filled = 0;
  #next = 0;

  constructor(threads: number, words: number, units: number) {
    this.#threads = threads;
    this.#words = words;
    this.#cutoff = units;
    this.#ring = new Uint32Array(Affinity.HISTORY * words);
    this.#owner = new Int32Array(Affinity.HISTORY);
  }

  /** Hamming distance of a and b (words at offsets ao and bo), or `bound` once it reaches it. */
  #distance(a: Uint32Array, ao: number, b: Uint32Array, bo: number, bound: number): number {
    let d = 0;
    for (let i = 0; i < this.#words && d < bound; i++) {
      let x = a[ao + i] ^ b[bo + i];
      if (x === 0) continue;
      x -= (x >>> 1) & 0x55555555;
      x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
      x = (x + (x >>> 4)) & 0x0f0f0f0f;
      d += Math.imul(x, 0x01010101) >>> 24;
    }
    return d;
  }

  /** The worker each mask of the batch is queued to. */
  assign(masks: readonly Mask[]): Int32Array {
    const T = this.#threads;
    const W = this.#words;
    const count = masks.length;
    const owner = new Int32Array(count).fill(-1);
    const load = new Int32Array(T);
    for (let i = 0; i < count; i++) {
      const m = masks[i].words;
      let best = this.#cutoff;
      let w = -1;
      // most recent first: ties go to the latest evaluation
      for (let j = i - 1; j >= Math.max(0, i - Affinity.HISTORY) && best > 1; j--) {
        const d = this.#distance(m, 0, masks[j].words, 0, best);
        if (d < best) {
          best = d;
          w = owner[j];
        }
      }
      for (let k = 1; k <= this.#filled && best > 1; k++) {
        const slot = (this.#next - k + Affinity.HISTORY) % Affinity.HISTORY;
        const d = this.#distance(m, 0, this.#ring, slot * W, best);
        if (d < best) {
          best = d;
          w = this.#owner[slot];
        }
      }
      if (w < 0) {
        w = 0;
        for (let k = 1; k < T; k++) if (load[k] < load[w]) w = k;
      }
      owner[i] = w;
      load[w]++;
    }
    const cap = Math.ceil((1.25 * count) / T);
    for (let i = count - 1; i >= 0; i--) {
      const w = owner[i];
      if (load[w] <= cap) continue;
      let t = 0;
      for (let k = 1; k < T; k++) if (load[k] < load[t]) t = k;
      load[w]--;
      load[t]++;
      owner[i] = t;
    }
    return owner;
  }

  /** Records the batch's masks and the workers that evaluated them. */
  remember(arena: Uint32Array, results: Float64Array, count: number): void {
    const W = this.#words;
    for (let i = Math.max(0, count - Affinity.HISTORY); i < count; i++) {
      this.#ring.set(arena.subarray(i * W, (i + 1) * W), this.#next * W);
      this.#owner[this.#next] = results[i * RESULT_STRIDE + 2];
      this.#next = (this.#next + 1) % Affinity.HISTORY;
      if (this.#filled < Affinity.HISTORY) this.#filled++;
    }
  }
}

interface Pending {
  readonly seq: number;
  readonly count: number;
  waiting: number;
  evaluated: number;
  readonly resolve: (metrics: Metrics[]) => void;
  readonly reject: (error: Error) => void;
}

/** threads ≥ 1: the worker pool. */
class Pool implements SharedEvaluator {
  readonly threads: number;
  readonly genomeLength: number;
  readonly batch: AsyncBatchEvaluator;
  fast = true;
  evaluations = 0;
  readonly #words: number;
  readonly #workers: Worker[] = [];
  readonly #perWorker: number[];
  readonly #nearest: NearestCounts[];
  readonly #control: Int32Array;
  #arena: Uint32Array;
  #order: Int32Array;
  #results: Float64Array;
  /** nearest-parent affinity (null: one shared queue) */
  readonly #affinity: Affinity | null;
  /** the arenas were replaced since the last batch message */
  #resend = true;
  #seq = 0;
  #pending: Pending | null = null;
  #tail: Promise<unknown> = Promise.resolve();
  #failure: Error | null = null;
  #closed = false;
  #terminated: Promise<void> | null = null;
  /** settles creation: resolve once every worker is ready, reject on the first failure */
  #startup: { ready: number; resolve: () => void; reject: (e: Error) => void } | null = null;

  constructor(net: Network, split: Split, threads: number, options: SharedEvaluatorOptions) {
    this.threads = threads;
    this.genomeLength = net.genomeLength;
    this.#words = Math.ceil(net.genomeLength / 32);
    this.#perWorker = new Array(threads).fill(0);
    this.#nearest = Array.from({ length: threads }, () => ({ exact: 0, delta: 0, full: 0, tooCostly: 0 }));
    const capacity = options.initialCapacity ?? DEFAULT_CAPACITY;
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`initialCapacity must be a positive integer, got ${options.initialCapacity}`);
    }
    this.#arena = new Uint32Array(new SharedArrayBuffer(capacity * this.#words * 4));
    this.#order = new Int32Array(new SharedArrayBuffer(capacity * 4));
    this.#results = new Float64Array(new SharedArrayBuffer(capacity * RESULT_STRIDE * 8));
    this.#control = new Int32Array(new SharedArrayBuffer(controlSlots(threads) * 4));
    this.batch = (masks) => this.evaluateBatch(masks);
    const { data, layout } = shareNetworkAndSplit(net, split);
    const evaluator = { ...evaluatorOptionsFromEnv(), ...options.evaluator };
    const units = net.architecture.slice(1).reduce((a, b) => a + b, 0);
    this.#affinity =
      threads > 1 && (options.affinity ?? true) && (evaluator.delta ?? true) && evaluator.cacheBytes !== 0
        ? new Affinity(threads, this.#words, units)
        : null;
    for (let k = 0; k < threads; k++) {
      const init: WorkerInit = {
        index: k,
        threads,
        data,
        layout,
        control: this.#control.buffer as SharedArrayBuffer,
        evaluator,
        ...(options.faultInjection === undefined ? {} : { fault: { ...options.faultInjection } }),
      };
      const worker = new Worker(new URL("./shared-worker.ts", import.meta.url), {
        workerData: init,
        name: `slt-shared-evaluator-${k}`,
      });
      worker.on("message", (m: WorkerMessage) => this.#onMessage(k, m));
      worker.on("error", (e: Error) =>
        this.#fail(
          new SharedEvaluatorError(`shared evaluator: worker ${k} crashed: ${e.message}`, { cause: e }),
        ),
      );
      worker.on("messageerror", (e: Error) =>
        this.#fail(
          new SharedEvaluatorError(`shared evaluator: worker ${k} sent an unreadable message: ${e.message}`, {
            cause: e,
          }),
        ),
      );
      worker.on("exit", (code: number) => {
        if (!this.#closed) {
          this.#fail(
            new SharedEvaluatorError(`shared evaluator: worker ${k} exited unexpectedly with code ${code}`),
          );
        }
      });
      this.#workers.push(worker);
    }
  }

  /** Resolves once every worker has built its evaluator. */
  started(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#failure !== null) reject(this.#failure);
      else this.#startup = { ready: 0, resolve, reject };
    });
  }

  #onMessage(k: number, m: WorkerMessage): void {
    if (m.type === "ready") {
      if (!m.fast) this.fast = false;
      const s = this.#startup;
      if (s !== null && ++s.ready === this.threads) {
        this.#startup = null;
        // idle workers must not keep the process alive; they are ref'd while a batch runs
        for (const w of this.#workers) w.unref();
        s.resolve();
      }
      return;
    }
    const p = this.#pending;
    if (p === null || m.seq !== p.seq) {
      this.#fail(
        new SharedEvaluatorError(`shared evaluator: worker ${k} finished batch ${m.seq} out of turn`),
      );
      return;
    }
    p.evaluated += m.evaluated;
    this.#perWorker[k] += m.evaluated;
    this.#nearest[k] = m.nearest;
    if (--p.waiting > 0) return;
    this.#pending = null;
    for (const w of this.#workers) w.unref();
    // acquire: pairs with each worker's Atomics.add after its last result write
    const finished = Atomics.load(this.#control, SLOT.FINISHED);
    if (finished !== this.threads || p.evaluated !== p.count) {
      const e = new SharedEvaluatorError(
        `shared evaluator: batch ${p.seq} ended with ${p.evaluated} of ${p.count} masks evaluated`,
      );
      p.reject(e);
      this.#fail(e);
      return;
    }
    const r = this.#results;
    const out: Metrics[] = new Array(p.count);
    for (let i = 0; i < p.count; i++) {
      out[i] = { accuracy: r[i * RESULT_STRIDE], loss: r[i * RESULT_STRIDE + 1] };
    }
    this.#affinity?.remember(this.#arena, r, p.count);
    this.evaluations += p.count;
    p.resolve(out);
  }

  /** The pool is broken: reject what is pending, stop every worker, remember the error. */
  #fail(e: Error): void {
    if (this.#failure !== null || this.#closed) return;
    this.#failure = e;
    const s = this.#startup;
    this.#startup = null;
    s?.reject(e);
    const p = this.#pending;
    this.#pending = null;
    p?.reject(e);
    this.#terminate();
  }

  #terminate(): Promise<void> {
    this.#terminated ??= Promise.all(this.#workers.map((w) => w.terminate())).then(() => undefined);
    return this.#terminated;
  }

  #unusable(): Error | null {
    if (this.#closed) return closedError();
    return this.#failure;
  }

  evaluateBatch(masks: readonly Mask[]): Promise<Metrics[]> {
    const bad = this.#unusable();
    if (bad !== null) return Promise.reject(bad);
    try {
      checkMasks(masks, this.genomeLength);
    } catch (e) {
      return Promise.reject(e);
    }
    if (masks.length === 0) return Promise.resolve([]);
    const run = this.#tail.then(() => this.#run(masks));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  #ensureCapacity(count: number): void {
    const capacity = this.#results.length / RESULT_STRIDE;
    if (count <= capacity) return;
    const grown = Math.max(count, 2 * capacity);
    this.#arena = new Uint32Array(new SharedArrayBuffer(grown * this.#words * 4));
    this.#order = new Int32Array(new SharedArrayBuffer(grown * 4));
    this.#results = new Float64Array(new SharedArrayBuffer(grown * RESULT_STRIDE * 8));
    this.#resend = true;
  }

  #run(masks: readonly Mask[]): Promise<Metrics[]> {
    const bad = this.#unusable();
    if (bad !== null) return Promise.reject(bad);
    const count = masks.length;
    this.#ensureCapacity(count);
    const W = this.#words;
    const arena = this.#arena;
    for (let i = 0; i < count; i++) arena.set(masks[i].words, i * W);
    const c = this.#control;
    const seq = ++this.#seq;
    const order = this.#order;
    if (this.#affinity === null) {
      // one queue, in batch order, that every worker takes from
      for (let i = 0; i < count; i++) order[i] = i;
      for (let k = 0; k < this.threads; k++) {
        Atomics.store(c, queueSlot(k, QUEUE.START), 0);
        Atomics.store(c, queueSlot(k, QUEUE.LENGTH), k === 0 ? count : 0);
        Atomics.store(c, queueSlot(k, QUEUE.HEAD), 0);
      }
    } else {
      const owner = this.#affinity.assign(masks);
      let at = 0;
      for (let k = 0; k < this.threads; k++) {
        const start = at;
        for (let i = 0; i < count; i++) if (owner[i] === k) order[at++] = i;
        Atomics.store(c, queueSlot(k, QUEUE.START), start);
        Atomics.store(c, queueSlot(k, QUEUE.LENGTH), at - start);
        Atomics.store(c, queueSlot(k, QUEUE.HEAD), 0);
      }
    }
    Atomics.store(c, SLOT.COUNT, count);
    Atomics.store(c, SLOT.FINISHED, 0);
    // release: the masks, the order and the slots above happen-before a worker's load of SEQ
    Atomics.store(c, SLOT.SEQ, seq);
    const message: BatchMessage = this.#resend
      ? {
          type: "batch",
          seq,
          arena: arena.buffer as SharedArrayBuffer,
          order: order.buffer as SharedArrayBuffer,
          results: this.#results.buffer as SharedArrayBuffer,
        }
      : { type: "batch", seq };
    this.#resend = false;
    return new Promise((resolve, reject) => {
      this.#pending = { seq, count, waiting: this.threads, evaluated: 0, resolve, reject };
      for (const w of this.#workers) {
        w.ref();
        w.postMessage(message);
      }
    });
  }

  workerEvaluations(): number[] {
    return [...this.#perWorker];
  }

  nearestStats(): NearestCounts {
    const sum = { exact: 0, delta: 0, full: 0, tooCostly: 0 };
    for (const n of this.#nearest) {
      sum.exact += n.exact;
      sum.delta += n.delta;
      sum.full += n.full;
      sum.tooCostly += n.tooCostly;
    }
    return sum;
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      const e = closedError();
      const s = this.#startup;
      this.#startup = null;
      s?.reject(e);
      const p = this.#pending;
      this.#pending = null;
      p?.reject(new Error("shared evaluator closed while a batch was running"));
    }
    return this.#terminate();
  }
}

/**
 * A pool of `threads` workers evaluating masks of `net` on `split`, with the reference evaluator's
 * results. Resolves once every worker is ready; rejects (after stopping every worker) if one fails to
 * start. Close it when done.
 */
export async function createSharedEvaluator(
  net: Network,
  split: Split,
  options: SharedEvaluatorOptions = {},
): Promise<SharedEvaluator> {
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 0) {
    throw new RangeError(`threads must be an integer ≥ 0, got ${options.threads}`);
  }
  checkSplit(net, split);
  if (threads === 0) return new InProcess(net, split, { ...evaluatorOptionsFromEnv(), ...options.evaluator });
  const pool = new Pool(net, split, threads, options);
  try {
    await pool.started();
  } catch (e) {
    await pool.close();
    throw e;
  }
  return pool;
}
