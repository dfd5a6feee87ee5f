// The fast evaluator: the reference evaluator's results (src/core/evaluate.ts), much faster. It serves
// single-population runs, islands and the benchmarks, and imports only src/core. This file is its one
// entry point: the kernels' building blocks below, and the two evaluators the CLI hands to the
// coordinator (`makeEvaluator`, `poolEvaluator`). Their batches use nearest-parent delta evaluation
// (fast-forward.ts) unless SLT_DELTA=0 is set in the environment; SLT_DELTA_CACHE_MB sets its cache
// budget (default 64 MiB, more for large networks: 4 masks' columns, up to 1 GiB); SLT_SIMD=0 selects the JavaScript kernels. test/evaluator checks that the
// results equal the reference evaluator's.
import type { Split } from "../core/dataset.ts";
import type { BatchEvaluator } from "../core/evaluate.ts";
import type { Network } from "../core/network.ts";
import { createFastEvaluator, evaluatorOptionsFromEnv } from "./fast-forward.ts";
import { createSharedEvaluator, type SharedEvaluator } from "./shared-pool.ts";

export type { MemoStats } from "./column-memo.ts";
export {
  type CacheStats,
  createFastEvaluator,
  evaluatorOptionsFromEnv,
  type FastEvaluator,
  type FastEvaluatorOptions,
  type ParentCache,
} from "./fast-forward.ts";
export {
  createSharedEvaluator,
  type SharedEvaluator,
  type SharedEvaluatorOptions,
} from "./shared-pool.ts";
export { type KernelChoice, kernelChoiceFromEnv, type SimdKind, simdKinds } from "./simd-kernel.ts";

/** `slt run --islands 1`: the GA's batches in-process, with the options the environment sets. */
export function makeEvaluator(net: Network, split: Split, options: { loss?: boolean } = {}): BatchEvaluator {
  return createFastEvaluator(net, split, { ...evaluatorOptionsFromEnv(), loss: options.loss ?? true }).batch;
}

/**
 * `slt run --islands 1 --threads N`: the GA's batches on N worker threads over shared memory. The
 * coordinator takes the factory as its `AsyncEvaluatorFactory` (single-population.ts).
 */
export function poolEvaluator(
  threads: number,
): (net: Network, split: Split, options: { loss: boolean }) => Promise<SharedEvaluator> {
  return (net, split, { loss }) =>
    createSharedEvaluator(net, split, { threads, evaluator: { ...evaluatorOptionsFromEnv(), loss } });
}
