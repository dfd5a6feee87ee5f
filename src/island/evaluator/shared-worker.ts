// One worker of the shared-memory evaluator pool (shared-pool.ts). It views the network and the split
// in the shared data buffer (no copy), builds its own fast evaluator over those views, and for each
// batch message takes masks from the shared arena one at a time through the shared work-stealing
// counter, writing each mask's accuracy and loss into the shared result arena.
import { parentPort, workerData } from "node:worker_threads";
import { createFastEvaluator } from "./fast-forward.ts";
import {
  type BatchMessage,
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
let arena = new Uint32Array(new SharedArrayBuffer(0));
let results = new Float64Array(new SharedArrayBuffer(0));

function post(message: WorkerMessage): void {
  port?.postMessage(message);
}

port.on("message", (message: BatchMessage) => {
  if (message.arena !== undefined) arena = new Uint32Array(message.arena);
  if (message.results !== undefined) results = new Float64Array(message.results);
  // acquire: the main thread stored SEQ after writing the masks, COUNT and NEXT
  const seq = Atomics.load(control, SLOT.SEQ);
  if (seq !== message.seq) throw new Error(`worker ${init.index}: batch ${message.seq} but SEQ is ${seq}`);
  const count = Atomics.load(control, SLOT.COUNT);
  let evaluated = 0;
  for (;;) {
    const i = Atomics.add(control, SLOT.NEXT, 1);
    if (i >= count) break;
    if (fault?.throwAtMask === i) throw new Error(`injected fault at mask ${i}`);
    if (fault?.exitAtMask === i) process.exit(3);
    const m = fast.evaluate({ length, words: arena.subarray(i * words, (i + 1) * words) });
    results[i * RESULT_STRIDE] = m.accuracy;
    results[i * RESULT_STRIDE + 1] = m.loss;
    evaluated++;
  }
  // release: every result this worker wrote happens-before the main thread's load of FINISHED
  Atomics.add(control, SLOT.FINISHED, 1);
  post({ type: "done", seq, evaluated });
});

post({ type: "ready", fast: fast.fast });
