// The run's end, shared by one population and islands: which candidate wins, the recheck of figures
// another process measured, pruning skipped when interrupted, and what the ticket and the `end` event hold.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { referenceEvaluator } from "../../src/core/evaluate.ts";
import { type Individual, makeIndividual } from "../../src/core/ga/index.ts";
import { randomMask } from "../../src/core/mask.ts";
import { Rng } from "../../src/core/rng.ts";
import { type Candidate, finishRun, pickBest } from "../../src/run/finish.ts";
import { type PreparedRun, prepareRun } from "../../src/run/prepare.ts";
import { moonsConfig, readEvents, useMoonsDir } from "../coordinator/helpers.ts";

const dirOf = useMoonsDir("slt-finish-test-", "finish-csv", 200, 80);

function prepared(name: string, prune: "none" | "clean"): PreparedRun {
  return prepareRun(
    moonsConfig(dirOf(), name, {
      seed: 2,
      network: { architecture: [2, 16, 2] },
      ga: { population: 6, fitness: "accuracy" },
      prune,
    }),
  );
}

/** Six individuals of `run`'s network with their true training metrics. */
function population(run: PreparedRun): Individual[] {
  const rng = Rng.derive(2, "finish-test");
  const train = referenceEvaluator(run.network, run.dataset.train);
  return Array.from({ length: 6 }, () => {
    const mask = randomMask(run.network.genomeLength, rng);
    return makeIndividual(mask, train([mask])[0], "initial", 0);
  });
}

const fake = (accuracy: number, zeros: number): Individual => ({
  mask: randomMask(8, Rng.derive(1, "fake")),
  hash: "x",
  accuracy,
  loss: 1 - accuracy,
  zeros,
  origin: "initial",
  born: 0,
});

describe("pickBest", () => {
  it("the best training fitness, sparsity breaking ties", () => {
    const a = fake(0.8, 2);
    const b = fake(0.9, 1);
    const c = fake(0.9, 3);
    const best = pickBest(
      [a, b, c].map((individual) => ({ individual, island: null })),
      "accuracy",
    );
    expect(best.individual).toBe(c);
    expect(pickBest([{ individual: a, island: null }], "loss").individual).toBe(a);
  });

  it("ties between islands go to the lower id, whatever order they come in", () => {
    const same = (island: number): Candidate => ({ individual: fake(0.9, 2), island });
    expect(pickBest([same(3), same(1), same(2)], "accuracy").island).toBe(1);
    // a population keeps its order: the first of equals
    const first = fake(0.9, 2);
    const pop = [first, fake(0.9, 2)].map((individual) => ({ individual, island: null }));
    expect(pickBest(pop, "accuracy").individual).toBe(first);
  });
});

describe("finishRun", () => {
  const evaluators = (run: PreparedRun) => ({
    train: referenceEvaluator(run.network, run.dataset.train),
    test: referenceEvaluator(run.network, run.dataset.test),
  });

  it("writes the ticket, the prune and end events, and the summary; an island's figures are rechecked", () => {
    const run = prepared("finish-ok", "clean");
    const pop = population(run);
    const candidates = pop.map((individual, k) => ({ individual, island: k }));
    const { summary, best } = finishRun({
      run,
      candidates,
      stopReason: "max-generations",
      generations: 7,
      evaluations: 42,
      evaluators: evaluators(run),
      extra: (b) => ({ ticket: { bestIsland: b.island }, end: { bestIsland: b.island } }),
    });
    expect(best).toBe(pickBest(candidates, "accuracy"));
    expect(summary).toMatchObject({
      fitnessMode: "full training split",
      fitnessSubset: null,
      trainAccuracy: best.individual.accuracy,
      generations: 7,
      evaluations: 42,
      stopReason: "max-generations",
      pruneMode: "clean",
      runDir: run.dir.path,
    });
    const events = readEvents(run.dir.path);
    expect(events.map((e) => e.type)).toEqual(["prune", "end"]);
    expect(events[1]).toMatchObject({
      generations: 7,
      evaluations: 42,
      pruneEvaluations: summary.pruneEvaluations,
      stopReason: "max-generations",
      fitnessMode: "full training split",
      bestIsland: best.island,
    });
    const ticket = JSON.parse(readFileSync(summary.ticket, "utf8"));
    expect(ticket.metrics).toMatchObject({
      bestOnTrainTrainAccuracy: best.individual.accuracy,
      stopReason: "max-generations",
      bestIsland: best.island,
      selectedBy: "best-training-fitness",
    });
  });

  it("drops an island's best whose figures do not hold on the training split and takes the next best", () => {
    const run = prepared("finish-forged", "none");
    const pop = population(run);
    const forged = { ...pop[0], accuracy: 1, loss: 0 };
    const genuine = [
      { individual: pop[1], island: 5 },
      { individual: pop[2], island: 6 },
    ];
    const { summary, best } = finishRun({
      run,
      candidates: [{ individual: forged, island: 4 }, ...genuine],
      stopReason: "target",
      generations: 1,
      evaluations: 1,
      evaluators: evaluators(run),
    });
    expect(best).toBe(pickBest(genuine, "accuracy"));
    expect(summary.trainAccuracy).toBe(best.individual.accuracy);
    const events = readEvents(run.dir.path);
    expect(events.map((e) => e.type)).toEqual(["candidate-refused", "end"]);
    const [again] = evaluators(run).train([pop[0].mask]);
    expect(events[0]).toMatchObject({
      type: "candidate-refused",
      island: 4,
      claimed: { accuracy: 1, loss: 0 },
      actual: { accuracy: again.accuracy, loss: again.loss },
    });
  });

  it("fails only when no candidate is genuine", () => {
    const run = prepared("finish-all-forged", "none");
    const pop = population(run);
    expect(() =>
      finishRun({
        run,
        candidates: [
          { individual: { ...pop[0], accuracy: 1, loss: 0 }, island: 4 },
          { individual: { ...pop[1], accuracy: 1, loss: 0 }, island: 5 },
        ],
        stopReason: "max-generations",
        generations: 1,
        evaluations: 1,
        evaluators: evaluators(run),
      }),
    ).toThrow(/none of the 2 candidates is genuine/);
    expect(readEvents(run.dir.path).map((e) => [e.type, e.island])).toEqual([
      ["candidate-refused", 4],
      ["candidate-refused", 5],
    ]);
  });

  it("an interrupted run is not pruned", () => {
    const run = prepared("finish-interrupted", "clean");
    const { summary } = finishRun({
      run,
      candidates: population(run).map((individual) => ({ individual, island: null })),
      stopReason: "interrupted",
      generations: 3,
      evaluations: 18,
      evaluators: evaluators(run),
    });
    expect(summary.pruneMode).toBe("none");
    expect(summary.pruneEvaluations).toBe(0);
    expect(readEvents(run.dir.path).map((e) => e.type)).toEqual(["end"]);
  });
});
