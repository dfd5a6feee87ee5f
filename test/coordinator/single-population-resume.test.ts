// One population's checkpoints and resume, in-process with the reference evaluator: every
// checkpointEvery generations and at the stop a run checkpoint (mode "single", island 0's snapshot) goes
// through the checkpoint store with a `checkpoint` event; a run stopped at generation g and resumed from
// its checkpoint ends exactly as the run that was never stopped.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { type RunOptions, runSingle } from "../../src/coordinator/single-population.ts";
import { configHash, parseRunCheckpoint, runCheckpointError } from "../../src/core/checkpoint.ts";
import type { ConfigPatch } from "../../src/core/config.ts";
import { E_CHECKPOINT, SltError } from "../../src/core/errors.ts";
import { referenceEvaluator } from "../../src/core/evaluate.ts";
import { checkSnapshotJSON, type IslandSnapshotJSON } from "../../src/core/island-snapshot.ts";
import { readCheckpoint } from "../../src/io/checkpoint-store.ts";
import { reshardSnapshots } from "../../src/run/reshard-snapshots.ts";
import type { ResumeFrom } from "../../src/run/resume-from.ts";
import { moonsConfig, readEvents, useMoonsDir, withoutTimes } from "./helpers.ts";

const dirOf = useMoonsDir("slt-single-resume-", "single-resume-csv", 200, 60);

const BASE: ConfigPatch = {
  seed: 6,
  network: { architecture: [2, 10, 2] },
  ga: { population: 12 },
  termination: { rule: "none", maxGenerations: 12 },
  prune: "clean",
  checkpointEvery: 5,
};

const config = (name: string, patch: ConfigPatch = {}) => moonsConfig(dirOf(), name, BASE, patch);

const run = (c: ReturnType<typeof config>, options: Partial<RunOptions> = {}) =>
  runSingle(c, { makeEvaluator: referenceEvaluator, ...options });

/** shouldStop that stops the run right after generation g (it is asked once per generation, from 0). */
function stopAfter(g: number): () => boolean {
  let asked = 0;
  return () => asked++ >= g;
}

async function newestCheckpoint(runDir: string) {
  const read = await readCheckpoint(runDir, { validate: runCheckpointError });
  return { read, checkpoint: parseRunCheckpoint(read.value, read.file) };
}

/** What `slt resume` hands runSingle (src/run/resume.ts does this for the command). */
async function resumeFrom(runDir: string): Promise<ResumeFrom> {
  const { read, checkpoint } = await newestCheckpoint(runDir);
  const recorded = JSON.parse(readFileSync(path.join(runDir, "config.json"), "utf8"));
  return {
    dir: runDir,
    startTime: recorded.startTime,
    islands: checkpoint.islands.map((i) => i.snapshot as unknown as IslandSnapshotJSON),
    coordinator: null,
    overrides: {},
    epoch: checkpoint.epoch,
    resharded: false,
    checkpoint: { file: read.file, sha256: read.sha256, warning: read.warning },
  };
}

const generationEvents = (runDir: string, after = -1) =>
  withoutTimes(readEvents(runDir).filter((e) => e.type === "generation" && (e.generation as number) > after));

const ticketOf = (file: string) => {
  const t = JSON.parse(readFileSync(file, "utf8"));
  return { mask: t.mask, metrics: t.metrics, evolvedMask: t.evolvedMask };
};

/** A summary without what differs between two processes of one run (times, paths). */
const summaryResult = ({ wallSeconds: _w, ticket: _t, runDir: _d, ...rest }: Record<string, unknown>) => rest;

