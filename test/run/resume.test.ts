// prepareResume without processes, on a one-population run's directory: the checkpoint's kind and count
// by default, another island count re-sharded (one population → islands), the overrides as configuration
// fields, the fallback to the previous checkpoint warned, and one-line refusals for a directory that is
// no run and for a configuration that is not the checkpoint's.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runSingle } from "../../src/coordinator/single-population.ts";
import type { ConfigPatch } from "../../src/core/config.ts";
import { referenceEvaluator } from "../../src/core/evaluate.ts";
import { captureLogger, silentLogger } from "../../src/io/log.ts";
import { prepareResume } from "../../src/run/resume.ts";
import { moonsConfig, useMoonsDir } from "../coordinator/helpers.ts";

const dirOf = useMoonsDir("slt-prepare-resume-", "prepare-resume-csv", 200, 60);

const BASE: ConfigPatch = {
  seed: 4,
  network: { architecture: [2, 10, 2] },
  ga: { population: 12 },
  termination: { rule: "none", maxGenerations: 6 },
  prune: "none",
  checkpointEvery: 3,
};

let runDir = "";
beforeAll(async () => {
  const summary = await runSingle(moonsConfig(dirOf(), "one", BASE), { makeEvaluator: referenceEvaluator });
  runDir = summary.runDir;
});

/** A copy of the run directory's files that `edit` may change. */
function copyRun(name: string, edit: (dir: string) => void = () => {}): string {
  const dir = path.join(dirOf(), name);
  mkdirSync(dir);
  for (const f of ["config.json", "events.jsonl", "checkpoint.json", "checkpoint.prev.json"])
    writeFileSync(path.join(dir, f), readFileSync(path.join(runDir, f)));
  edit(dir);
  return dir;
}

describe("prepareResume", () => {
  it("by default: the checkpoint's one population, as it is, with its recorded configuration", async () => {
    const p = await prepareResume(runDir, {}, silentLogger());
    expect(p).toMatchObject({ cluster: false, resume: { overrides: {} } });
    expect(p.resume).toMatchObject({ dir: runDir, resharded: false, coordinator: null, epoch: 0 });
    expect(p.resume.islands).toHaveLength(1);
    expect(p.resume.islands[0].ga.generation).toBe(6);
    expect(p.config).toMatchObject({ seed: 4, checkpointEvery: 3, cluster: { islands: 1 } });
    const recorded = JSON.parse(readFileSync(path.join(runDir, "config.json"), "utf8"));
    expect(p.resume.startTime).toBe(recorded.startTime);
  });

  it("--islands 3 and other overrides: the cluster, the population re-sharded onto islands 0, 1, 2", async () => {
    const p = await prepareResume(
      runDir,
      { islands: 3, maxGenerations: 20, checkpointEvery: 4 },
      silentLogger(),
    );
    expect(p.cluster).toBe(true);
    expect(p.resume.overrides).toEqual({
      "cluster.islands": 3,
      "termination.maxGenerations": 20,
      checkpointEvery: 4,
    });
    expect(p.config).toMatchObject({
      checkpointEvery: 4,
      cluster: { islands: 3 },
      termination: { maxGenerations: 20 },
    });
    expect(p.resume.resharded).toBe(true);
    expect(p.resume.islands.map((s) => s.island)).toEqual([0, 1, 2]);
  });

  it("passes over a corrupt checkpoint.json to the previous one, with a warning record", async () => {
    const dir = copyRun("torn", (d) => writeFileSync(path.join(d, "checkpoint.json"), "{"));
    const { logger, records } = captureLogger();
    const p = await prepareResume(dir, {}, logger);
    expect(p.resume.checkpoint.file).toBe(path.join(dir, "checkpoint.prev.json"));
    expect(records.find((r) => r.msg === "checkpoint fallback")).toMatchObject({
      level: 40,
      reason: expect.stringMatching(/not usable.*using the previous one/),
    });
  });

  it("refuses a directory that is no run, and a configuration that is not the checkpoint's, in one line", async () => {
    await expect(prepareResume(path.join(dirOf(), "nothing"), {}, silentLogger())).rejects.toThrow(
      /^cannot resume .*nothing: .*config\.json: ENOENT; RUN_DIR is a run's own directory, runs\/<name>$/,
    );
    const edited = copyRun("edited", (d) => {
      const file = path.join(d, "config.json");
      const c = JSON.parse(readFileSync(file, "utf8"));
      writeFileSync(file, JSON.stringify({ ...c, seed: 5 }));
    });
    const refusal = prepareResume(edited, {}, silentLogger());
    await expect(refusal).rejects.toMatchObject({ code: "E_CHECKPOINT" });
    await expect(refusal).rejects.toThrow(/was made under another configuration/);
    await expect(refusal).rejects.toThrow(/only .*termination\.maxGenerations.* may change on resume/);
  });
});
