// One population (`slt run --islands 1`) stopped from outside: Ctrl-C stops the run after the current
// generation and still leaves its ticket and a checkpoint; SIGKILL (no chance to clean up) and a kill in
// the middle of a checkpoint write leave a valid checkpoint behind, which `slt resume` continues from.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseRunCheckpoint, type RunCheckpoint, runCheckpointError } from "../../src/core/checkpoint.ts";
import { checkSnapshotJSON } from "../../src/core/island-snapshot.ts";
import { type ReadCheckpoint, readCheckpoint } from "../../src/io/checkpoint-store.ts";
import { CLI, runCli, scratchDir } from "./helpers.ts";

const work = scratchDir("slt-int-");

/** `slt run` of one population on digits-3 in `work`, named `name`, with a generation cap of `generations`. */
function runArgs(name: string, generations: number, ...more: string[]): string[] {
  return [
    "run",
    "--islands",
    "1",
    "--dataset",
    "digits-3",
    "--generations",
    String(generations),
    "--out",
    work,
    "--name",
    name,
    ...more,
  ];
}

interface Started {
  readonly child: ChildProcess;
  readonly out: { stdout: string; stderr: string };
  readonly closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `slt ARGS` and calls `onGeneration(g, child)` for every progress line (generation g). */
function start(args: readonly string[], onGeneration: (g: number, child: ChildProcess) => void): Started {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const out = { stdout: "", stderr: "" };
  child.stdout?.on("data", (d) => {
    out.stdout += d;
  });
  let seen = 0;
  child.stderr?.on("data", (d) => {
    out.stderr += d;
    for (const m of out.stderr.slice(seen).matchAll(/^gen\s+(\d+)/gm)) onGeneration(Number(m[1]), child);
    seen = out.stderr.lastIndexOf("\n") + 1;
  });
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on("close", (code, signal) => done({ code, signal })),
  );
  return { child, out, closed };
}

/** The run's newest valid checkpoint, checked all the way down to its one island's snapshot. */
async function checkpointOf(runDir: string): Promise<{ read: ReadCheckpoint; checkpoint: RunCheckpoint }> {
  const read = await readCheckpoint(runDir, { validate: runCheckpointError });
  const checkpoint = parseRunCheckpoint(read.value, read.file);
  expect(checkpoint.mode).toBe("single");
  expect(checkpoint.islands.map((i) => i.id)).toEqual([0]);
  const events = readFileSync(join(runDir, "events.jsonl"), "utf8").trim().split("\n");
  const { genomeLength } = JSON.parse(events[0]);
  const snapshot = checkSnapshotJSON(checkpoint.islands[0].snapshot, genomeLength);
  expect(snapshot.ga.generation).toBe(checkpoint.generation);
  return { read, checkpoint };
}

/**
 * `slt run --islands 1 --checkpoint-every 2` killed with SIGKILL once it has reported generation
 * `killAt`: the run directory it leaves. With checkpoints every 2 generations, the one of generation
 * killAt − 4 or later is complete by then (each write waits for the one before).
 */
async function killedRun(name: string, killAt: number): Promise<string> {
  const run = start(
    runArgs(name, 100_000, "--checkpoint-every", "2", "--progress-interval", "0"),
    (g, child) => {
      if (g >= killAt && child.exitCode === null && !child.killed) child.kill("SIGKILL");
    },
  );
  const end = await run.closed;
  expect(end.signal, run.out.stderr).toBe("SIGKILL");
  return join(work, name);
}

describe("slt run --islands 1 interrupted", () => {
  it("SIGINT ends the run cleanly with a ticket marked interrupted and a checkpoint of where it stopped", async () => {
    const run = start(runArgs("int", 100_000, "--json"), (g, child) => {
      // once the run has reported a generation past the first: proof the loop is running
      if (g >= 1 && child.exitCode === null && !child.killed) child.kill("SIGINT");
    });
    const { code } = await run.closed;
    expect(code, run.out.stderr).toBe(0);
    expect(run.out.stderr).toMatch(/stopping after this generation/);
    const summary = JSON.parse(run.out.stdout.trim());
    expect(summary.stopReason).toBe("interrupted");
    expect(summary.generations).toBeLessThan(100000);
    const ticket = JSON.parse(readFileSync(summary.ticket, "utf8"));
    expect(ticket.metrics.stopReason).toBe("interrupted");
    const events = readFileSync(join(work, "int", "events.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(events[events.length - 1]).toMatchObject({ type: "end", stopReason: "interrupted" });
    const { read, checkpoint } = await checkpointOf(join(work, "int"));
    expect(read.warning).toBeNull();
    expect(checkpoint.generation).toBe(summary.generations);
    expect(events.filter((e) => e.type === "checkpoint").at(-1)).toMatchObject({
      generation: summary.generations,
      sha256: read.sha256,
    });
  });

  it("SIGKILL mid-run leaves a valid checkpoint of a recent generation", async () => {
    const runDir = await killedRun("killed", 8);
    const { checkpoint } = await checkpointOf(runDir);
    expect(checkpoint.generation).toBeGreaterThanOrEqual(4);
    expect((checkpoint.generation as number) % 2).toBe(0);
    // killed, not stopped: no end, no ticket
    expect(readFileSync(join(runDir, "events.jsonl"), "utf8")).not.toMatch(/"type":"end"/);
    expect(existsSync(join(runDir, "ticket.json"))).toBe(false);
  });

  it("killed in the middle of a checkpoint write, the previous checkpoint is used", async () => {
    // the second write (generation 4) dies between its renames: checkpoint.json is gone, the first remains
    const r = runCli(work, runArgs("torn", 100, "--checkpoint-every", "2"), {
      ...process.env,
      SLT_TEST_FAULT: "checkpoint-write:between-renames@2",
    });
    expect(r.code, r.stderr).toBeNull();
    const runDir = join(work, "torn");
    expect(existsSync(join(runDir, "checkpoint.json"))).toBe(false);
    const { read, checkpoint } = await checkpointOf(runDir);
    expect(read.file).toBe(join(runDir, "checkpoint.prev.json"));
    expect(read.warning).toMatch(/checkpoint\.json is missing; using the previous one/);
    expect(checkpoint.generation).toBe(2);
  });
});
