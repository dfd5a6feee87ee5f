// What the cluster tests share: for in-process runs, a small resolved configuration (digits-3,
// population 20, no pruning, seed 5) written under a scratch directory, and a run's events read back
// from events.jsonl; for runs of the CLI in a child process (flood, fuzz), a long run to act on and its
// progress (its memory: rss in flood-client.ts).
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ClusterSummary } from "../../src/coordinator/cluster.ts";
import { type ConfigPatch, resolveConfig } from "../../src/core/config.ts";
import { CLI, type RunEvent, runEvents as runEventsSoFar } from "../cli/helpers.ts";

export function clusterConfig(out: string, name: string, patch: ConfigPatch) {
  return resolveConfig({
    source: "test",
    patch: {
      name,
      out,
      seed: 5,
      dataset: { name: "digits-3" },
      ga: { population: 20 },
      prune: "none",
      ...patch,
    },
  });
}

export function runEvents(summary: ClusterSummary): Record<string, unknown>[] {
  return readFileSync(join(summary.runDir, "events.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
}

/** A `slt run` in a child process, its output gathered as it comes. */
export interface LiveRun {
  readonly child: ChildProcess;
  readonly out: { stdout: string; stderr: string };
  /** resolves with the exit code */
  readonly closed: Promise<number | null>;
  /** the run's events so far */
  events(): RunEvent[];
}

/**
 * `slt run --json` of 2 islands (moons, 2,20,2, population 20) that would go on for 2 minutes: a test
 * acts on it while it runs and ends it with SIGTERM. `ulimit`: the child's file limit (`ulimit -n`);
 * `args`: more options of `slt run`.
 */
export function startLongRun(
  out: string,
  name: string,
  options: { env?: NodeJS.ProcessEnv; ulimit?: number; args?: readonly string[] } = {},
): LiveRun {
  const args = [
    ...["run", "--dataset", "moons", "--arch", "2,20,2", "--population", "20", "--islands", "2"],
    ...["--generations", "1000000", "--termination", "none", "--time-limit", "120", "--json"],
    ...["--out", out, "--name", name],
    ...(options.args ?? []),
  ];
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(" ");
  // exec: the CLI is the child itself, so that the test's SIGTERM reaches it
  const command = `${options.ulimit === undefined ? "" : `ulimit -n ${options.ulimit} && `}exec ${quoted}`;
  const child = spawn("sh", ["-c", command], {
    env: options.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const text = { stdout: "", stderr: "" };
  child.stdout?.on("data", (d) => {
    text.stdout += d;
  });
  child.stderr?.on("data", (d) => {
    text.stderr += d;
  });
  const closed = new Promise<number | null>((done) => child.on("close", (code) => done(code)));
  return { child, out: text, closed, events: () => runEventsSoFar(out, name) };
}

/** Resolves once `check()` holds, tested on each chunk of the child's stderr. */
export function whenStderr(child: ChildProcess, check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (check()) resolve();
    const on = () => {
      if (!check()) return;
      child.stderr?.off("data", on);
      resolve();
    };
    child.stderr?.on("data", on);
  });
}

/** Resolves once both islands of `run` have reported a generation past their first. */
export function underWay(run: LiveRun): Promise<void> {
  return whenStderr(run.child, () => {
    const past = run.events().filter((e) => e.type === "report" && (e.generation as number) > 0);
    return new Set(past.map((e) => e.island)).size === 2;
  });
}
