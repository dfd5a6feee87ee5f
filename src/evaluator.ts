// The evaluators the CLI hands to the coordinator: the island's fast kernel, whose results equal the
// reference evaluator's (test/island/evaluator checks that). Its batches use nearest-parent delta
// evaluation (src/island/evaluator/fast-forward.ts) unless SLT_DELTA=0 is set in the environment;
// SLT_DELTA_CACHE_MB sets its cache budget (default 64 MiB); SLT_SIMD=0 selects the JavaScript kernels.
import type { AsyncEvaluatorFactory } from "./coordinator/single-population.ts";
import type { Split } from "./core/dataset.ts";
import type { BatchEvaluator } from "./core/evaluate.ts";
import type { Network } from "./core/network.ts";
import {
  createFastEvaluator,
  createSharedEvaluator,
  evaluatorOptionsFromEnv,
} from "./island/evaluator/index.ts";

export function makeEvaluator(net: Network, split: Split, options: { loss?: boolean } = {}): BatchEvaluator {
  return createFastEvaluator(net, split, { ...evaluatorOptionsFromEnv(), loss: options.loss ?? true }).batch;
}

/** `slt run --islands 1 --threads N`: the GA's batches on N worker threads over shared memory. */
export function poolEvaluator(threads: number): AsyncEvaluatorFactory {
  return (net, split, { loss }) =>
    createSharedEvaluator(net, split, { threads, evaluator: { ...evaluatorOptionsFromEnv(), loss } });
}
