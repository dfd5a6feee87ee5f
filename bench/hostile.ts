// A hostile and faulty world at full scale (issue 10's "Done when"): each scenario runs against a real
// `slt run` child process (two island processes, moons [2,20,2], population 20, no termination rule, ended
// by SIGTERM) on loopback, and prints its figures:
//   silent     N silent TCP connections (default 1100) to the coordinator started under `ulimit -n L`
//              (default 1024, via `sh -c 'ulimit -n L && exec node …'`), held for 5 s; the run must go on
//              and, sent SIGTERM while the connections are still held, end with exit code 0 and its ticket
//   frames     N connections (default 1500) each sending an upgrade and 1 MiB of an unfinished frame; the
//              coordinator's resident memory before, at its peak (sampled every 20 ms) and after; growth
//              must stay under 100 MB
//   pause      the coordinator SIGSTOPped for S s (default 75) with the default timeouts; its islands must
//              be alive after SIGCONT, none lost, and the run must end with its ticket
//   silenced   the coordinator SIGSTOPped for good; the time until every island process has exited must
//              be at most its coordinator timeout (default: the islands' own default) plus 10 s
//   node_modules/.bin/node bench/hostile.ts [--json] [--quick] [--scenarios silent,frames,pause,silenced]
//       [--silent N] [--file-limit L] [--frames N] [--pause S] [--coordinator-timeout S]
// (or `npm run bench -- --only hostile`; not among the standard benchmarks: it takes about 8 minutes,
// the silenced scenario alone the islands' 300 s). --quick: 320 silent connections under `ulimit -n 256`,
// 200 frames, a 5 s pause, a 5 s coordinator timeout (a smoke run; its figures are not the issue's).
// Each figure carries `done_when`: whether the scenario met the bound. Linux only (/proc).
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import type { Socket } from "node:net";
import { join, resolve } from "node:path";
import { COORDINATOR_TIMEOUT_MS } from "../src/island/island.ts";
import { rss, silentFlood, unfinishedFrame } from "../test/cluster/flood-client.ts";
import {
  type BenchArgs,
  createReporter,
  flagValue,
  listValue,
  type Reporter,
  round,
  runMain,
  withTempDir,
} from "./common.ts";

const CLI = resolve(import.meta.dirname, "../src/cli.ts");
const SCENARIOS = ["silent", "frames", "pause", "silenced"] as const;
type Scenario = (typeof SCENARIOS)[number];
const MB = 1 << 20;
/** how long the silent connections are held before SIGTERM: well within the server's 10 s upgrade timeout */
const HOLD_S = 5;

interface Settings {
  readonly scenarios: readonly Scenario[];
  readonly silent: number;
  readonly fileLimit: number;
  readonly frames: number;
  readonly pauseS: number;
  /** the islands' coordinator timeout in the silenced scenario; null: their default */
  readonly coordinatorTimeoutS: number | null;
}

function settings(args: BenchArgs, argv: readonly string[]): Settings {
  const num = (flag: string, full: number, quick: number): number => {
    const v = flagValue(argv, flag);
    return v === undefined ? (args.quick ? quick : full) : Number(v);
  };
  const only = listValue(argv, "--scenarios") ?? [...SCENARIOS];
  const unknown = only.filter((s) => !(SCENARIOS as readonly string[]).includes(s));
  if (unknown.length > 0)
    throw new Error(`unknown scenario ${unknown.join(", ")}; known: ${SCENARIOS.join(", ")}`);
  const timeout = flagValue(argv, "--coordinator-timeout");
  return {
    scenarios: only as Scenario[],
    silent: num("--silent", 1100, 320),
    fileLimit: num("--file-limit", 1024, 256),
    frames: num("--frames", 1500, 200),
    pauseS: num("--pause", 75, 5),
    coordinatorTimeoutS: timeout !== undefined ? Number(timeout) : args.quick ? 5 : null,
  };
}

// ---- the run under attack ----

type RunEvent = Record<string, unknown> & { type: string };

/** every run started, so that one a failed scenario left behind (perhaps stopped) is killed at the end */
const started: ChildProcess[] = [];