describe("one population's checkpoints", () => {
  it("every checkpointEvery generations and at the stop: a run checkpoint through the store, with events", async () => {
    const c = config("periodic");
    const s = await run(c);
    const { read, checkpoint } = await newestCheckpoint(s.runDir);
    expect(read.warning).toBeNull();
    expect(checkpoint).toMatchObject({ mode: "single", epoch: 0, generation: 12, coordinator: {} });
    // made under the configuration config.json records: what `slt resume` checks
    const recorded = JSON.parse(readFileSync(path.join(s.runDir, "config.json"), "utf8"));
    expect(checkpoint.configHash).toBe(configHash(recorded));
    expect(checkpoint.islands.map((i) => i.id)).toEqual([0]);
    const genomeLength = readEvents(s.runDir)[0].genomeLength as number;
    const snapshot = checkSnapshotJSON(checkpoint.islands[0].snapshot, genomeLength);
    expect(snapshot).toMatchObject({ island: 0, mode: c.cluster.mode, epoch: 0, waiting: [] });
    expect(snapshot.counters).toEqual({ sent: 0, received: 0, accepted: 0, rejected: 0, dropped: 0 });
    expect(snapshot.ga.generation).toBe(12);
    expect(snapshot.ga.population).toHaveLength(12);
    // the previous checkpoint is kept beside the newest
    expect(existsSync(path.join(s.runDir, "checkpoint.prev.json"))).toBe(true);
    const events = readEvents(s.runDir);
    const written = events.filter((e) => e.type === "checkpoint");
    expect(written.map((e) => e.generation)).toEqual([5, 10, 12]);
    for (const e of written) {
      expect(e).toMatchObject({
        file: "checkpoint.json",
        bytes: expect.any(Number),
        seconds: expect.any(Number),
      });
      expect(e.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(written[2]).toMatchObject({ bytes: read.bytes, sha256: read.sha256 });
    // the stop's checkpoint is complete before the run's end
    const types = events.map((e) => e.type);
    expect(types.lastIndexOf("checkpoint")).toBeLessThan(types.indexOf("end"));
  });

  it("an interrupted run checkpoints where it stopped", async () => {
    const s = await run(config("interrupted"), { shouldStop: stopAfter(3) });
    expect(s.stopReason).toBe("interrupted");
    const { checkpoint } = await newestCheckpoint(s.runDir);
    expect(checkpoint.generation).toBe(3);
    expect(readEvents(s.runDir).filter((e) => e.type === "checkpoint")).toMatchObject([{ generation: 3 }]);
  });
});

describe("runSingle with resume", () => {
  for (const [label, patch] of [
    ["full training split", {}],
    [
      "rotating mini-batch",
      { ga: { population: 12, fitnessSubset: { size: 60, mode: "rotating" as const } } },
    ],
  ] as const) {
    it(`${label}: stopped at g and resumed gives the uninterrupted run's generations, ticket and summary`, async () => {
      const straight = await run(config(`straight-${label.replace(/ /g, "-")}`, patch));
      const g = 7;
      const first = await run(config(`stopped-${label.replace(/ /g, "-")}`, patch), {
        shouldStop: stopAfter(g),
      });
      expect(first.generations).toBe(g);
      const resume = await resumeFrom(first.runDir);
      const resumed = await run(config(`stopped-${label.replace(/ /g, "-")}`, patch), { resume });
      expect(resumed.runDir).toBe(first.runDir);
      expect(generationEvents(resumed.runDir, g)).toEqual(generationEvents(straight.runDir, g));
      expect(ticketOf(resumed.ticket)).toEqual(ticketOf(straight.ticket));
      expect(summaryResult({ ...resumed })).toEqual(summaryResult({ ...straight }));
      // the resumed part opens with a resume event, before its first generation
      const events = readEvents(resumed.runDir);
      const at = events.findIndex((e) => e.type === "resume");
      expect(events[at]).toMatchObject({
        generation: g,
        file: resume.checkpoint.file,
        sha256: resume.checkpoint.sha256,
        warning: null,
        resharded: false,
      });
      expect(events[at - 1]).toMatchObject({ type: "end", stopReason: "interrupted" });
      expect(events[at + 1]).toMatchObject({ type: "generation", generation: g + 1 });
      expect(events.filter((e) => e.type === "start")).toHaveLength(1);
      expect(events[events.length - 1]).toMatchObject({ type: "end", stopReason: "max-generations" });
      // times go on counting from the run's start
      const times = events.map((e) => e.t as number);
      expect([...times].sort((a, b) => a - b)).toEqual(times);
    });
  }

  it("a run that reached its cap resumes with a higher one as if it had had it from the start", async () => {
    const straight = await run(config("cap-straight"));
    const capped = await run(config("cap-raised", { termination: { rule: "none", maxGenerations: 5 } }));
    expect(capped.stopReason).toBe("max-generations");
    // a stop at a checkpoint's generation writes it once
    const written = readEvents(capped.runDir).filter((e) => e.type === "checkpoint");
    expect(written.map((e) => e.generation)).toEqual([5]);
    const resumed = await run(config("cap-raised"), { resume: await resumeFrom(capped.runDir) });
    expect(generationEvents(resumed.runDir)).toEqual(generationEvents(straight.runDir));
    expect(ticketOf(resumed.ticket)).toEqual(ticketOf(straight.ticket));
  });

  it("a one-population checkpoint re-shards onto 3 islands, and those back onto one population that resumes", async () => {
    const c = config("reshard", { termination: { rule: "none", maxGenerations: 4 } });
    const first = await run(c);
    const resume = await resumeFrom(first.runDir);
    const genomeLength = readEvents(first.runDir)[0].genomeLength as number;
    const three = reshardSnapshots(resume.islands, 3, c.seed);
    for (const s of three) expect(checkSnapshotJSON(s, genomeLength).ga.generation).toBe(4);
    const one = reshardSnapshots(three, 1, c.seed);
    const resumed = await run(config("reshard"), { resume: { ...resume, islands: one, resharded: true } });
    expect(resumed).toMatchObject({ generations: 12, stopReason: "max-generations" });
    const events = readEvents(resumed.runDir);
    expect(events.find((e) => e.type === "resume")).toMatchObject({ generation: 4, resharded: true });
    expect(generationEvents(resumed.runDir, 4).map((e) => e.generation)).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it("refuses a checkpoint of several islands in one line", async () => {
    const s = await run(config("two-islands", { termination: { rule: "none", maxGenerations: 2 } }));
    const resume = await resumeFrom(s.runDir);
    const twice = { ...resume, islands: [resume.islands[0], { ...resume.islands[0], island: 1 }] };
    const error = await run(config("two-islands"), { resume: twice }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SltError);
    expect(error).toMatchObject({
      code: E_CHECKPOINT,
      message: expect.stringMatching(/holds 2 island snapshots/),
    });
  });
});
