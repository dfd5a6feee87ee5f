// The evaluator the CLI hands to the coordinator: the island's fast kernel.
import type { Split } from "./core/dataset.ts";
import { type BatchEvaluator, referenceEvaluator } from "./core/evaluate.ts";
import type { Network } from "./core/network.ts";

export function makeEvaluator(net: Network, split: Split): BatchEvaluator {
  return referenceEvaluator(net, split);
}
