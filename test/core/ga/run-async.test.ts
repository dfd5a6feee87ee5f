// The GA driven by an asynchronous evaluator (initRunAsync / stepAsync) must reach exactly the states
// the synchronous drivers reach: same populations, histories, rng and generator states, evaluations.
import { describe, expect, it } from "vitest";
import type { AsyncBatchEvaluator, BatchEvaluator, Metrics } from "../../../src/core/evaluate.ts";
import {
  type FitnessMode,
  type GaParamsInput,
  type GaState,
  type GeneratorSpec,
  gaStateToJSON,
  initRun,
  initRunAsync,
  initRunCoroutine,
  step,
  stepAsync,
  stepCoroutine,
} from "../../../src/core/ga/index.ts";
import { type Mask, maskHash, randomMask } from "../../../src/core/mask.ts";
import { Rng } from "../../../src/core/rng.ts";
import { hashMetrics, spy, targetMetrics, topology } from "./fakes.ts";

const net = topology([4, 6, 3]); // 42 bits, small net: adaptive bound starts at 0.70
const target = randomMask(net.genomeLength, Rng.derive("target", 0));
const GENERATIONS = 10;

const generators: readonly { name: string; spec: GeneratorSpec; metrics: (m: Mask) => Metrics }[] = [
  { name: "negligent", spec: { kind: "negligent" }, metrics: targetMetrics(target) },
  { name: "lax", spec: { kind: "lax" }, metrics: targetMetrics(target) },
  // hash metrics: accuracies spread over [0, 0.875], so the bound both passes and fails
  {
    name: "adaptive-bound",
    spec: { kind: "adaptive-bound", secondsPerTry: 1, initialBound: 0.8 },
    metrics: hashMetrics(8),
  },
  { name: "static-bound", spec: { kind: "static-bound", threshold: 0.5 }, metrics: hashMetrics(8) },
];
const fitnesses: readonly FitnessMode[] = ["accuracy", "loss"];

function params(spec: GeneratorSpec, fitness: FitnessMode): GaParamsInput {
  return {
    population: 20,
    mutationRate: 0.3,
    newcomerFraction: 0.2,
    fitness,
    generator: spec,
    operators: spec.kind === "lax" ? "path-aware" : "negligent",
  };
}

function runSync(p: GaParamsInput, evaluate: BatchEvaluator, seed = 3): GaState[] {
  const d = { evaluate, network: net };
  const states = [initRun(p, d, Rng.derive(seed, "ga"))];
  for (let g = 0; g < GENERATIONS; g++) states.push(step(states[states.length - 1], d));
  return states;
}

async function runAsync(p: GaParamsInput, evaluate: AsyncBatchEvaluator, seed = 3): Promise<GaState[]> {
  const d = { evaluate, network: net };
  const states = [await initRunAsync(p, d, Rng.derive(seed, "ga"))];
  for (let g = 0; g < GENERATIONS; g++) states.push(await stepAsync(states[states.length - 1], d));
  return states;
}

const microtasks = async (n: number) => {
  for (let i = 0; i < n; i++) await Promise.resolve();
};

/** Each mask's metrics settle after 0–7 microtasks (by its hash), so they resolve out of order. */
function scrambled(f: (m: Mask) => Metrics): AsyncBatchEvaluator {
  return (masks) =>
    Promise.all(
      masks.map(async (m) => {
        await microtasks(Number.parseInt(maskHash(m).slice(0, 2), 16) % 8);
        return f(m);
      }),
    );
}

/**
 * Holds every call for a few microtasks, then answers the held calls newest first: drivers running
 * concurrently on one evaluator get their batches back out of call order.
 */
function lifo(evaluate: BatchEvaluator): AsyncBatchEvaluator & { maxHeld: () => number } {
  const held: (() => void)[] = [];
  let scheduled = false;
  let maxHeld = 0;
  const flush = async () => {
    await microtasks(5);
    scheduled = false;
    for (const answer of held.splice(0).reverse()) answer();
  };
  const ev = (masks: readonly Mask[]) =>
    new Promise<Metrics[]>((resolve) => {
      const copy = [...masks];
      held.push(() => resolve(evaluate(copy)));
      maxHeld = Math.max(maxHeld, held.length);
      if (!scheduled) {
        scheduled = true;
        void flush();
      }
    });
  return Object.assign(ev, { maxHeld: () => maxHeld });
}

