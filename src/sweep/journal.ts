// A sweep's folder: `spec.json` (the spec it runs, so a re-run can tell it is the same sweep) and
// `sweep.jsonl` (one line per finished run, appended and fsynced, so a crash loses no finished run and
// a re-run knows which are done). The record is the run's result as the sweep saw it.
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { E_CONFIG, SltError } from "../core/errors.ts";
import { dropTornLine } from "../io/run-dir.ts";
import { type Fields, parseSpec, type SweepSpec, specDifference } from "./spec.ts";

export const SWEEP_FILE = "sweep.jsonl";
export const SPEC_FILE = "spec.json";
export const LOCK_FILE = "sweep.lock";

/** One line of sweep.jsonl. */
export interface SweepRecord {
  /** the setting's name: "topology=ring,interval=5" */
  readonly setting: string;
  /** every run field of the setting (base and its own) */
  readonly fields: Fields;
  readonly seed: number;
  /** the run directory's name under the sweep's folder, and its path */
  readonly run: string;
  readonly runDir: string;
  readonly status: "ok" | "failed";
  /** failed: the run's error line */
  readonly error?: string;
  /** continued from its checkpoint with `slt resume` (a run the sweep had started before) */
  readonly resumed: boolean;
  /** ok: the run's `--json` summary (trainAccuracy, testAccuracy, sparsity, evaluations, stopReason, …) */
  readonly summary?: Record<string, unknown>;
  /** when the run finished (ISO 8601) */
  readonly time: string;
}

/**
 * The records of sweep.jsonl (none when it does not exist). A line that is not a record (a write cut
 * short by a crash) is skipped and reported through `warn`.
 */
export function readRecords(dir: string, warn: (line: string) => void): SweepRecord[] {
  const file = join(dir, SWEEP_FILE);
  if (!existsSync(file)) return [];
  const records: SweepRecord[] = [];
  readFileSync(file, "utf8")
    .split("\n")
    .forEach((line, i) => {
      if (line.trim() === "") return;
      try {
        const r = JSON.parse(line) as SweepRecord;
        if (typeof r.run !== "string" || (r.status !== "ok" && r.status !== "failed")) throw new Error();
        records.push(r);
      } catch {
        warn(`${file}:${i + 1} is not a run record; it is ignored`);
      }
    });
  return records;
}

/** Appends one record to sweep.jsonl and waits for the disk. */
export function appendRecord(dir: string, record: SweepRecord): void {
  dropTornLine(join(dir, SWEEP_FILE)); // a record torn by a kill: its run is done again
  const fd = openSync(join(dir, SWEEP_FILE), "a");
  try {
    writeSync(fd, `${JSON.stringify(record)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Makes the sweep's folder for `spec` (read from `source`), after `checkSweepDir`; then spec.json is
 * written.
 */
export function openSweepDir(dir: string, spec: SweepSpec, source: string): void {
  checkSweepDir(dir, spec, source);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, SPEC_FILE);
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(spec, null, 2)}\n`);
  renameSync(tmp, file);
}

/**
 * A folder holding another spec's sweep is refused in one line naming the field that differs (more seeds
 * are the same sweep, extended). Writes nothing.
 */
export function checkSweepDir(dir: string, spec: SweepSpec, source: string): void {
  const file = join(dir, SPEC_FILE);
  if (existsSync(file)) {
    let recorded: SweepSpec;
    try {
      recorded = parseSpec(JSON.parse(readFileSync(file, "utf8")), file);
    } catch (e) {
      throw new SltError(
        E_CONFIG,
        `--out ${dir}: its ${SPEC_FILE} cannot be read back (${(e as Error).message}); give another --out`,
      );
    }
    const field = specDifference(recorded, spec);
    if (field !== null)
      throw new SltError(
        E_CONFIG,
        `--out ${dir} holds the sweep of another spec (its ${SPEC_FILE} differs from ${source} in "${field}"); give another --out, or run that spec again`,
      );
  }
}

/** Moves a run directory aside as `<dir>.partial-<n>` (the first n free) and returns the new path. */
export function moveAside(path: string): string {
  for (let n = 1; ; n++) {
    const to = `${path}.partial-${n}`;
    if (!existsSync(to)) {
      renameSync(path, to);
      return to;
    }
  }
}

/** Whether process `pid` exists on this host. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes the sweep's folder for this process (`sweep.lock`, holding its pid): two sweeps in one folder
 * would run the same runs twice. A lock whose process is gone (a sweep killed with SIGKILL) is taken
 * over. Returns the release.
 */
export function lockSweepDir(dir: string): () => void {
  const file = join(dir, LOCK_FILE);
  for (;;) {
    try {
      const fd = openSync(file, "wx");
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const pid = Number.parseInt(readFileSync(file, "utf8"), 10);
    if (Number.isInteger(pid) && pid > 0 && alive(pid))
      throw new SltError(
        E_CONFIG,
        `--out ${dir}: another slt sweep (pid ${pid}) is running in this folder; wait for it to end or stop it (its ${LOCK_FILE} says so)`,
      );
    rmSync(file, { force: true });
  }
}
