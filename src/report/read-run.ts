// Reading the run directories `slt report` compares: each run's config.json (checked with the
// configuration schema, core/config.ts), events.jsonl and ticket.json (parsed and checked by
// core/ticket.ts), and a directory of runs (a sweep) expanded to its run directories. A run that was
// killed may end in a torn last line of events.jsonl (the line is dropped) and has no ticket.json (the run
// is then counted as interrupted); anything else missing or malformed is one E_REPORT line naming the file.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Config, ConfigSchema } from "../core/config.ts";
import { E_REPORT, SltError } from "../core/errors.ts";
import { type TicketMetrics, ticketFromJson } from "../core/ticket.ts";
import { parseEvents, type RunEvent } from "../io/run-dir.ts";

export type { RunEvent } from "../io/run-dir.ts";

/** One run directory as a report sees it. */
export interface RunRecord {
  readonly dir: string;
  /** config.json, checked and with the schema's defaults filled in */
  readonly config: Config;
  readonly events: readonly RunEvent[];
  /** ticket.json's metrics and prune mode; null when the run has none (killed or failed) */
  readonly ticket: { readonly metrics: TicketMetrics; readonly pruneMode: string } | null;
  /** the `end` event, null when the run did not end */
  readonly end: RunEvent | null;
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new SltError(E_REPORT, `cannot read ${file} (${why}): ${what}`);
  }
}

function parseJsonFile(file: string, what: string): unknown {
  const text = readText(file, what);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SltError(E_REPORT, `${file} is not valid JSON: ${(e as Error).message}`);
  }
}

function readConfig(dir: string): Config {
  const file = join(dir, "config.json");
  const parsed = ConfigSchema.safeParse(parseJsonFile(file, "a run directory holds config.json"));
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new SltError(
      E_REPORT,
      `${file} is not a run's configuration: ${first.path.join(".") || "(top level)"}: ${first.message}`,
    );
  }
  return parsed.data;
}

/** Reads one run directory (see the file comment). */
export function readRun(runDir: string): RunRecord {
  const dir = resolve(runDir);
  const config = readConfig(dir);
  const eventsFile = join(dir, "events.jsonl");
  const events = parseEvents(readText(eventsFile, "a run directory holds events.jsonl"), eventsFile);
  const ticketFile = join(dir, "ticket.json");
  let ticket: RunRecord["ticket"] = null;
  if (existsSync(ticketFile)) {
    const t = ticketFromJson(parseJsonFile(ticketFile, "the run's ticket"), ticketFile);
    ticket = { metrics: t.metrics, pruneMode: t.pruneMode };
  }
  const end = events.findLast((e) => e.type === "end") ?? null;
  return { dir, config, events, ticket, end };
}

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();
const isRunDir = (p: string) => existsSync(join(p, "config.json"));

/** `slt sweep`'s name for a run's directory it moved aside to start the run again (`<dir>.partial-<n>`). */
const SUPERSEDED = /\.partial-\d+$/;

/**
 * The run directories the arguments name: a run directory (it holds config.json) as it is; a directory
 * of runs (a sweep's output, `slt reproduce`'s) as the run directories right below it, in name order,
 * but for the attempts a sweep moved aside and ran again (they would count twice). Each directory once,
 * in the order given.
 */
export function expandRunDirs(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    const dir = resolve(p);
    if (!isDir(dir))
      throw new SltError(E_REPORT, `${p} is not a directory: give run directories or a sweep's`);
    if (isRunDir(dir)) {
      out.push(dir);
      continue;
    }
    const below = readdirSync(dir)
      .filter((name) => !SUPERSEDED.test(name))
      .sort()
      .map((name) => join(dir, name))
      .filter((d) => isDir(d) && isRunDir(d));
    if (below.length === 0)
      throw new SltError(
        E_REPORT,
        `${p} is neither a run directory (no config.json) nor a directory of runs (none below it)`,
      );
    out.push(...below);
  }
  return [...new Set(out)];
}

/** A line of a sweep's sweep.jsonl, as far as a report uses it. */
export interface SweepLine {
  readonly setting: string;
  readonly runDir: string;
}

/**
 * The setting name of each run a sweep recorded (sweep.jsonl in `sweepDir`, written by `slt sweep`:
 * one JSON object per finished run with `setting` and the run's directory), keyed by resolved run
 * directory; empty when there is no sweep.jsonl. Lines without both fields, and a torn last line, are
 * skipped: the names are only labels, the grouping comes from the runs' configurations.
 */
export function readSweepSettings(sweepDir: string): Map<string, string> {
  const file = join(sweepDir, "sweep.jsonl");
  const names = new Map<string, string>();
  if (!existsSync(file)) return names;
  for (const line of readText(file, "a sweep's record").split("\n")) {
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    // `run` is the run's folder in the sweep's; `runDir` may be relative to where the sweep was started
    const dir = value?.run ?? value?.runDir ?? value?.dir;
    if (typeof value?.setting === "string" && typeof dir === "string")
      names.set(resolve(sweepDir, dir), value.setting);
  }
  return names;
}

/** A run's final figures, from its `end` event, its last event and its ticket. */
export interface RunFigures {
  /** ok: it ended and wrote its ticket; interrupted: killed, failed, or stopped with Ctrl-C */
  readonly status: "ok" | "interrupted";
  readonly stopReason: string | null;
  readonly evaluations: number | null;
  readonly generations: number | null;
  /** the last event's `t`: seconds from the start to the end, pruning included */
  readonly wallSeconds: number | null;
  /** test accuracy of the best-on-training individual (before any pruning), as the run's summary gives it */
  readonly testAccuracy: number | null;
  /** its sparsity (fraction of weights masked) */
  readonly sparsity: number | null;
  /** the pruned ticket's test accuracy and sparsity; null when the run did not prune */
  readonly prunedTestAccuracy: number | null;
  readonly prunedSparsity: number | null;
}

const numberOf = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** The run's final figures (see RunFigures). */
export function runFigures(run: RunRecord): RunFigures {
  const m = run.ticket?.metrics ?? {};
  const pruned = run.ticket !== null && run.ticket.pruneMode !== "none";
  const stopReason = typeof run.end?.stopReason === "string" ? run.end.stopReason : null;
  const ok = run.ticket !== null && run.end !== null && stopReason !== "interrupted";
  return {
    status: ok ? "ok" : "interrupted",
    stopReason,
    evaluations: numberOf(run.end?.evaluations),
    generations: numberOf(run.end?.generations),
    wallSeconds: numberOf(run.events[run.events.length - 1]?.t),
    testAccuracy: numberOf(m.bestOnTrainTestAccuracy ?? m.testAccuracy),
    sparsity: numberOf(m.evolvedSparsity ?? m.sparsity),
    prunedTestAccuracy: pruned ? numberOf(m.testAccuracy) : null,
    prunedSparsity: pruned ? numberOf(m.sparsity) : null,
  };
}
