// The evaluator the CLI hands to the coordinator: the island's fast kernel, whose results equal the
// reference evaluator's (test/island/evaluator checks that). Its batches use nearest-parent delta
// evaluation (src/island/evaluator/fast-forward.ts) unless SLT_DELTA=0 is set in the environment;
// SLT_DELTA_CACHE_MB sets its cache budget (default 64 MiB).
import type { Split } from "./core/dataset.ts";
import type { BatchEvaluator } from "./core/evaluate.ts";
import type { Network } from "./core/network.ts";
import { createFastEvaluator, deltaOptionsFromEnv } from "./island/evaluator/index.ts";

export function makeEvaluator(net: Network, split: Split): BatchEvaluator {
  return createFastEvaluator(net, split, deltaOptionsFromEnv()).batch;
}
