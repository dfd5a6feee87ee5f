// One worker of the shared-memory evaluator pool (shared-pool.ts). It views the network and the split
// in the shared data buffer (no copy), builds its own fast evaluator over those views, and for each
// batch message takes masks from the shared arena one at a time — first from its own work queue, then
// from the others' (work stealing) — evaluating each from its nearest cached parent when that is
// cheaper (`evaluateNearest`), and writes each mask's accuracy, loss and its own index into the shared
// result arena.
import { parentPort, workerData } from "node:worker_threads";
import { createFastEvaluator } from "./fast-forward.ts";
import {
  type BatchMessage,
  QUEUE,
  queueSlot,
  RESULT_STRIDE,
  SLOT,
  viewNetwork,
  viewSplit,
  type WorkerInit,
  type WorkerMessage,
} from "./shared-layout.ts";

const port = parentPort;
if (port === null) throw new Error("shared-worker.ts must run as a worker thread");
const init = workerData as WorkerInit;
const control = new Int32Array(init.control);
const net = viewNetwork(init.data, init.layout);
const split = viewSplit(init.data, init.layout);
const fast = createFastEvaluator(net, split, init.evaluator);
const length = net.genomeLength;
const words = Math.ceil(length / 32);
const fault = init.fault;
const me = init.index;
const threads = init.threads;
let arena = new Uint32Array(new SharedArrayBuffer(0));
let order = new Int32Array(new SharedArrayBuffer(0));
let results = new Float64Array(new SharedArrayBuffer(0));

function post(message: WorkerMessage): void {
  port?.postMessage(message);
}

port.on("message", (message: BatchMessage) => {
  if (message.arena !== undefined) arena = new Uint32Array(message.arena);
  if (message.order !== undefined) order = new Int32Array(message.order);
  if (message.results !== undefined) results = new Float64Array(message.results);
  // acquire: the main thread stored SEQ after writing the masks, the order and the queue slots
  const seq = Atomics.load(control, SLOT.SEQ);
  if (seq !== message.seq) throw new Error(`worker ${me}: batch ${message.seq} but SEQ is ${seq}`);
  let evaluated = 0;
  // own queue first, then the others' in turn
  for (let j = 0; j < threads; j++) {
    const q = (me + j) % threads;
    const start = Atomics.load(control, queueSlot(q, QUEUE.START));
    const len = Atomics.load(control, queueSlot(q, QUEUE.LENGTH));
    for (;;) {
      const h = Atomics.add(control, queueSlot(q, QUEUE.HEAD), 1);
      if (h >= len) break;
      const i = order[start + h];
      if (fault?.throwAtMask === i) throw new Error(`injected fault at mask ${i}`);
      if (fault?.exitAtMask === i) process.exit(3);
      const m = fast.evaluateNearest({ length, words: arena.subarray(i * words, (i + 1) * words) });
      results[i * RESULT_STRIDE] = m.accuracy;
      results[i * RESULT_STRIDE + 1] = m.loss;
      results[i * RESULT_STRIDE + 2] = me;
      evaluated++;
    }
  }
  // release: every result this worker wrote happens-before the main thread's load of FINISHED
  Atomics.add(control, SLOT.FINISHED, 1);
  const { exact, delta, full, tooCostly } = fast.cacheStats().nearest;
  post({ type: "done", seq, evaluated, nearest: { exact, delta, full, tooCostly } });
});

post({ type: "ready", fast: fast.fast });
