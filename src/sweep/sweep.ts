// `slt sweep SPEC.json`: the runs of a spec (plan.ts), each a child `slt run --json` (or `slt baseline
// dense|edge-popup --json`, as its setting's command says; child.ts) in its own directory under the
// sweep's folder, as many at once as the core budget allows (schedule.ts), each finished run one line of
// sweep.jsonl (journal.ts). Running the same command again skips the runs recorded ok; a run started but
// not recorded (the sweep was stopped) continues with `slt resume` from its checkpoint, or, without one
// (a baseline never has one), starts again from scratch with its partial directory moved aside. A stop
// (SIGINT, SIGTERM) is passed to the running children as SIGTERM: each stops after its generation and
// writes its checkpoint; those runs are not recorded, so the next sweep continues them.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { E_CONFIG, SltError } from "../core/errors.ts";
import { readJsonFile } from "../io/json-file.ts";
import type { Logger } from "../io/log.ts";
import { formatDuration } from "../io/progress.ts";
import { writeReport } from "../report/report.ts";
import { type ChildResult, startSlt } from "./child.ts";
import { remainingSeconds, runningSeconds } from "./elapsed.ts";
import {
  appendRecord,
  checkSweepDir,
  lockSweepDir,
  moveAside,
  openSweepDir,
  readRecords,
  SWEEP_FILE,
  type SweepRecord,
} from "./journal.ts";
import { type Plan, type PlannedRun, planSweep, type SweepSetting } from "./plan.ts";
import { costOf, startable } from "./schedule.ts";
import { type CommandFlags, parseSpec, RUN_COMMAND, type SweepSpec } from "./spec.ts";

/** How a spec is run. */
export interface SweepRunOptions {
  /** the sweep's folder (default runs/sweeps/<name>) */
  readonly out?: string;
  /** the core budget: runs start while their costs fit in it (≥ 1) */
  readonly parallel: number;
  /** one line per started and finished run */
  readonly progress: NodeJS.WritableStream;
  readonly logger: Logger;
  /** stops the sweep: running children are asked to stop and checkpoint; nothing new starts */
  readonly signal?: AbortSignal;
  /** called with each record as it is appended to sweep.jsonl */
  readonly onRecord?: (record: SweepRecord) => void;
}

/** `slt sweep SPEC.json`. */
export interface SweepOptions extends SweepRunOptions {
  /** the spec file */
  readonly spec: string;
  /** the commands a setting may run and their options, which the spec's fields are checked against */
  readonly flags: CommandFlags;
}

export interface SweepResult {
  readonly sweep: string;
  readonly out: string;
  /** runs in the plan */
  readonly runs: number;
  /** recorded ok before this command */
  readonly alreadyDone: number;
  /** recorded ok by this command, and of those how many continued from a checkpoint */
  readonly ok: number;
  readonly resumed: number;
  readonly failed: number;
  /** stopped by a signal before every run was done */
  readonly interrupted: boolean;
  readonly wallSeconds: number;
  readonly sweepFile: string;
  /** the comparison of its runs, `<out>/report.html` (null: interrupted, or nothing to report) */
  readonly report: string | null;
}

/** Where a sweep's folder goes without --out. */
export const defaultSweepDir = (name: string): string => join("runs", "sweeps", name);

/** The spec file, read and checked (E_CONFIG in one line naming the file and the field). */
export function readSpec(path: string, flags: CommandFlags): SweepSpec {
  return parseSpec(readJsonFile(path, "sweep spec"), path, flags);
}

/**
 * The sweep's comparison (`slt report` over its runs recorded ok) as `<outDir>/report.html`; null when
 * there is no run to report. A report that cannot be written is logged, never a failed sweep: the runs
 * and sweep.jsonl are what matter, and `slt report` can make it again.
 */
export function writeSweepReport(
  outDir: string,
  runDirs: readonly string[],
  logger: Logger,
  baseline?: string,
): string | null {
  if (runDirs.length === 0) return null;
  try {
    return writeReport({ runDirs, out: join(outDir, "report.html"), baseline });
  } catch (e) {
    logger.warn({ outDir, reason: (e as Error).message }, "the sweep's report was not written");
    return null;
  }
}

/** `f` over `items`, at most `limit` at once, results in order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  f: (t: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let k = next++; k < items.length; k = next++) results[k] = await f(items[k]);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/**
 * Each setting's cost in cores, from a dry run of its first waiting run (`slt run --dry-run`, or its
 * baseline's `--dry-run`): the dry run resolves the island count as the run will (a default of one per
 * core included) and checks every value and the data before anything starts; a setting that would fail
 * is one E_CONFIG line naming it. A baseline trains on one core (its dry run's mode is "baseline …").
 */
