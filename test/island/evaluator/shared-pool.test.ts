// The shared-memory evaluator (worker pool) must give the reference evaluator's results exactly, for
// any number of workers, and must fail loudly and promptly — never hang — when a worker dies.
import { afterEach, describe, expect, it } from "vitest";
import { evaluate } from "../../../src/core/evaluate.ts";
import { emptyMask, fullMask, type Mask, randomMask } from "../../../src/core/mask.ts";
import { Rng } from "../../../src/core/rng.ts";
import {
  createSharedEvaluator,
  type SharedEvaluator,
  SharedEvaluatorError,
  type SharedEvaluatorOptions,
} from "../../../src/island/evaluator/shared-pool.ts";
import { INITS, maskWithDensity, setup } from "./helpers.ts";

const ARCHS = [
  [2, 20, 2],
  [2, 50, 50, 2],
  [64, 75, 10],
  [3, 4, 3, 2],
] as const;
const DENSITIES = [0, 0.02, 0.1, 0.3, 0.5, 0.7, 0.9, 1];

const open: SharedEvaluator[] = [];

async function pool(...args: Parameters<typeof createSharedEvaluator>): Promise<SharedEvaluator> {
  const p = await createSharedEvaluator(...args);
  open.push(p);
  return p;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
});

function masksOf(length: number, seed: number | string, extra = 6): Mask[] {
  const rng = Rng.derive(seed, "shared-pool-masks");
  const masks = DENSITIES.map((p) => maskWithDensity(length, p, rng));
  for (let k = 0; k < extra; k++) masks.push(maskWithDensity(length, rng.next(), rng));
  masks.push(emptyMask(length), fullMask(length));
  return masks;
}

describe("shared-memory evaluator equals the reference evaluator", () => {
  for (const threads of [1, 2, 3]) {
    it(`on random masks and architectures with ${threads} worker(s)`, async () => {
      for (const [a, arch] of ARCHS.entries()) {
        const seed = 100 * threads + a;
        const { net, split } = setup(arch, 150 + 37 * a, seed, INITS[(a + threads) % INITS.length]);
        const p = await pool(net, split, { threads, initialCapacity: 4 });
        expect(p.threads).toBe(threads);
        const masks = masksOf(net.genomeLength, seed);
        const expected = masks.map((m) => evaluate(net, m, split));
        // twice: the second round goes through the workers' warm column memos
        for (let round = 0; round < 2; round++) {
          expect(await p.evaluateBatch(masks), `${arch} round ${round}`).toEqual(expected);
        }
        expect(p.evaluations).toBe(2 * masks.length);
        const shares = p.workerEvaluations();
        expect(shares).toHaveLength(threads);
        expect(shares.reduce((a, b) => a + b, 0)).toBe(p.evaluations);
      }
    });
  }

  it("in-process with threads 0", async () => {
    const { net, split } = setup([2, 50, 50, 2], 200, 7);
    const p = await pool(net, split, { threads: 0 });
    expect(p.threads).toBe(0);
    const masks = masksOf(net.genomeLength, 7);
    expect(await p.batch(masks)).toEqual(masks.map((m) => evaluate(net, m, split)));
  });

  it("forwards the fast-evaluator options (loss off gives NaN loss, same accuracy)", async () => {
    const { net, split } = setup([2, 20, 2], 200, 8);
    const p = await pool(net, split, { threads: 2, evaluator: { loss: false, blockRows: 7 } });
    const masks = masksOf(net.genomeLength, 8);
    const got = await p.evaluateBatch(masks);
    expect(got.map((m) => m.accuracy)).toEqual(masks.map((m) => evaluate(net, m, split).accuracy));
    expect(got.every((m) => Number.isNaN(m.loss))).toBe(true);
  });

  it("grows the mask arena for batches larger than it, then reuses it for smaller ones", async () => {
    const { net, split } = setup([3, 4, 3, 2], 120, 9);
    const p = await pool(net, split, { threads: 2, initialCapacity: 2 });
    const rng = Rng.derive(9, "growth");
    for (const count of [9, 3, 40, 1, 41, 100, 5]) {
      const masks = Array.from({ length: count }, () => randomMask(net.genomeLength, rng, rng.next()));
      expect(await p.evaluateBatch(masks), `batch of ${count}`).toEqual(
        masks.map((m) => evaluate(net, m, split)),
      );
    }
  });

  it("queues concurrent calls and answers each with its own results", async () => {
    const { net, split } = setup([2, 20, 2], 150, 10);
    const p = await pool(net, split, { threads: 3, initialCapacity: 3 });
    const rng = Rng.derive(10, "concurrent");
    const batches = [5, 12, 1, 30].map((count) =>
      Array.from({ length: count }, () => randomMask(net.genomeLength, rng, rng.next())),
    );
    const got = await Promise.all(batches.map((b) => p.evaluateBatch(b)));
    got.forEach((g, k) => {
      expect(g).toEqual(batches[k].map((m) => evaluate(net, m, split)));
    });
  });

  it("answers an empty batch with an empty array", async () => {
    const { net, split } = setup([2, 20, 2], 50, 11);
    const p = await pool(net, split, { threads: 2 });
    expect(await p.evaluateBatch([])).toEqual([]);
    expect(p.evaluations).toBe(0);
  });
});

