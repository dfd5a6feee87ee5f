// The island's fast evaluator: the reference evaluator's results (src/core/evaluate.ts), much faster.
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
