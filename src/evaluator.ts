// The evaluator the CLI hands to the coordinator: the island's fast kernel, whose results equal the
// reference evaluator's (test/island/evaluator checks that).
import type { Split } from "./core/dataset.ts";
import type { BatchEvaluator } from "./core/evaluate.ts";
import type { Network } from "./core/network.ts";
import { createFastEvaluator } from "./island/evaluator/index.ts";

export function makeEvaluator(net: Network, split: Split): BatchEvaluator {
  return createFastEvaluator(net, split).batch;
}