describe("shared-memory evaluator errors", () => {
  it("rejects a mask of the wrong length with a RangeError naming its index, and stays usable", async () => {
    for (const threads of [0, 2]) {
      const { net, split } = setup([2, 20, 2], 50, 12);
      const p = await pool(net, split, { threads });
      const good = fullMask(net.genomeLength);
      const masks = [good, good, emptyMask(net.genomeLength + 1), good];
      await expect(p.evaluateBatch(masks)).rejects.toThrow(RangeError);
      await expect(p.evaluateBatch(masks)).rejects.toThrow(
        /^mask 2 has 81 bits but the network has 80 weights/,
      );
      expect(await p.evaluateBatch([good])).toEqual([evaluate(net, good, split)]);
    }
  });

  it("rejects bad options and a split that does not fit the network", async () => {
    const { net, split } = setup([2, 20, 2], 50, 13);
    await expect(createSharedEvaluator(net, split, { threads: -1 })).rejects.toThrow(RangeError);
    await expect(createSharedEvaluator(net, split, { threads: 1.5 })).rejects.toThrow(/threads/);
    await expect(createSharedEvaluator(net, split, { threads: 1, initialCapacity: 0 })).rejects.toThrow(
      /initialCapacity/,
    );
    const other = setup([3, 20, 2], 50, 13).split;
    await expect(createSharedEvaluator(net, other, { threads: 1 })).rejects.toThrow(/3 features/);
  });

  it("close() is idempotent; afterwards every call rejects", async () => {
    for (const threads of [0, 1, 3]) {
      const { net, split } = setup([2, 20, 2], 50, 14);
      const p = await createSharedEvaluator(net, split, { threads });
      await p.close();
      await p.close();
      await expect(p.evaluateBatch([fullMask(net.genomeLength)])).rejects.toThrow(/closed/);
      await expect(p.evaluateBatch([])).rejects.toThrow(/closed/);
    }
  });

  it("close() rejects a batch that is queued or already running", async () => {
    const { net, split } = setup([2, 50, 50, 2], 500, 15);
    const masks = masksOf(net.genomeLength, 15, 300);
    // queued: close() comes before the batch reaches the workers
    const p = await createSharedEvaluator(net, split, { threads: 2 });
    const queued = p.evaluateBatch(masks);
    const closing = p.close();
    await expect(queued).rejects.toThrow(/closed/);
    await closing;
    // running: the workers have the batch (300 masks take far longer than one turn of the event loop)
    const q = await createSharedEvaluator(net, split, { threads: 2 });
    const running = q.evaluateBatch(masks);
    await new Promise((resolve) => setImmediate(resolve));
    const closing2 = q.close();
    await expect(running).rejects.toThrow(/closed while a batch was running/);
    await closing2;
  });

  const crashes: [string, SharedEvaluatorOptions["faultInjection"], RegExp][] = [
    ["throws", { throwAtMask: 5 }, /worker \d crashed: injected fault at mask 5/],
    ["exits", { exitAtMask: 7 }, /worker \d exited unexpectedly with code 3/],
  ];
  for (const [what, faultInjection, message] of crashes) {
    it(`a worker that ${what} rejects the batch promptly, and later calls fail fast with the same error`, async () => {
      const { net, split } = setup([2, 50, 50, 2], 200, 16);
      const p = await pool(net, split, { threads: 3, faultInjection });
      const masks = masksOf(net.genomeLength, 16, 20);
      const t0 = performance.now();
      const error = await p.evaluateBatch(masks).then(
        () => null,
        (e: unknown) => e,
      );
      expect(performance.now() - t0).toBeLessThan(5000);
      expect(error).toBeInstanceOf(SharedEvaluatorError);
      expect((error as Error).message).toMatch(message);
      await expect(p.evaluateBatch(masks.slice(0, 2))).rejects.toBe(error);
      await expect(p.evaluateBatch([])).rejects.toBe(error);
      await p.close();
      await p.close();
    });
  }

  it("a crash fails the queued batches too", async () => {
    const { net, split } = setup([2, 20, 2], 100, 17);
    const p = await pool(net, split, { threads: 2, faultInjection: { throwAtMask: 0 } });
    const masks = masksOf(net.genomeLength, 17);
    const results = await Promise.allSettled([p.evaluateBatch(masks), p.evaluateBatch(masks)]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
  });
});
