// `slt resume` with real processes: a lockstep cluster run whose coordinator is killed with SIGKILL at a
// generation picked by a seeded stream, then resumed, ends exactly as the same run without interruption
// (ticket, metrics, per-generation reports) and leaves no island behind; so does a coordinator killed in
// the middle of a checkpoint write (the test-only fault hook), from the previous checkpoint; corrupt checkpoints are refused
// or passed over with a warning; re-sharding 4 → 2 and one population → 3 islands runs to the end; and
// Ctrl-C of a cluster run writes a final checkpoint that a resume continues from.
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.ts";
import { alive, CLI, runCli, runEvents, scratchDir } from "./helpers.ts";

const work = scratchDir("slt-resume-");

type Event = Record<string, unknown> & { type: string };

const events = (dir: string): Event[] => runEvents(dirname(dir), basename(dir));

/** Resolves once none of `pids` is alive; rejects after `ms` (a deadline, not a measurement). */
async function allGone(pids: readonly number[], ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  // the islands are no children of this process: no exit event tells of their end, so look until the deadline
  while (pids.some(alive)) {
    if (performance.now() > deadline) throw new Error(`still alive: ${pids.filter(alive).join(", ")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Started {
  readonly child: ChildProcess;
  readonly stderr: () => string;
  /** resolves once `until(events)` holds, checked on every piece of progress on stderr */
  readonly reached: Promise<void>;
  readonly closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `slt ARGS` in the background; progress on stderr (every report) drives the checks of `until`. */
function start(args: string[], dir: string, until: (evs: Event[]) => boolean): Started {
  const child = spawn(process.execPath, [CLI, ...args, "--progress-interval", "0"], {
    stdio: ["ignore", "pipe", "pipe"],
    cwd: work,
  });
  let stderr = "";
  const reached = new Promise<void>((done) => {
    child.stderr?.on("data", (d) => {
      stderr += d;
      if (until(events(dir))) done();
    });
  });
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on("close", (code, signal) => done({ code, signal })),
  );
  return { child, stderr: () => stderr, reached, closed };
}

/** A summary without what differs between two runs of one seed: times, paths, processes. */
function comparable(summary: Record<string, unknown>): Record<string, unknown> {
  const { wallSeconds: _w, ticket: _t, runDir: _r, islands, ...rest } = summary;
  return {
    ...rest,
    islands: (islands as Record<string, unknown>[]).map(({ pid: _p, host: _h, ...i }) => i),
  };
}

/** The latest `report` per (island, generation), on the fields a lockstep run decides alone. */
function reportsByGeneration(evs: Event[]): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const e of evs) {
    if (e.type !== "report") continue;
    const m = e.migration as Record<string, number>;
    out.set(`${e.island}/${e.generation}`, {
      evaluations: e.evaluations,
      bestFitness: e.bestFitness,
      bestAccuracy: e.bestAccuracy,
      bestLoss: e.bestLoss,
      sparsity: e.sparsity,
      meanFitness: e.meanFitness,
      diversity: e.diversity,
      accepted: m.accepted,
      rejected: m.rejected,
    });
  }
  return out;
}

const ticketOf = (dir: string) => {
  const t = JSON.parse(readFileSync(join(dir, "ticket.json"), "utf8"));
  return { mask: t.mask, evolvedMask: t.evolvedMask, metrics: t.metrics };
};

/** The command: 3 lockstep islands on a ring, 80 generations, a checkpoint every 10, seed 5. */
const LOCKSTEP = (name: string) => [
  "run",
  ...["--islands", "3", "--mode", "lockstep", "--topology", "ring", "--generations", "80"],
  ...["--checkpoint-every", "10", "--seed", "5", "--json", "--out", work, "--name", name],
];

/** A small, fast cluster run. */
const SMALL = (name: string, ...args: string[]) => [
  "run",
  ...["--dataset", "moons", "--arch", "2,20,2", "--population", "20", "--seed", "3"],
  ...["--json", "--quiet", "--out", work, "--name", name],
  ...args,
];

describe("slt resume", () => {
  it("kill -9 of a lockstep run's coordinator, then resume: the uninterrupted run's ticket, metrics and reports", async () => {
    const straight = runCli(work, [...LOCKSTEP("straight"), "--quiet"]);
    expect(straight.code, straight.stderr).toBe(0);

    // the generation to kill at, from a seeded stream (printed so that a failure can be replayed)
    const seed = 20261207;
    const killAt = 15 + Rng.derive(seed, "kill-generation").int(50);
    console.log(`resume test: kill seed ${seed}, killing the coordinator at generation ${killAt} or later`);
    const dir = join(work, "killed");
    const run = start(
      LOCKSTEP("killed"),
      dir,
      (evs) =>
        evs.some((e) => e.type === "checkpoint") &&
        evs.some((e) => e.type === "report" && (e.generation as number) >= killAt),
    );
    await run.reached;
    const islands = events(dir)
      .filter((e) => e.type === "joined")
      .map((e) => e.pid as number);
    expect(islands).toHaveLength(3);
    run.child.kill("SIGKILL");
    expect((await run.closed).signal).toBe("SIGKILL");
    expect(events(dir).some((e) => e.type === "end")).toBe(false);
    await allGone(islands, 15_000);

    const resumed = runCli(work, ["resume", dir, "--json", "--quiet"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(comparable(JSON.parse(resumed.stdout))).toEqual(comparable(JSON.parse(straight.stdout)));
    expect(ticketOf(dir)).toEqual(ticketOf(join(work, "straight")));
    const evs = events(dir);
    const resumeAt = evs.findIndex((e) => e.type === "resume");
    expect(evs[resumeAt]).toMatchObject({ resharded: false, islands: 3, warning: null });
    expect(evs[resumeAt + 1].type).toBe("start");
    expect(reportsByGeneration(evs)).toEqual(reportsByGeneration(events(join(work, "straight"))));
  });

  it("the coordinator killed in the middle of a checkpoint write: resume continues from the previous one, exactly", () => {
    const args = ["--islands", "2", "--mode", "lockstep", "--generations", "20", "--checkpoint-every", "4"];
    const straight = runCli(work, SMALL("torn-straight", ...args));
    expect(straight.code, straight.stderr).toBe(0);
    // the second write stops dead with its temporary file complete, before any rename (test-only hook)
    const dir = join(work, "torn");
    const killed = runCli(work, SMALL("torn", ...args), {
      ...process.env,
      SLT_TEST_FAULT: "checkpoint-write:before-rename@2",
    });
    expect(killed.code).toBeNull(); // SIGKILL
    const written = events(dir).filter((e) => e.type === "checkpoint");
    expect(written.map((e) => e.epoch)).toEqual([1]); // generation 5: the first barrier at or after 4
    const resumed = runCli(work, ["resume", dir, "--json", "--quiet"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(events(dir).find((e) => e.type === "resume")).toMatchObject({ epoch: 1, warning: null });
    expect(comparable(JSON.parse(resumed.stdout))).toEqual(comparable(JSON.parse(straight.stdout)));
    expect(ticketOf(dir)).toEqual(ticketOf(join(work, "torn-straight")));
  });

  it("refuses a run whose checkpoint and previous checkpoint are both corrupt, in one line", () => {
    const dir = join(work, "corrupt");
    expect(runCli(work, SMALL("corrupt", "--islands", "2", "--generations", "10")).code).toBe(0);
    writeFileSync(join(dir, "checkpoint.json"), "{ not a checkpoint");
    writeFileSync(join(dir, "checkpoint.prev.json"), "");
    const r = runCli(work, ["resume", dir, "--json"]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe("");
    const errors = r.stderr.split("\n").filter((l) => l.startsWith("slt: error"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^slt: error E_CHECKPOINT: no valid checkpoint in .*checkpoint\.json: .*checkpoint\.prev\.json: /,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it("passes over a corrupt checkpoint.json to checkpoint.prev.json with a warning, and goes on", () => {
    const dir = join(work, "fallback");
    expect(
      runCli(work, SMALL("fallback", "--islands", "2", "--generations", "20", "--checkpoint-every", "10"))
        .code,
    ).toBe(0);
    const text = readFileSync(join(dir, "checkpoint.json"), "utf8");
    writeFileSync(join(dir, "checkpoint.json"), text.slice(0, text.length / 2));
    const r = runCli(work, ["resume", dir, "--generations", "30", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/checkpoint fallback/);
    expect(r.stderr).toMatch(/using the previous one/);
    expect(JSON.parse(r.stdout)).toMatchObject({ generations: 30, stopReason: "max-generations" });
    expect(events(dir).find((e) => e.type === "resume")).toMatchObject({
      file: join(dir, "checkpoint.prev.json"),
      warning: expect.stringMatching(/not usable/),
    });
  });

  it("re-shards a 4-island checkpoint onto 2 islands and runs to the end", () => {
    const dir = join(work, "four");
    const args = ["--islands", "4", "--mode", "lockstep", "--generations", "10", "--checkpoint-every", "10"];
    expect(runCli(work, SMALL("four", ...args)).code).toBe(0);
    const r = runCli(work, ["resume", dir, "--islands", "2", "--generations", "20", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ generations: 20, stopReason: "max-generations", mode: "lockstep" });
    expect(s.islands.map((i: { id: number }) => i.id)).toEqual([0, 1]);
    expect(events(dir).find((e) => e.type === "resume")).toMatchObject({ resharded: true, islands: 2 });
  });

  it("re-shards a one-population checkpoint onto 3 islands and runs to the end", () => {
    const dir = join(work, "one");
    expect(runCli(work, SMALL("one", "--islands", "1", "--generations", "10")).code).toBe(0);
    const r = runCli(work, ["resume", dir, "--islands", "3", "--generations", "20", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ generations: 20, stopReason: "max-generations", topology: "ring" });
    expect(s.islands).toHaveLength(3);
  });

  it("Ctrl-C of a cluster run writes a final checkpoint, and resume continues from it", async () => {
    const dir = join(work, "interrupted");
    const args = SMALL("interrupted", "--islands", "2", "--generations", "1000000", "--termination", "none");
    const run = start(
      args.filter((a) => a !== "--quiet"),
      dir,
      (evs) => evs.filter((e) => e.type === "report" && (e.generation as number) >= 20).length >= 2,
    );
    await run.reached;
    run.child.kill("SIGINT");
    expect(await run.closed, run.stderr()).toEqual({ code: 0, signal: null });
    const final = events(dir).find((e) => e.type === "checkpoint" && e.final === true);
    if (final === undefined) throw new Error(`no final checkpoint: ${run.stderr()}`);
    const [, last] = final.generations as [number, number];
    // the resumed part: a copy, so that the interrupted run's own files stay as they were
    cpSync(dir, `${dir}-resumed`, { recursive: true });
    const r = runCli(work, ["resume", `${dir}-resumed`, "--generations", String(last + 10), "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ generations: last + 10, stopReason: "max-generations" });
    const resume = events(`${dir}-resumed`).find((e) => e.type === "resume");
    expect(resume).toMatchObject({
      resharded: false,
      islands: 2,
      file: join(`${dir}-resumed`, "checkpoint.json"),
    });
  });
});
