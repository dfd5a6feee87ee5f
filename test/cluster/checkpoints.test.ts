// The coordinator's run checkpoints with real island processes on loopback: a failed write (a full disk,
// through the checkpoint store's test-only fault hook) is logged and the run goes on; a lockstep run writes
// one checkpoint per barrier cut, each a valid run checkpoint of every island at one epoch, and a final one
// at the cap; an async run's final checkpoint holds every island's state at the stop; runCluster resumed
// from a checkpoint continues the run in its own directory.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCluster } from "../../src/coordinator/cluster.ts";
import { COORDINATOR_CHECKPOINT_FORMAT } from "../../src/coordinator/coordinator-state.ts";
import { configHash, parseRunCheckpoint } from "../../src/core/checkpoint.ts";
import type { ConfigPatch } from "../../src/core/config.ts";
import { snapshotFromJSON } from "../../src/core/island-snapshot.ts";
import { makeEvaluator } from "../../src/evaluator/index.ts";
import { readCheckpoint } from "../../src/io/checkpoint-store.ts";
import { captureLogger, silentLogger } from "../../src/io/log.ts";
import { prepareResume } from "../../src/run/resume.ts";
import { readEvents } from "../coordinator/helpers.ts";
import { clusterConfig } from "./helpers.ts";

const work = mkdtempSync(join(tmpdir(), "slt-cluster-ckpt-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const config = (name: string, patch: ConfigPatch) => clusterConfig(work, name, patch);
const events = readEvents;

describe("the cluster's checkpoints", () => {
  // first in the file: the fault hook counts this process's checkpoint writes
  it("a write that fails (disk full) is logged, the run goes on and the next checkpoints are written", async () => {
    const { logger, records } = captureLogger();
    process.env.SLT_TEST_FAULT = "checkpoint-write:tmp-half-written:ENOSPC@1";
    try {
      const c = config("full-disk", {
        checkpointEvery: 4,
        termination: { maxGenerations: 12 },
        cluster: { islands: 2, mode: "lockstep", interval: 2 },
      });
      const summary = await runCluster(c, { makeEvaluator, logger });
      expect(summary.stopReason).toBe("max-generations");
      const evs = events(summary.runDir);
      const failed = evs.filter((e) => e.type === "checkpoint-failed");
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({
        epoch: 2,
        generations: [4, 4],
        reason: expect.stringMatching(/ENOSPC/),
      });
      const warning = records.find((r) => r.msg === "checkpoint not written; the previous one is kept");
      expect(warning).toMatchObject({ level: 40, epoch: 2 });
      // the cuts after it are written: the last (epoch 6) always; epoch 4 unless epoch 6 was ready before
      // its write could start (a newer cut replaces one that waits: a loaded machine skips it)
      const written = evs.filter((e) => e.type === "checkpoint").map((e) => e.epoch);
      expect([[4, 6], [6]]).toContainEqual(written);
    } finally {
      delete process.env.SLT_TEST_FAULT;
    }
  });

  it("lockstep: one checkpoint per barrier cut, every island at one epoch, the configuration's hash", async () => {
    const c = config("lockstep", {
      checkpointEvery: 5,
      termination: { maxGenerations: 16 },
      cluster: { islands: 3, mode: "lockstep", topology: "ring", interval: 2 },
    });
    const summary = await runCluster(c, { makeEvaluator, logger: silentLogger() });
    const cps = events(summary.runDir).filter((e) => e.type === "checkpoint");
    // the first barrier at or after each multiple of 5 (epochs of 2 generations): 6, 10, 16; the stop at
    // the cap adds nothing to the last cut
    // a newer cut replaces one that waits for the write before it, so a loaded machine may skip an
    // intermediate one; the last is always written, and each written one is one of these three
    const cuts = [
      [3, [6, 6], 3, false],
      [5, [10, 10], 3, false],
      [8, [16, 16], 3, false],
    ];
    const written = cps.map((e) => [e.epoch, e.generations, e.islands, e.final]);
    expect(written.at(-1)).toEqual(cuts[2]);
    for (const w of written) expect(cuts).toContainEqual(w);
    const epochs = written.map((w) => w[0] as number);
    expect(epochs).toEqual([...new Set(epochs)].sort((a, b) => a - b));
    expect(cps.every((e) => e.file === "checkpoint.json" && (e.bytes as number) > 0)).toBe(true);
    const read = await readCheckpoint(summary.runDir);
    const cp = parseRunCheckpoint(read.value, read.file);
    expect(cp).toMatchObject({ mode: "lockstep", epoch: 8, generation: 16, configHash: configHash(c) });
    expect(cp.islands.map((i) => i.id)).toEqual([0, 1, 2]);
    const genomeLength = events(summary.runDir).find((e) => e.type === "start")?.genomeLength as number;
    for (const i of cp.islands) {
      const s = snapshotFromJSON(i.snapshot, genomeLength);
      expect(s).toMatchObject({ island: i.id, epoch: 8, mode: "lockstep", waiting: [] });
      expect(s.ga.generation).toBe(16);
    }
    expect(cp.coordinator).toMatchObject({
      format: COORDINATOR_CHECKPOINT_FORMAT,
      topology: { kind: "ring", n: 3, removed: [] },
      inFlight: 0,
    });
    expect((cp.coordinator.members as unknown[]).length).toBe(3);
  });

  it("async: the final checkpoint holds every island's state at the stop; a resume continues the run", async () => {
    const c = config("async", {
      termination: { maxGenerations: 10 },
      cluster: { islands: 2, mode: "async", interval: 2 },
    });
    const first = await runCluster(c, { makeEvaluator, logger: silentLogger() });
    const cps = events(first.runDir).filter((e) => e.type === "checkpoint");
    // the default plan snapshots every few thousand generations: only the stop's
    expect(cps).toHaveLength(1);
    expect(cps[0]).toMatchObject({ final: true, islands: 2, generations: [10, 10] });

    const prepared = await prepareResume(first.runDir, { maxGenerations: 14 }, silentLogger());
    expect(prepared).toMatchObject({
      cluster: true,
      resume: { overrides: { "termination.maxGenerations": 14 } },
    });
    const resumed = await runCluster(prepared.config, {
      makeEvaluator,
      logger: silentLogger(),
      resume: prepared.resume,
    });
    expect(resumed.runDir).toBe(first.runDir);
    expect(resumed).toMatchObject({ generations: 14, stopReason: "max-generations" });
    const evs = events(first.runDir);
    const at = evs.findIndex((e) => e.type === "resume");
    expect(evs[at]).toMatchObject({
      islands: 2,
      resharded: false,
      overrides: { "termination.maxGenerations": 14 },
    });
    expect(evs.slice(0, at).some((e) => e.type === "end")).toBe(true);
    expect(evs.slice(at).filter((e) => e.type === "end")).toHaveLength(1);
    // every island went on from its own state: its first report after the resume is at generation 10
    const firstReports = [0, 1].map((id) =>
      evs.slice(at).find((e) => e.type === "report" && e.island === id),
    );
    expect(firstReports.map((r) => r?.generation)).toEqual([10, 10]);
  });
});