describe("stepAsync / initRunAsync", () => {
  for (const g of generators) {
    for (const fitness of fitnesses) {
      it(`${g.name}, ${fitness}: the same states and the same evaluator calls as the sync drivers`, async () => {
        const p = params(g.spec, fitness);
        const syncEv = spy(g.metrics);
        const expected = runSync(p, syncEv);
        const asyncCalls = spy(g.metrics);
        const got = await runAsync(p, async (masks) => asyncCalls(masks));
        expect(got).toEqual(expected);
        expect(got.map(gaStateToJSON)).toEqual(expected.map(gaStateToJSON));
        expect(asyncCalls.calls).toEqual(syncEv.calls);
        const last = expected[GENERATIONS];
        expect(last.generation).toBe(GENERATIONS);
        expect(last.evaluations).toBe(syncEv.count());
        if (g.spec.kind === "adaptive-bound" || g.spec.kind === "static-bound") {
          // the generator evaluated one mask at a time, between the batches
          expect(syncEv.calls.some((c) => c.length === 1)).toBe(true);
        }
        if (g.spec.kind === "adaptive-bound") {
          expect(new Set(last.history.map((h) => h.bound)).size).toBeGreaterThan(1);
        }
      });
    }
  }

  it("per-mask results settling out of order after queued microtasks give identical states", async () => {
    for (const g of generators) {
      const p = params(g.spec, "loss");
      expect(await runAsync(p, scrambled(g.metrics))).toEqual(runSync(p, spy(g.metrics)));
    }
  });

  it("concurrent runs sharing an evaluator that answers newest call first give identical states", async () => {
    const adaptive = generators[2];
    const ev = lifo(spy(adaptive.metrics));
    const seeds = [1, 2, 3];
    const p = params(adaptive.spec, "accuracy");
    const got = await Promise.all(seeds.map((seed) => runAsync(p, ev, seed)));
    expect(ev.maxHeld()).toBeGreaterThan(1);
    got.forEach((states, k) => {
      expect(states).toEqual(runSync(p, spy(adaptive.metrics), seeds[k]));
    });
  });

  it("the coroutines yield exactly the batches the sync evaluator sees", () => {
    const g = generators[2];
    const p = params(g.spec, "accuracy");
    const syncEv = spy(g.metrics);
    const expected = runSync(p, syncEv);
    const yielded: Mask[][] = [];
    const drive = <R>(co: Generator<readonly Mask[], R, Metrics[]>): R => {
      let r = co.next();
      while (!r.done) {
        yielded.push([...r.value]);
        r = co.next(r.value.map(g.metrics));
      }
      return r.value;
    };
    let s = drive(initRunCoroutine(p, net, Rng.derive(3, "ga")));
    for (let k = 0; k < GENERATIONS; k++) s = drive(stepCoroutine(s, net));
    expect(s).toEqual(expected[GENERATIONS]);
    expect(yielded).toEqual(syncEv.calls);
  });

  it("an evaluator rejection propagates; the input state is untouched and steps again as before", async () => {
    const g = generators[2];
    const p = params(g.spec, "accuracy");
    const expected = runSync(p, spy(g.metrics));
    const s0 = expected[0];
    const before = gaStateToJSON(s0);
    // fail in the middle of the generator's one-at-a-time evaluations
    let calls = 0;
    const failing: AsyncBatchEvaluator = async (masks) => {
      if (++calls === 3) throw new Error("worker crashed");
      return masks.map(g.metrics);
    };
    await expect(stepAsync(s0, { evaluate: failing, network: net })).rejects.toThrow("worker crashed");
    expect(gaStateToJSON(s0)).toEqual(before);
    const ok: AsyncBatchEvaluator = async (masks) => masks.map(g.metrics);
    expect(await stepAsync(s0, { evaluate: ok, network: net })).toEqual(expected[1]);
    // a rejected promise, a synchronous throw, and the initial population's batch
    const rejecting: AsyncBatchEvaluator = () => Promise.reject(new Error("pool closed"));
    await expect(stepAsync(s0, { evaluate: rejecting, network: net })).rejects.toThrow("pool closed");
    const throwing: AsyncBatchEvaluator = () => {
      throw new Error("thrown synchronously");
    };
    await expect(stepAsync(s0, { evaluate: throwing, network: net })).rejects.toThrow("thrown synchronously");
    await expect(
      initRunAsync(
        params({ kind: "negligent" }, "accuracy"),
        { evaluate: rejecting, network: net },
        Rng.derive(1, "ga"),
      ),
    ).rejects.toThrow("pool closed");
  });

  it("checks results and deps as the sync drivers do", async () => {
    const s0 = runSync(params({ kind: "negligent" }, "accuracy"), spy(targetMetrics(target)))[0];
    const short: AsyncBatchEvaluator = async (masks) => masks.slice(1).map(targetMetrics(target));
    await expect(stepAsync(s0, { evaluate: short, network: net })).rejects.toThrow(
      /evaluator returned \d+ results for \d+ masks/,
    );
    await expect(
      stepAsync(s0, { evaluate: undefined as unknown as AsyncBatchEvaluator, network: net }),
    ).rejects.toThrow(TypeError);
    const ok: AsyncBatchEvaluator = async (masks) => masks.map(targetMetrics(target));
    await expect(
      initRunAsync({ population: 0 }, { evaluate: ok, network: net }, Rng.derive(1, "ga")),
    ).rejects.toThrow(RangeError);
  });
});
