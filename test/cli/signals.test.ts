// Signals through `slt` as `npm link` installs it (bin/slt.mjs, which runs src/cli.ts as a child): a
// supervisor's SIGTERM, a terminal's Ctrl-C and the loss of the launcher or the coordinator each end the
// run cleanly, with its ticket, and leave no process of it behind.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { alive, CLI, type RunEvent, runEvents } from "./helpers.ts";

const BIN = resolve(import.meta.dirname, "../../bin/slt.mjs");
const work = mkdtempSync(join(tmpdir(), "slt-sig-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A small, fast run that would go on for a long time. */
const endless = (name: string, ...args: string[]) => [
  "run",
  ...["--dataset", "moons", "--arch", "2,20,2", "--population", "20"],
  ...["--generations", "1000000", "--termination", "none", "--json", "--out", work, "--name", name],
  ...args,
];

type Event = RunEvent;

const events = (name: string): Event[] => runEvents(work, name);

/** True once `islands` islands (0: the single population) have got past their first generation. */
function running(name: string, islands: number): boolean {
  const evs = events(name);
  if (islands === 0) return evs.some((e) => e.type === "generation" && (e.generation as number) > 0);
  const past = evs.filter((e) => e.type === "report" && (e.generation as number) > 0).map((e) => e.island);
  return new Set(past).size === islands;
}

interface Started {
  child: ChildProcess;
  out: { stdout: string; stderr: string };
  /** resolves once the run is under way (checked on each piece of progress on stderr) */
  underWay: Promise<void>;
  /** resolves when the process and every holder of its stdout and stderr (its child) are gone */
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(entry: string, args: string[], name: string, islands: number, detached = false): Started {
  const child = spawn(process.execPath, [entry, ...args], { stdio: ["ignore", "pipe", "pipe"], detached });
  const out = { stdout: "", stderr: "" };
  child.stdout?.on("data", (d) => {
    out.stdout += d;
  });
  const underWay = new Promise<void>((done) => {
    child.stderr?.on("data", (d) => {
      out.stderr += d;
      if (running(name, islands)) done();
    });
  });
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on("close", (code, signal) => done({ code, signal })),
  );
  return { child, out, underWay, closed };
}

/** Rejects if `p` has not settled within `ms`: a deadline, not a measurement. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** The pids of a cluster run: the coordinator (the CLI process) and every island that joined. */
function clusterPids(name: string): { coordinator: number; islands: number[] } {
  const evs = events(name);
  const startEvent = evs.find((e) => e.type === "start") as { coordinator: { pid: number } } | undefined;
  const islands = evs.filter((e) => e.type === "joined").map((e) => e.pid as number);
  return { coordinator: startEvent?.coordinator.pid ?? -1, islands };
}

function interruptedTicket(name: string): void {
  const ticket = JSON.parse(readFileSync(join(work, name, "ticket.json"), "utf8"));
  expect(ticket.metrics.stopReason).toBe("interrupted");
}

describe("signals", () => {
  it("SIGTERM to bin/slt.mjs with 3 islands: exits within 10 s, writes ticket.json, leaves no process", async () => {
    const run = start(BIN, endless("term", "--islands", "3"), "term", 3);
    await run.underWay;
    const pids = clusterPids("term");
    expect(pids.islands).toHaveLength(3);
    run.child.kill("SIGTERM");
    const end = await within(run.closed, 10_000, "stopping after SIGTERM");
    expect(end, run.out.stderr).toEqual({ code: 0, signal: null });
    expect(run.out.stderr).toMatch(/SIGTERM: stopping after this generation/);
    expect(JSON.parse(run.out.stdout).stopReason).toBe("interrupted");
    interruptedTicket("term");
    for (const pid of [pids.coordinator, ...pids.islands]) expect(alive(pid), `pid ${pid}`).toBe(false);
  });

  it("Ctrl-C at a terminal (SIGINT to the whole process group) is one interrupt, not an abort", async () => {
    // the launcher leads its own process group here, as a shell's foreground job does
    const run = start(BIN, endless("ctrl-c", "--islands", "1", "--threads", "2"), "ctrl-c", 0, true);
    await run.underWay;
    process.kill(-(run.child.pid as number), "SIGINT");
    const end = await within(run.closed, 10_000, "stopping after Ctrl-C");
    expect(end, run.out.stderr).toEqual({ code: 0, signal: null });
    expect(run.out.stderr.match(/stopping after this generation/g)).toHaveLength(1);
    expect(run.out.stderr).not.toMatch(/aborted/);
    interruptedTicket("ctrl-c");
    // one population writes its GA state too
    expect(existsSync(join(work, "ctrl-c", "checkpoint.json"))).toBe(true);
  });

  it("SIGKILL to bin/slt.mjs: the run notices the launcher is gone and stops with its ticket", async () => {
    const run = start(BIN, endless("launcher-gone", "--islands", "1"), "launcher-gone", 0);
    await run.underWay;
    run.child.kill("SIGKILL");
    // `closed` waits for the CLI too: it holds the launcher's stdout and stderr until it ends
    const end = await within(run.closed, 10_000, "stopping after the launcher's death");
    expect(end.signal).toBe("SIGKILL");
    expect(run.out.stderr).toMatch(/the slt launcher is gone: stopping/);
    expect(JSON.parse(run.out.stdout).stopReason).toBe("interrupted");
    interruptedTicket("launcher-gone");
  });

  it("SIGKILL to the coordinator: its islands end rather than run on as orphans", async () => {
    const run = start(CLI, endless("orphans", "--islands", "2"), "orphans", 2);
    await run.underWay;
    const { islands } = clusterPids("orphans");
    expect(islands).toHaveLength(2);
    run.child.kill("SIGKILL");
    await run.closed;
    // The islands are no children of this process, so no exit event tells of their end: check until a
    // deadline (each notices the closed coordinator link before its next generation).
    const deadline = performance.now() + 10_000;
    while (islands.some(alive) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(islands.filter(alive)).toEqual([]);
  });
});
