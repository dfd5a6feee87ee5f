// The module's entry point: the two evaluators the CLI hands to the coordinator give the reference
// evaluator's results, with the loss unless it is turned off.
import { describe, expect, it } from "vitest";
import { evaluate } from "../../src/core/evaluate.ts";
import { makeEvaluator, poolEvaluator } from "../../src/evaluator/index.ts";
import { expectSame, gaBatches, setup } from "./helpers.ts";

const { net, split } = setup([4, 12, 3], 90, 17);
const batches = gaBatches(net.genomeLength, "index-test", { generations: 3 });

describe("the evaluator module's entry point", () => {
  it("makeEvaluator: the reference evaluator's metrics, batch after batch", () => {
    const batch = makeEvaluator(net, split);
    for (const masks of batches) {
      batch(masks).forEach((m, k) => {
        expectSame(m, evaluate(net, masks[k], split), `mask ${k}`);
      });
    }
  });

  it("makeEvaluator with loss false: the same accuracy, loss NaN", () => {
    const masks = batches[0];
    const got = makeEvaluator(net, split, { loss: false })(masks);
    got.forEach((m, k) => {
      expect(m.accuracy).toBe(evaluate(net, masks[k], split).accuracy);
      expect(m.loss).toBeNaN();
    });
  });

  it("poolEvaluator: the same metrics on a worker thread, then closes", async () => {
    const pool = await poolEvaluator(1)(net, split, { loss: true });
    try {
      const masks = batches[1];
      (await pool.batch(masks)).forEach((m, k) => {
        expectSame(m, evaluate(net, masks[k], split), `mask ${k}`);
      });
    } finally {
      await pool.close();
    }
  });
});
