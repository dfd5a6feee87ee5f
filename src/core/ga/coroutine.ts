// Evaluation coroutines: GA logic that needs metrics yields a batch of masks and is resumed with their
// metrics, so one implementation of the GA serves both a synchronous evaluator (tests, the coordinator)
// and an asynchronous one (the island's worker pool). The drivers below only pass batches through.
import type { AsyncBatchEvaluator, BatchEvaluator, Metrics } from "../evaluate.ts";
import type { Mask } from "../mask.ts";

/** Yields batches of masks to evaluate, is resumed with their metrics (unchecked), returns R. */
export type EvaluationCoroutine<R> = Generator<readonly Mask[], R, Metrics[]>;

/**
 * Runs `co` to completion with a synchronous evaluator. An evaluator error propagates; the abandoned
 * coroutine holds no resources.
 */
export function runCoroutine<R>(co: EvaluationCoroutine<R>, evaluate: BatchEvaluator): R {
  let r = co.next();
  while (!r.done) r = co.next(evaluate(r.value));
  return r.value;
}

/** Runs `co` to completion, awaiting each batch (one at a time, in order). A rejection propagates. */
export async function runCoroutineAsync<R>(
  co: EvaluationCoroutine<R>,
  evaluate: AsyncBatchEvaluator,
): Promise<R> {
  let r = co.next();
  while (!r.done) r = co.next(await evaluate(r.value));
  return r.value;
}

export function checkEvaluator(evaluate: unknown, kind: string): void {
  if (typeof evaluate !== "function") throw new TypeError(`deps.evaluate must be a ${kind} function`);
}
