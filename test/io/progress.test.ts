// Progress: rate window, ETA and formatting, all on explicit timestamps (no clock, no sleeps).
import { describe, expect, it } from "vitest";
import {
  countProgress,
  createProgress,
  formatDuration,
  formatProgressLine,
  type ProgressLine,
  type ProgressSample,
  RateWindow,
  rangeOfLimit,
  runEta,
  searchEta,
  windowRates,
} from "../../src/io/progress.ts";

const sample = (at: number, generation: number, evaluations: number): ProgressSample => ({
  at,
  generation,
  evaluations,
});

describe("rate window", () => {
  it("has no rate from fewer than two samples or from no elapsed time", () => {
    expect(windowRates([])).toBeNull();
    expect(windowRates([sample(5, 0, 100)])).toBeNull();
    expect(windowRates([sample(5, 0, 0), sample(5, 0, 100)])).toBeNull();
  });

  it("counts the initial population over the time it took, so the first rate is the real one", () => {
    // 100 evaluations per 600 ms throughout, the initial population included
    const w = new RateWindow();
    w.add(sample(0, 0, 0)); // before anything was evaluated
    const seen: number[] = [];
    for (let g = 0; g <= 20; g++) {
      w.add(sample(600 * (g + 1), g, 100 * (g + 1)));
      seen.push(w.rates()?.evaluationsPerSecond ?? Number.NaN);
    }
    for (const r of seen) expect(r).toBeCloseTo(100 / 0.6, 9);
  });

  it("forgets samples older than its span, so a change of pace shows within it", () => {
    const w = new RateWindow(10_000);
    // 1000 evaluations per second for 20 s, then 2000 per second for 10 s
    for (let t = 0; t <= 30_000; t += 500) w.add(sample(t, t / 500, t <= 20_000 ? t : 2 * t - 20_000));
    expect(w.rates()?.evaluationsPerSecond).toBe(2000);
    expect(w.rates()?.generationsPerSecond).toBe(2);
  });

  it("keeps the newest sample older than its span as the base when samples are sparse", () => {
    const w = new RateWindow(10_000);
    w.add(sample(0, 0, 0));
    w.add(sample(30_000, 5, 600));
    expect(w.rates()).toEqual({ evaluationsPerSecond: 20, generationsPerSecond: 5 / 30 });
    w.add(sample(60_000, 10, 1800));
    expect(w.rates()).toEqual({ evaluationsPerSecond: 40, generationsPerSecond: 5 / 30 });
  });
});

describe("ETA", () => {
  const rates = { evaluationsPerSecond: 100, generationsPerSecond: 2 };

  it("runs to the generation cap or the evaluation budget, whichever comes first, and says which", () => {
    const at = { generation: 140, evaluations: 14_000 };
    expect(searchEta(at, rates, { maxGenerations: 300 })).toEqual({ seconds: 80, by: "generation cap" });
    expect(searchEta(at, rates, { maxGenerations: 300, maxEvaluations: 20_000 })).toEqual({
      seconds: 60,
      by: "evaluation budget",
    });
    expect(searchEta(at, rates, { maxGenerations: 150, maxEvaluations: 20_000 })).toEqual({
      seconds: 5,
      by: "generation cap",
    });
  });

  it("is unknown without a limit or a rate", () => {
    const at = { generation: 140, evaluations: 14_000 };
    expect(searchEta(at, rates, {})).toBeNull();
    expect(searchEta(at, rates, { maxGenerations: null, maxEvaluations: undefined })).toBeNull();
    expect(searchEta(at, null, { maxGenerations: 300 })).toBeNull();
    expect(
      searchEta(at, { evaluationsPerSecond: 100, generationsPerSecond: 0 }, { maxGenerations: 300 }),
    ).toBeNull();
  });

  it("a run of several searches ends with its last one, or at the time limit if sooner", () => {
    const a = { seconds: 30, by: "generation cap" as const };
    const b = { seconds: 50, by: "evaluation budget" as const };
    expect(runEta([a, b], { elapsedSeconds: 0 })).toEqual(b);
    expect(runEta([a, b], { limitSeconds: 100, elapsedSeconds: 60 })).toEqual({
      seconds: 40,
      by: "time limit",
    });
    // one search without an estimate: only the time limit is known
    expect(runEta([a, null], { elapsedSeconds: 0 })).toBeNull();
    expect(runEta([a, null], { limitSeconds: 100, elapsedSeconds: 10 })).toEqual({
      seconds: 90,
      by: "time limit",
    });
    expect(runEta([], { limitSeconds: 100, elapsedSeconds: 130 })).toEqual({ seconds: 0, by: "time limit" });
  });
});