async function settingCosts(
  waiting: readonly PlannedRun[],
  o: SweepRunOptions,
  source: string,
  out: string,
): Promise<Map<SweepSetting, SettingCost>> {
  const firsts = [...new Map(waiting.map((r) => [r.setting, r])).values()];
  const checked = await mapLimit(firsts, o.parallel, async (run) => ({
    run,
    result: await startSlt(run.setting.command, [...run.args, "--out", out, "--dry-run"]).done,
  }));
  const costs = new Map<SweepSetting, SettingCost>();
  for (const { run, result } of checked) {
    if (!result.ok)
      throw new SltError(
        E_CONFIG,
        `sweep spec ${source}: setting "${run.setting.name}": ${result.error.replace(/^slt: error /, "")}`,
      );
    const config = result.summary.config as { cluster: { islands: number } };
    const f = run.setting.fields;
    const cores = costOf({
      islands: result.summary.mode === "islands" ? config.cluster.islands : 1,
      threads: typeof f.threads === "number" ? f.threads : undefined,
      remote: f.launcher === "ssh" || f.launcher === "k8s",
    });
    // ssh islands go to the hosts file's hosts, first ones first: one run at a time per file
    const hosts = f.launcher === "ssh" && typeof f.hosts === "string" ? resolve(f.hosts) : undefined;
    costs.set(run.setting, { cores, hosts });
  }
  return costs;
}

/**
 * A run's start: fresh, continued from its checkpoint, or again from scratch with its partial directory
 * moved aside (a baseline has no checkpoint: a half-trained one always starts again).
 */
function startRun(run: PlannedRun, out: string, lastFailed: boolean, seconds: number | undefined) {
  const path = join(out, run.dir);
  const command = run.setting.command;
  if (!existsSync(path)) return { child: startSlt(command, [...run.args, "--out", out]), how: "" };
  const checkpoint =
    command === RUN_COMMAND &&
    ["checkpoint.json", "checkpoint.prev.json"].some((f) => existsSync(join(path, f)));
  // a run that failed starts again: its checkpoint may be what failed it
  if (checkpoint && !lastFailed) {
    // a wall-clock budget is the whole run's: the continued part gets what is left of it
    const events = join(path, "events.jsonl");
    const left =
      seconds === undefined || !existsSync(events)
        ? []
        : ["--time-limit", String(remainingSeconds(seconds, runningSeconds(readFileSync(events, "utf8"))))];
    return {
      child: startSlt("resume", [path, ...left]),
      how: ` (resuming from its checkpoint${left.length ? `, ${left[1]} s left of its time` : ""})`,
      resumed: true,
    };
  }
  const aside = moveAside(path);
  return {
    child: startSlt(command, [...run.args, "--out", out]),
    how: ` (again${command === RUN_COMMAND ? "" : " from scratch, a baseline has no checkpoint"}; the partial run is in ${aside})`,
  };
}

/** The text after a finished run's name. */
function outcome(r: ChildResult, seconds: number): string {
  if (!r.ok) return `FAILED: ${r.error}`;
  const s = r.summary;
  const test = typeof s.testAccuracy === "number" ? s.testAccuracy.toFixed(4) : "-";
  // a baseline's summary counts epochs as its evaluations (run/baseline.ts): say epochs
  const work = typeof s.method === "string" ? `${s.epochs} epochs` : `${s.evaluations} evaluations`;
  return `ok test ${test}, ${work} (${s.stopReason}) in ${Math.round(seconds)} s`;
}

interface Session {
  readonly o: SweepRunOptions;
  /** budget.seconds: a continued run gets what is left of it */
  readonly budgetSeconds: number | undefined;
  readonly out: string;
  readonly total: number;
  readonly failedBefore: ReadonlySet<string>;
  readonly started: number;
  stopping: boolean;
  done: number;
  finishedNow: number;
  ok: number;
  resumed: number;
  failed: number;
  readonly kills: Set<(signal: NodeJS.Signals) => void>;
}

