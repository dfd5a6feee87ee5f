// Hand-made run directories and run records for the report tests: a configuration the schema accepts,
// events as a run writes them, and a valid ticket of a tiny network.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ConfigInput, ConfigSchema } from "../../src/core/config.ts";
import { fullMask } from "../../src/core/mask.ts";
import { initNetwork } from "../../src/core/network.ts";
import { ticketToJson } from "../../src/core/ticket.ts";
import type { RunEvent, RunRecord } from "../../src/report/read-run.ts";

export interface FakeRun {
  readonly seed?: number;
  readonly islands?: number;
  readonly fitness?: "accuracy" | "loss";
  readonly topology?: string;
  readonly mutationRate?: number;
  /** generation events as [evaluations, bestFitness] */
  readonly points?: readonly (readonly [number, number])[];
  readonly testAccuracy?: number;
  readonly ended?: boolean;
}

export function fakeConfig(r: FakeRun, dir = `/runs/s${r.seed ?? 1}`) {
  const input: ConfigInput = {
    name: `run-${r.seed ?? 1}`,
    seed: r.seed ?? 1,
    dataset: { name: "moons" },
    network: { architecture: [2, 3, 2], seed: r.seed ?? 1 },
    ga: { fitness: r.fitness ?? "accuracy", mutationRate: r.mutationRate ?? 0.1 },
    cluster: { islands: r.islands ?? 1, topology: r.topology ?? "ring" },
    out: "/runs",
    runDir: dir,
    startTime: "2026-01-01T00:00:00.000Z",
    versions: { node: "26" },
  };
  return ConfigSchema.parse(input);
}

export function fakeEvents(r: FakeRun): RunEvent[] {
  const points = r.points ?? [
    [100, 0.5],
    [200, 0.7],
  ];
  const events: RunEvent[] = [{ type: "start", t: 0 }];
  points.forEach(([evaluations, bestFitness], generation) => {
    events.push({ type: "generation", generation, evaluations, bestFitness, t: generation + 1 });
  });
  if (r.ended !== false) {
    const last = points[points.length - 1];
    events.push({
      type: "end",
      generations: points.length - 1,
      evaluations: last[0],
      pruneEvaluations: 0,
      stopReason: "max-generations",
      t: points.length + 0.5,
    });
  }
  return events;
}

export function fakeMetrics(r: FakeRun) {
  return {
    trainAccuracy: 0.9,
    testAccuracy: r.testAccuracy ?? 0.8,
    sparsity: 0.5,
    bestOnTrainTestAccuracy: r.testAccuracy ?? 0.8,
    evolvedSparsity: 0.5,
  };
}

/** A run record as readRun gives it, without files. */
export function fakeRecord(r: FakeRun, dir = `/runs/s${r.seed ?? 1}-${r.islands ?? 1}`): RunRecord {
  const events = fakeEvents(r);
  const ended = r.ended !== false;
  return {
    dir,
    config: fakeConfig(r, dir),
    events,
    ticket: ended ? { metrics: fakeMetrics(r), pruneMode: "none" } : null,
    end: ended ? (events[events.length - 1] as RunEvent) : null,
  };
}

export function ticketJson(metrics: Record<string, number>): Record<string, unknown> {
  const network = initNetwork([2, 3, 2], { kind: "uniform", range: 1 }, 1);
  return ticketToJson({
    network,
    mask: fullMask(network.genomeLength),
    dataset: { name: "moons" } as never,
    metrics,
    pruneMode: "none",
  });
}

/** Writes the run as a run directory: config.json, events.jsonl and (when it ended) ticket.json. */
export function writeRunDir(dir: string, r: FakeRun): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify(fakeConfig(r, dir), null, 2));
  writeFileSync(
    join(dir, "events.jsonl"),
    fakeEvents(r)
      .map((e) => `${JSON.stringify(e)}\n`)
      .join(""),
  );
  if (r.ended !== false) writeFileSync(join(dir, "ticket.json"), JSON.stringify(ticketJson(fakeMetrics(r))));
  return dir;
}
