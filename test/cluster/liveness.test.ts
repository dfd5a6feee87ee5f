// Liveness both ways, with real processes on loopback. The coordinator runs in a child process
// (liveness-coordinator.ts) so that it can be paused with SIGSTOP; this process starts the islands
// itself, so it sees them end while the coordinator is stopped. A coordinator paused for longer than
// its heartbeat timeout keeps its islands (their heartbeats of the pause are read, not judged missing);
// a coordinator silenced for good leaves no island running past cluster.coordinatorTimeoutSeconds.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import { ISLAND_MAIN } from "../../src/coordinator/launcher-local.ts";
import type { ConfigPatch } from "../../src/core/config.ts";

const work = mkdtempSync(join(tmpdir(), "slt-liveness-"));
const started: ChildProcess[] = [];
afterAll(() => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
});

const COORDINATOR_MAIN = join(import.meta.dirname, "liveness-coordinator.ts");

interface Island {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
}

interface End {
  summary?: { ticket: string; stopReason: string; lost: number[]; runDir: string };
  error?: string;
}

interface CoordinatorProcess {
  readonly child: ChildProcess;
  readonly islands: Island[];
  /** the coordinator's last line: its summary or its error */
  readonly end: Promise<End>;
  /** resolves when every island process has ended */
  islandsEnded(): Promise<(number | null)[]>;
}

function startIsland(joinUrl: string, secret: string, index: number): Island {
  const child = spawn(process.execPath, [ISLAND_MAIN, "--join", joinUrl], {
    env: { ...process.env, SLT_TOKEN: secret, SLT_ISLAND_INDEX: String(index), SLT_LOG_LEVEL: "warn" },
    stdio: ["ignore", "ignore", "ignore"],
  });
  started.push(child);
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  return { child, exited };
}

/** Runs a cluster whose coordinator is a child process; `onReport` hears every island report. */
function coordinatorProcess(
  name: string,
  patch: ConfigPatch,
  heartbeatTimeoutMs: number,
  onReport: (r: { island: number; generation: number }, coordinator: ChildProcess) => void,
): CoordinatorProcess {
  const arg = JSON.stringify({ out: work, name, patch, heartbeatTimeoutMs });
  const child = spawn(process.execPath, [COORDINATOR_MAIN, arg], { stdio: ["pipe", "pipe", "inherit"] });
  started.push(child);
  const islands: Island[] = [];
  let islandsStarted: () => void = () => {};
  const starting = new Promise<void>((done) => {
    islandsStarted = done;
  });
  const end = new Promise<End>((resolve) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      const m = JSON.parse(line);
      if (m.start) {
        for (let i = 0; i < m.start.n; i++) {
          const island = startIsland(m.start.joinUrl, m.start.secret, i);
          void island.exited.then((code) => {
            if (child.exitCode === null && child.stdin?.writable)
              child.stdin.write(`${JSON.stringify({ exit: i, code, signal: island.child.signalCode })}\n`);
          });
          islands.push(island);
        }
        islandsStarted();
      }
      if (m.kill !== undefined) islands[m.kill]?.child.kill("SIGKILL");
      if (m.report) onReport(m.report, child);
      if (m.summary || m.error) resolve(m);
    });
    child.once("exit", (code, signal) => resolve({ error: `coordinator ended (${code}, ${signal})` }));
  });
  return {
    child,
    islands,
    end,
    islandsEnded: async () => {
      await starting;
      return Promise.all(islands.map((i) => i.exited));
    },
  };
}

const cluster = { islands: 2, topology: "ring", interval: 2, migrants: 2 } as const;

describe("liveness both ways", () => {
  it("a coordinator paused longer than its heartbeat timeout keeps its islands and ends with a ticket", async () => {
    let pausedMs = 0;
    const run = coordinatorProcess(
      "paused",
      { termination: { maxGenerations: 200 }, cluster },
      1500,
      (r, coordinator) => {
        if (pausedMs === 0 && r.generation >= 4) {
          // the pause is the scenario: SIGSTOP for 4 s, more than twice the heartbeat timeout
          pausedMs = 4000;
          coordinator.kill("SIGSTOP");
          setTimeout(() => coordinator.kill("SIGCONT"), pausedMs);
        }
      },
    );
    const end = await run.end;
    expect(end.error).toBeUndefined();
    expect(pausedMs).toBe(4000);
    const summary = end.summary as NonNullable<End["summary"]>;
    expect(summary.lost).toEqual([]);
    expect(summary.stopReason).toBe("max-generations");
    expect(existsSync(summary.ticket)).toBe(true);
    const events = readFileSync(join(summary.runDir, "events.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(events.filter((e) => e.type === "lost")).toEqual([]);
    expect(await run.islandsEnded()).toEqual([0, 0]);
  }, 60_000);

  it("islands end within cluster.coordinatorTimeoutSeconds of a coordinator silenced for good", async () => {
    let stoppedAt = 0;
    const run = coordinatorProcess(
      "silenced",
      { termination: { maxGenerations: 1_000_000 }, cluster: { ...cluster, coordinatorTimeoutSeconds: 3 } },
      60_000,
      (_r, coordinator) => {
        if (stoppedAt === 0) {
          stoppedAt = performance.now();
          coordinator.kill("SIGSTOP"); // never resumed
        }
      },
    );
    const codes = await run.islandsEnded();
    const after = performance.now() - stoppedAt;
    expect(stoppedAt).toBeGreaterThan(0);
    expect(codes).toEqual([1, 1]); // given up, not stopped
    // not before the timeout: it counts from the last message an island heard, which can come up to a
    // heartbeat (1 s) before the SIGSTOP, and a loaded machine delays that heartbeat further (2468 ms
    // was seen against a bound of 2500), so the bound is the timeout less 1.5 s
    expect(after).toBeGreaterThanOrEqual(1500);
    expect(after).toBeLessThan(15_000);
    run.child.kill("SIGKILL");
    await run.end;
  }, 60_000);
});