/** Runs one planned run to its end and records it (unless the sweep's stop ended it). */
async function execute(s: Session, run: PlannedRun): Promise<void> {
  const began = performance.now();
  const { child, how, resumed } = startRun(run, s.out, s.failedBefore.has(run.dir), s.budgetSeconds);
  const kill = (signal: NodeJS.Signals) => child.kill(signal);
  s.kills.add(kill);
  s.o.progress.write(`start ${run.setting.name} s${run.seed}${how}\n`);
  const r = await child.done;
  s.kills.delete(kill);
  const interrupted = r.ok ? r.summary.stopReason === "interrupted" : s.stopping;
  if (interrupted) {
    const next = run.setting.command === RUN_COMMAND ? "continues it" : "trains it again from scratch";
    s.o.progress.write(`stopped ${run.setting.name} s${run.seed}: not recorded; the next sweep ${next}\n`);
    return;
  }
  // absolute, so the record names the run wherever the sweep was started from (--out may be relative)
  const runDir = resolve(s.out, run.dir);
  const record: SweepRecord = {
    setting: run.setting.name,
    fields: run.setting.fields,
    seed: run.seed,
    run: run.dir,
    runDir,
    status: r.ok ? "ok" : "failed",
    ...(r.ok ? { summary: r.summary } : { error: r.error }),
    resumed: resumed === true,
    time: new Date().toISOString(),
  };
  appendRecord(s.out, record);
  s.o.onRecord?.(record);
  s.done++;
  s.finishedNow++;
  if (r.ok) {
    s.ok++;
    if (resumed) s.resumed++;
  } else s.failed++;
  const elapsed = (performance.now() - s.started) / 1000;
  const left = s.total - s.done;
  const eta = left > 0 ? `, eta ${formatDuration((elapsed / s.finishedNow) * left)}` : "";
  const seconds = (performance.now() - began) / 1000;
  s.o.progress.write(
    `[${s.done}/${s.total}] ${run.setting.name} s${run.seed}: ${outcome(r, seconds)}${eta}\n`,
  );
}

/** A setting's runs' share of the machine: cores here, and the ssh hosts file whose hosts they hold. */
interface SettingCost {
  readonly cores: number;
  readonly hosts?: string;
}

/** Starts the waiting runs as the core budget allows, until all are done or the sweep is stopped. */
async function schedule(s: Session, waiting: PlannedRun[], costs: ReadonlyMap<SweepSetting, SettingCost>) {
  const running = new Set<Promise<void>>();
  const busy = new Set<string>();
  let used = 0;
  const stopped = new Promise<void>((wake) => {
    const stop = () => {
      s.stopping = true;
      for (const kill of s.kills) kill("SIGTERM");
      wake();
    };
    if (s.o.signal?.aborted) stop();
    else s.o.signal?.addEventListener("abort", stop, { once: true });
  });
  while (waiting.length > 0 && !s.stopping) {
    const cost = (r: PlannedRun) => Math.min(costs.get(r.setting)?.cores ?? 1, s.o.parallel);
    const hosts = waiting.map((r) => costs.get(r.setting)?.hosts);
    const n = startable(waiting.map(cost), used, s.o.parallel, hosts, busy);
    for (const run of waiting.splice(0, n)) {
      const c = cost(run);
      const h = costs.get(run.setting)?.hosts;
      used += c;
      if (h !== undefined) busy.add(h);
      const p: Promise<void> = execute(s, run).finally(() => {
        used -= c;
        if (h !== undefined) busy.delete(h);
        running.delete(p);
      });
      running.add(p);
    }
    await Promise.race([...running, stopped]);
  }
  await Promise.all(running);
}

/** What `slt sweep --dry-run` found: every setting valid, and what would run. */
export interface SweepDryRun {
  readonly dryRun: true;
  readonly sweep: string;
  readonly out: string;
  readonly runs: number;
  readonly alreadyDone: number;
  readonly settings: readonly {
    readonly name: string;
    readonly slug: string;
    /** cores each of its runs would keep busy */
    readonly cost: number;
    readonly runs: number;
    /** the `slt` command of its runs ("run", "baseline dense", …) and its arguments */
    readonly command: string;
    readonly args: readonly string[];
    /** the spec has a budget, which its runs do not get (a baseline trains its epochs) */
    readonly unbudgeted: boolean;
  }[];
}

/**
 * The spec checked as a sweep checks it before it starts (every setting with a dry run of its command,
 * and the folder's spec.json), and what would run; nothing is run or written.
 */
export async function dryRunSweep(spec: SweepSpec, source: string, o: SweepRunOptions): Promise<SweepDryRun> {
  const plan = planSweep(spec, source);
  const out = o.out ?? defaultSweepDir(spec.name);
  checkSweepDir(out, spec, source);
  const latest = new Map(readRecords(out, (line) => o.logger.warn(line)).map((r) => [r.run, r]));
  const costs = await settingCosts(plan.runs, o, source, out);
  return {
    dryRun: true,
    sweep: spec.name,
    out,
    runs: plan.runs.length,
    alreadyDone: plan.runs.filter((r) => latest.get(r.dir)?.status === "ok").length,
    settings: plan.settings.map((s) => ({
      name: s.name,
      slug: s.slug,
      cost: costs.get(s)?.cores ?? 1,
      runs: plan.runs.filter((r) => r.setting === s).length,
      command: s.command,
      args: s.args,
      unbudgeted: s.unbudgeted,
    })),
  };
}

