// The shared-memory evaluator (worker pool) must give the reference evaluator's results exactly, for
// any number of workers, and must fail loudly and promptly — never hang — when a worker dies.
import { afterEach, describe, expect, it } from "vitest";
import { evaluate } from "../../src/core/evaluate.ts";
import { emptyMask, fullMask, type Mask, randomMask, withFlipped } from "../../src/core/mask.ts";
import { Rng } from "../../src/core/rng.ts";
import { RESULT_STRIDE } from "../../src/evaluator/shared-layout.ts";
import {
  Affinity,
  createSharedEvaluator,
  type SharedEvaluator,
  SharedEvaluatorError,
  type SharedEvaluatorOptions,
} from "../../src/evaluator/shared-pool.ts";
import { expectSame, gaBatches, INITS, maskWithDensity, setup } from "./helpers.ts";

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

describe("delta evaluation in the pool (nearest parent, per-worker caches)", () => {
  const DEEP = [
    [2, 50, 50, 2],
    [64, 75, 10],
    [5, 12, 9, 7, 3],
  ] as const;

  for (const threads of [0, 1, 2, 3]) {
    it(`GA-like batch sequences equal the reference with ${threads} worker(s), delta on and off`, async () => {
      for (const [a, arch] of DEEP.entries()) {
        const seed = 300 + 10 * threads + a;
        const { net, split } = setup(arch, 120 + 29 * a, seed, INITS[a % INITS.length]);
        const batches = gaBatches(net.genomeLength, seed, { population: 14, generations: 5 });
        const expected = batches.map((b) => b.map((m) => evaluate(net, m, split)));
        const variants: SharedEvaluatorOptions[] = [
          { threads, evaluator: { deltaMaxWork: Number.POSITIVE_INFINITY } },
          { threads, evaluator: { delta: false } },
          // a few columns: constant eviction in every worker
          { threads, evaluator: { cacheBytes: 6 * 4 * split.n } },
          { threads, affinity: false },
        ];
        for (const options of variants) {
          const p = await pool(net, split, { ...options, initialCapacity: 4 });
          for (const [g, batch] of batches.entries()) {
            const got = await p.evaluateBatch(batch);
            for (let k = 0; k < batch.length; k++) {
              expectSame(got[k], expected[g][k], `${arch} ${JSON.stringify(options)} gen ${g} mask ${k}`);
            }
          }
          const n = p.nearestStats();
          const total = batches.reduce((s, b) => s + b.length, 0);
          if (options.evaluator?.delta === false) {
            expect(n).toEqual({ exact: 0, delta: 0, full: 0, tooCostly: 0 });
          } else {
            expect(n.exact + n.delta + n.full, `${arch} ${JSON.stringify(options)}`).toBe(total);
            // the delta path is alive in the workers (forced whenever a cached parent is near)
            if (options.evaluator?.deltaMaxWork !== undefined) expect(n.delta).toBeGreaterThan(0);
          }
          await p.close();
        }
      }
    });
  }

  it("affinity queues each mask to the worker of its nearest recent mask, within a cap", () => {
    const length = 200;
    const words = Math.ceil(length / 32);
    const rng = Rng.derive(352, "affinity-unit");
    const a = new Affinity(3, words, 40);
    const parents = Array.from({ length: 6 }, () => randomMask(length, rng));
    // parents k evaluated by worker k % 3
    const arena = new Uint32Array(parents.length * words);
    const results = new Float64Array(parents.length * RESULT_STRIDE);
    parents.forEach((m, k) => {
      arena.set(m.words, k * words);
      results[k * RESULT_STRIDE + 2] = k % 3;
    });
    a.remember(arena, results, parents.length);
    // one mutant per parent, a mutant of the first mutant, and a stranger
    const mutants = parents.map((m) => withFlipped(m, rng.int(length)));
    const batch = [...mutants, withFlipped(mutants[0], rng.int(length)), randomMask(length, rng)];
    const owner = a.assign(batch);
    expect([...owner.slice(0, 7)]).toEqual([0, 1, 2, 0, 1, 2, 0]);
    // the stranger goes to a shortest queue (1 or 2, which have two each)
    expect([1, 2]).toContain(owner[7]);
    // a batch of mutants of one parent is spread so no queue exceeds ⌈1.25 · 12 / 3⌉ = 5
    const crowd = Array.from({ length: 12 }, () => withFlipped(parents[1], rng.int(length)));
    const spread = a.assign(crowd);
    const load = [0, 1, 2].map((w) => spread.filter((o) => o === w).length);
    expect(Math.max(...load)).toBeLessThanOrEqual(5);
    // the first ones (in batch order) stay with worker 1, the overflow is moved from the back
    expect([...spread.slice(0, 5)]).toEqual([1, 1, 1, 1, 1]);
  });

  it("affinity sends a mutant to the worker that has its parent", async () => {
    const { net, split } = setup([2, 50, 50, 2], 100, 350);
    const rng = Rng.derive(350, "affinity");
    const parents = Array.from({ length: 6 }, () => randomMask(net.genomeLength, rng));
    const p = await pool(net, split, {
      threads: 2,
      evaluator: { deltaMaxWork: Number.POSITIVE_INFINITY },
    });
    await p.evaluateBatch(parents);
    const before = p.nearestStats();
    // every mutant is one bit from a parent that exactly one worker has cached
    const mutants = parents.flatMap((m) => [0, 1].map(() => withFlipped(m, rng.int(net.genomeLength))));
    const got = await p.evaluateBatch(mutants);
    mutants.forEach((m, k) => {
      expectSame(got[k], evaluate(net, m, split));
    });
    const after = p.nearestStats();
    // stealing may move a few; most mutants must find their parent
    expect(after.delta - before.delta).toBeGreaterThanOrEqual(mutants.length / 2);
  });

  it("SLT_DELTA=0 in the environment turns the pool's delta evaluation off", async () => {
    const { net, split } = setup([2, 20, 2], 80, 351);
    const saved = process.env.SLT_DELTA;
    process.env.SLT_DELTA = "0";
    try {
      for (const threads of [0, 2]) {
        const p = await pool(net, split, { threads });
        const batches = gaBatches(net.genomeLength, 351, { generations: 2 });
        for (const b of batches) {
          const got = await p.evaluateBatch(b);
          b.forEach((m, k) => {
            expectSame(got[k], evaluate(net, m, split));
          });
        }
        expect(p.nearestStats()).toEqual({ exact: 0, delta: 0, full: 0, tooCostly: 0 });
      }
    } finally {
      if (saved === undefined) delete process.env.SLT_DELTA;
      else process.env.SLT_DELTA = saved;
    }
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