interface Run {
  readonly child: ChildProcess;
  readonly output: { stdout: string; stderr: string };
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  readonly runDir: string;
  /** the complete lines of events.jsonl so far */
  events(): RunEvent[];
}

/** `slt run` of two islands that runs until stopped, under `ulimit -n fileLimit` when given. */
function startRun(out: string, name: string, fileLimit: number | null, extra: readonly string[] = []): Run {
  const args = [
    ...["run", "--dataset", "moons", "--arch", "2,20,2", "--population", "20", "--islands", "2"],
    ...["--generations", "100000000", "--termination", "none", "--time-limit", "3600", "--json"],
    ...["--out", out, "--name", name, ...extra],
  ];
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(" ");
  const limit = fileLimit === null ? "" : `ulimit -n ${fileLimit} && `;
  const child = spawn("sh", ["-c", `${limit}exec ${quoted}`], { stdio: ["ignore", "pipe", "pipe"] });
  const output = { stdout: "", stderr: "" };
  child.stdout?.on("data", (d) => {
    output.stdout += d;
  });
  child.stderr?.on("data", (d) => {
    output.stderr += d;
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((done) =>
    child.on("close", (code, signal) => done({ code, signal })),
  );
  started.push(child);
  const runDir = join(out, name);
  const events = (): RunEvent[] => {
    const file = join(runDir, "events.jsonl");
    if (!existsSync(file)) return [];
    const lines = readFileSync(file, "utf8").split("\n");
    return lines.filter((l) => l.endsWith("}")).map((l) => JSON.parse(l)); // the last may be half-written
  };
  return { child, output, exited, runDir, events };
}

/** Polls `check` every `everyMs` until it holds; fails after `timeoutMs` with `what`. */
async function waitFor(what: string, check: () => boolean, timeoutMs: number, everyMs = 100): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline)
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const reportCount = (run: Run, island?: number): number =>
  run.events().filter((e) => e.type === "report" && (island === undefined || e.island === island)).length;

interface UnderWay {
  readonly pid: number;
  readonly port: number;
  readonly islandPids: number[];
}

/** Waits until both islands are past their first generation; the coordinator's pid and port, the islands' pids. */
async function underWay(run: Run): Promise<UnderWay> {
  await waitFor(
    "both islands to report",
    () => {
      const past = run.events().filter((e) => e.type === "report" && (e.generation as number) > 0);
      if (run.child.exitCode !== null)
        throw new Error(`the run ended early:\n${run.output.stderr.slice(-2000)}`);
      return new Set(past.map((e) => e.island)).size === 2;
    },
    120_000,
  );
  const events = run.events();
  const start = events.find((e) => e.type === "start") as unknown as {
    coordinator: { pid: number; address: string };
  };
  const islandPids = events.filter((e) => e.type === "joined").map((e) => e.pid as number);
  return { pid: start.coordinator.pid, port: Number(new URL(start.coordinator.address).port), islandPids };
}

/** Waits until every island has sent `more` further reports (the run goes on). */
function goesOn(run: Run, more: number, timeoutMs: number): Promise<void> {
  const base = [0, 1].map((i) => reportCount(run, i));
  return waitFor(
    `${more} more reports from each island`,
    () => [0, 1].every((i) => reportCount(run, i) >= base[i] + more),
    timeoutMs,
  );
}

interface End {
  readonly exitCode: number | null;
  readonly stopReason: string | null;
  readonly ticket: boolean;
  readonly lost: number;
  readonly traces: boolean;
}

/** SIGTERM, then the run's end: exit code, stop reason, ticket, islands lost, stack traces on stderr. */
async function finish(run: Run): Promise<End> {
  run.child.kill("SIGTERM");
  const { code } = await run.exited;
  const last = run.output.stdout.trim().split("\n").pop() ?? "";
  let stopReason: string | null = null;
  try {
    stopReason = JSON.parse(last).stopReason ?? null;
  } catch {}
  return {
    exitCode: code,
    stopReason,
    ticket: existsSync(join(run.runDir, "ticket.json")),
    lost: run.events().filter((e) => e.type === "lost").length,
    traces: /unexpected error|\n\s+at /.test(run.output.stderr),
  };
}

const endFields = (e: End) => ({
  exit_code: e.exitCode,
  stop_reason: e.stopReason,
  ticket: e.ticket,
  lost_islands: e.lost,
  stack_traces: e.traces,
});
const endedWell = (e: End) => e.exitCode === 0 && e.ticket && e.stopReason === "interrupted" && !e.traces;

// ---- processes ----

/** A process's state (R, S, T, Z, …, or "gone") and, once a zombie, its exit code (Linux /proc). */
function processState(pid: number): { state: string; exitCode: number | null } {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return { state: "gone", exitCode: null };
  }
  // fields after the command name (in parentheses): 3 is the state, 52 the exit status as waitpid gives it
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const state = fields[0];
  const status = Number(fields[49]);
  return { state, exitCode: state === "Z" && Number.isFinite(status) ? status >> 8 : null };
}