/** What a sweep says of a setting the budget does not apply to. */
const UNBUDGETED = " (no budget: the budget is slt run's; a baseline trains its epochs)";

/** A dry run as lines for people. */
export function formatSweepDryRun(d: SweepDryRun): string {
  return [
    `slt: sweep dry run: the spec and its ${d.settings.length} settings are valid; nothing was run or written`,
    `  folder    ${d.out} (${d.alreadyDone} of ${d.runs} runs done)`,
    ...d.settings.map(
      (s) =>
        `  ${s.name}: ${s.runs} runs of ${s.cost} core${s.cost === 1 ? "" : "s"} in ${s.slug}-s<seed>: slt ${s.command} ${s.args.join(" ")}${s.unbudgeted ? UNBUDGETED : ""}`,
    ),
    "",
  ].join("\n");
}

/** `slt sweep SPEC.json`: the spec file read, checked and run. */
export function runSweep(o: SweepOptions): Promise<SweepResult> {
  return sweepSpec(readSpec(o.spec, o.flags), o.spec, o);
}

/** Runs the sweep of a spec (read from `source`, for messages); see the file's comment. */
export async function sweepSpec(spec: SweepSpec, source: string, o: SweepRunOptions): Promise<SweepResult> {
  const plan = planSweep(spec, source);
  const out = o.out ?? defaultSweepDir(spec.name);
  // refused before anything is made; checked again once the folder is this sweep's, then spec.json written
  checkSweepDir(out, spec, source);
  mkdirSync(out, { recursive: true });
  const unlock = lockSweepDir(out);
  try {
    openSweepDir(out, spec, source);
    return await sweepLocked(spec, source, plan, out, o);
  } finally {
    unlock();
  }
}

/** The sweep, once its folder is its own. */
async function sweepLocked(
  spec: SweepSpec,
  source: string,
  plan: Plan,
  out: string,
  o: SweepRunOptions,
): Promise<SweepResult> {
  const records = readRecords(out, (line) => o.logger.warn(line));
  const latest = new Map(records.map((r) => [r.run, r]));
  const okBefore = plan.runs.filter((r) => latest.get(r.dir)?.status === "ok");
  const waiting = plan.runs.filter((r) => latest.get(r.dir)?.status !== "ok");
  const s: Session = {
    o,
    budgetSeconds: spec.budget?.seconds,
    out,
    total: plan.runs.length,
    failedBefore: new Set([...latest.values()].filter((r) => r.status === "failed").map((r) => r.run)),
    started: performance.now(),
    stopping: false,
    done: okBefore.length,
    finishedNow: 0,
    ok: 0,
    resumed: 0,
    failed: 0,
    kills: new Set(),
  };
  o.progress.write(
    `sweep ${spec.name}: ${okBefore.length} of ${plan.runs.length} runs already done${waiting.length > 0 ? `; ${waiting.length} to run in ${out}, ${o.parallel} cores` : ""}\n`,
  );
  if (waiting.length > 0) {
    const settings = new Set(waiting.map((r) => r.setting));
    const commands = [...new Set([...settings].map((t) => `slt ${t.command} --dry-run`))].join(", ");
    o.progress.write(`checking ${settings.size} setting${settings.size === 1 ? "" : "s"} with ${commands}\n`);
    for (const t of settings) if (t.unbudgeted) o.progress.write(`${t.name}${UNBUDGETED}\n`);
    await schedule(s, waiting, await settingCosts(waiting, o, source, out));
    const time = formatDuration((performance.now() - s.started) / 1000);
    o.progress.write(
      `sweep ${spec.name}: ${s.ok} ok${s.failed > 0 ? `, ${s.failed} failed` : ""} in ${time}; ${s.done} of ${s.total} runs recorded in ${join(out, SWEEP_FILE)}\n`,
    );
  }
  // a run stopped by a signal (to the sweep, or to the run alone) is not recorded: the sweep is not done
  const interrupted = s.done < s.total;
  // the report is made again every time (about a second): a changed baseline shows, and it lists the
  // failed and unfinished runs of the plan too
  const dirs = plan.runs.map((r) => resolve(out, r.dir)).filter((d) => existsSync(d));
  const report = interrupted ? null : writeSweepReport(out, dirs, o.logger, spec.baseline);
  if (report !== null) o.progress.write(`report: ${report}\n`);
  return {
    sweep: spec.name,
    out,
    runs: plan.runs.length,
    alreadyDone: okBefore.length,
    ok: s.ok,
    resumed: s.resumed,
    failed: s.failed,
    interrupted,
    wallSeconds: (performance.now() - s.started) / 1000,
    sweepFile: join(out, SWEEP_FILE),
    report,
  };
}