describe("formatting", () => {
  it("durations", () => {
    expect([0, 44.6, 59.4, 125, 3599, 3720].map(formatDuration)).toEqual([
      "0s",
      "45s",
      "59s",
      "2m05s",
      "59m59s",
      "1h02m",
    ]);
  });

  it("generations against the cap, and without one", () => {
    expect(rangeOfLimit([140], 300)).toBe("140/300");
    expect(rangeOfLimit([135, 140, 138], 300)).toBe("135–140/300");
    expect(rangeOfLimit([140], undefined)).toBe("140");
  });

  const line: ProgressLine = {
    generation: 140,
    bestFitness: 0.95,
    fitness: "accuracy",
    bestAccuracy: 0.95,
    sparsity: 0.5,
    evaluations: 14_000,
  };

  it("a population's line shows the cap, the budget, the rate and the ETA", () => {
    const rates = { evaluationsPerSecond: 450, generationsPerSecond: 2 };
    const text = formatProgressLine(line, { maxGenerations: 300, maxEvaluations: 60_000 }, rates, 31.2);
    expect(text).toMatch(
      /^gen {3}140\/300 .* evals 14000\/60000 {2}450 evals\/s {2}31\.2s {2}eta 1m20s \(generation cap\)$/,
    );
  });

  it("a time limit that comes before the cap gives the ETA", () => {
    const rates = { evaluationsPerSecond: 450, generationsPerSecond: 2 };
    const limits = { maxGenerations: 11_000, timeLimitSeconds: 120 };
    expect(formatProgressLine(line, limits, rates, 31.2)).toMatch(/ {2}eta 1m29s \(time limit\)$/);
    // and the cap, when it comes first
    expect(formatProgressLine(line, { maxGenerations: 300, timeLimitSeconds: 120 }, rates, 31.2)).toMatch(
      /eta 1m20s \(generation cap\)$/,
    );
  });

  it("with no cap or budget: no /N and no ETA; before any rate: no figure", () => {
    const text = formatProgressLine(line, {}, null, 0.1);
    expect(text).toMatch(/^gen {3}140 /);
    expect(text).not.toMatch(/\d\/\d|eta/);
    expect(text).toMatch(/ {2}- evals\/s/);
  });
});

describe("createProgress", () => {
  function recorder() {
    const lines: string[] = [];
    const stream = { write: (s: string) => lines.push(s) } as unknown as NodeJS.WritableStream;
    return { lines, stream };
  }
  const at = (generation: number, evaluations: number): ProgressLine => ({
    generation,
    bestFitness: 0.5,
    fitness: "accuracy",
    bestAccuracy: 0.5,
    sparsity: 0.5,
    evaluations,
  });

  it("prints at most once per interval and the forced last line; rates from the samples", () => {
    const { lines, stream } = recorder();
    let now = 1000;
    const progress = createProgress(stream, {
      enabled: true,
      intervalMs: 1000,
      limits: { maxGenerations: 10 },
      now: () => now,
    });
    for (let g = 0; g <= 10; g++) {
      now = 1000 + 400 * (g + 1); // every generation (the initial population too) takes 400 ms and 100 evaluations
      progress(at(g, 100 * (g + 1)), g === 10);
    }
    // printed at 1.4 s (gen 0), then the first call ≥ 1 s later (gen 3 at 2.6 s), gen 6 (3.8 s), gen 9 (5.0 s), gen 10 forced
    expect(lines.map((l) => /^gen\s+(\d+)/.exec(l)?.[1])).toEqual(["0", "3", "6", "9", "10"]);
    for (const l of lines) expect(l).toMatch(/ 250 evals\/s /);
    expect(lines[1]).toMatch(/eta 3s \(generation cap\)/); // 7 generations at 2.5 per second: 2.8 s
    expect(lines[4]).toMatch(/eta 0s \(generation cap\)/);
  });

  it("seconds and the time limit count from the run's start; rates from when the printer was made", () => {
    const { lines, stream } = recorder();
    let now = 5000; // the data took 4 s to load after the run started at 1000
    const progress = createProgress(stream, {
      enabled: true,
      intervalMs: 0,
      limits: { timeLimitSeconds: 10 },
      now: () => now,
      startedAt: 1000,
    });
    now = 6000;
    progress(at(0, 100));
    expect(lines[0]).toMatch(/ 100 evals\/s {2}5\.0s {2}eta 5s \(time limit\)$/m);
  });

  it("counted work: at most one line per interval, the last always, seconds from its start", () => {
    const { lines, stream } = recorder();
    let now = 500;
    const progress = countProgress(stream, 10, { intervalMs: 1000, startedAt: 0, now: () => now });
    for (let done = 1; done <= 10; done++) {
      now = 500 + 300 * done;
      progress(done, (s) => `${done}/10 ${s.toFixed(1)}s`);
    }
    // 0.8 s (1), then the first ≥ 1 s later: 2.0 s (5), 3.2 s (9), and the last (10) at 3.5 s
    expect(lines).toEqual(["1/10 0.8s\n", "5/10 2.0s\n", "9/10 3.2s\n", "10/10 3.5s\n"]);
    // without a stream nothing is formatted
    countProgress(undefined, 1)(1, () => {
      throw new Error("formatted without a stream");
    });
  });

  it("interval 0 prints every generation; disabled prints nothing", () => {
    const a = recorder();
    const b = recorder();
    let now = 0;
    const every = createProgress(a.stream, { enabled: true, intervalMs: 0, now: () => now });
    const off = createProgress(b.stream, { enabled: false, now: () => now });
    for (let g = 0; g < 5; g++) {
      now += 10;
      every(at(g, g * 10));
      off(at(g, g * 10));
    }
    expect(a.lines).toHaveLength(5);
    expect(b.lines).toHaveLength(0);
  });
});