const running = (pid: number) => !["Z", "X", "gone"].includes(processState(pid).state);

/** The open-file limit of a process (its soft limit). */
function fileLimitOf(pid: number): number {
  const m = /Max open files\s+(\d+)/.exec(readFileSync(`/proc/${pid}/limits`, "utf8"));
  return Number(m?.[1] ?? Number.NaN);
}

// ---- the scenarios ----

async function silentScenario(dir: string, s: Settings, out: Reporter): Promise<void> {
  const run = startRun(dir, "silent", s.fileLimit);
  const { pid, port } = await underWay(run);
  out.log(`silent: ${s.silent} silent connections to pid ${pid} (file limit ${fileLimitOf(pid)})`);
  const flood = silentFlood(port, s.silent);
  try {
    await waitFor(
      "every connection to connect or fail",
      () => flood.connected() + flood.failed() === s.silent,
      60_000,
    );
    // the flood is held for HOLD_S while the run goes on, and the run is ended while it is still held
    const before = [0, 1].map((i) => reportCount(run, i));
    await new Promise((r) => setTimeout(r, HOLD_S * 1000));
    await goesOn(run, 3, 60_000); // at least three reports of each island after the hold
    const reports = [0, 1].map((i) => reportCount(run, i) - before[i]);
    const closed = flood.closedByServer();
    const end = await finish(run);
    out.figure({
      figure: "silent-connections",
      connections: s.silent,
      file_limit: s.fileLimit,
      connected: flood.connected(),
      failed: flood.failed(),
      closed_by_coordinator: closed,
      held_at_sigterm: flood.connected() - closed,
      hold_s: HOLD_S,
      reports_per_island_meanwhile: reports,
      refusal_lines: run.output.stderr.split("\n").filter((l) => /refused/.test(l)).length,
      ...endFields(end),
      done_when: endedWell(end) && end.lost === 0,
    });
  } finally {
    flood.stop();
  }
}

async function framesScenario(dir: string, s: Settings, out: Reporter): Promise<void> {
  const run = startRun(dir, "frames", null);
  const { pid, port } = await underWay(run);
  out.log(`frames: ${s.frames} unfinished 1 MiB frames to pid ${pid} (file limit ${fileLimitOf(pid)})`);
  const before = rss(pid);
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rss(pid));
  }, 20);
  const sockets: Socket[] = [];
  const outcomes = { sent: 0, closed: 0, refused: 0 };
  try {
    const results = await Promise.all(Array.from({ length: s.frames }, () => unfinishedFrame(port, sockets)));
    for (const r of results) outcomes[r]++;
    peak = Math.max(peak, rss(pid));
  } finally {
    for (const sock of sockets) sock.destroy();
  }
  // after: once the run has gone on for a while with the connections gone
  await goesOn(run, 5, 60_000);
  clearInterval(sampler);
  const after = rss(pid);
  const end = await finish(run);
  const growth = (peak - before) / MB;
  out.figure({
    figure: "unfinished-frames",
    connections: s.frames,
    frame_bytes: MB,
    written_whole: outcomes.sent,
    closed_by_coordinator: outcomes.closed,
    refused: outcomes.refused,
    rss_before_mb: round(before / MB, 1),
    rss_peak_mb: round(peak / MB, 1),
    rss_after_mb: round(after / MB, 1),
    growth_mb: round(growth, 1),
    ...endFields(end),
    done_when: growth < 100 && endedWell(end),
  });
}

async function pauseScenario(dir: string, s: Settings, out: Reporter): Promise<void> {
  const run = startRun(dir, "pause", null);
  const { pid, islandPids } = await underWay(run);
  out.log(`pause: SIGSTOP pid ${pid} for ${s.pauseS} s (islands ${islandPids.join(", ")})`);
  run.child.kill("SIGSTOP");
  // the pause is the scenario, not a wait for something
  await new Promise((r) => setTimeout(r, s.pauseS * 1000));
  const aliveInPause = islandPids.filter(running).length;
  run.child.kill("SIGCONT");
  const resumed = performance.now();
  await goesOn(run, 3, 120_000);
  const secondsToReports = (performance.now() - resumed) / 1000;
  const aliveAfter = islandPids.filter(running).length;
  const end = await finish(run);
  out.figure({
    figure: "paused-coordinator",
    pause_s: s.pauseS,
    coordinator_timeout_s: COORDINATOR_TIMEOUT_MS / 1000,
    islands: islandPids.length,
    islands_alive_at_sigcont: aliveInPause,
    islands_alive_after: aliveAfter,
    seconds_to_new_reports: round(secondsToReports, 2),
    ...endFields(end),
    done_when: aliveAfter === islandPids.length && end.lost === 0 && endedWell(end),
  });
}

async function silencedScenario(dir: string, s: Settings, out: Reporter): Promise<void> {
  const timeoutS = s.coordinatorTimeoutS ?? COORDINATOR_TIMEOUT_MS / 1000;
  const extra =
    s.coordinatorTimeoutS === null ? [] : ["--coordinator-timeout", String(s.coordinatorTimeoutS)];
  const run = startRun(dir, "silenced", null, extra);
  const { pid, islandPids } = await underWay(run);
  out.log(
    `silenced: SIGSTOP pid ${pid} for good; islands ${islandPids.join(", ")} should end after ${timeoutS} s`,
  );
  run.child.kill("SIGSTOP");
  const stopped = performance.now();
  try {
    // the islands are the stopped coordinator's children: once ended they stay zombies, not running
    const exitedAt = new Map<number, number>();
    const allExited = () => {
      for (const p of islandPids) if (!exitedAt.has(p) && !running(p)) exitedAt.set(p, performance.now());
      return exitedAt.size === islandPids.length;
    };
    await waitFor("every island to exit", allExited, (timeoutS + 60) * 1000, 250);
    const seconds = (performance.now() - stopped) / 1000;
    out.figure({
      figure: "silenced-coordinator",
      coordinator_timeout_s: timeoutS,
      default_timeout: s.coordinatorTimeoutS === null,
      islands: islandPids.length,
      seconds_to_all_exited: round(seconds, 2),
      seconds_to_each_exit: islandPids.map((p) => round(((exitedAt.get(p) ?? 0) - stopped) / 1000, 2)),
      island_exit_codes: islandPids.map((p) => processState(p).exitCode),
      islands_running: islandPids.filter(running).length,
      done_when: seconds <= timeoutS + 10,
    });
  } finally {
    run.child.kill("SIGKILL"); // its zombies go to init, which reaps them
    await run.exited;
  }
}

const RUNNERS: Record<Scenario, (dir: string, s: Settings, out: Reporter) => Promise<void>> = {
  silent: silentScenario,
  frames: framesScenario,
  pause: pauseScenario,
  silenced: silencedScenario,
};

async function main(args: BenchArgs): Promise<void> {
  const out = createReporter("hostile", args);
  const s = settings(args, process.argv.slice(2));
  await withTempDir("slt-bench-hostile-", async (dir) => {
    for (const scenario of s.scenarios) {
      out.log(`${scenario}: starting`);
      const t0 = performance.now();
      await RUNNERS[scenario](dir, s, out);
      out.log(`${scenario}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  }).finally(() => {
    for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  });
}

runMain("hostile", main);
