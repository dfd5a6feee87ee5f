// The run directory runs/<name>/: config.json, events.jsonl, ticket.json. Files are written whole
// (temp file + rename) so a crash never leaves a half-written config or ticket behind.
//
// Every event gets its times here, in one place, for every mode: `t`, seconds since the run started
// (millisecond resolution), and `time`, the absolute time in ISO 8601 UTC with milliseconds. Both come
// from one reading of one monotonic clock, so `time` never goes backwards and time − t is the start.
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { E_CHECKPOINT, E_REPORT, SltError } from "../core/errors.ts";

/** Milliseconds since the Unix epoch, never decreasing. */
export type Clock = () => number;

/** The wall clock at process start, advanced by the monotonic clock (no steps when the system clock is set). */
export const monotonicClock: Clock = () => performance.timeOrigin + performance.now();

export interface RunDirOptions {
  readonly clock?: Clock;
  /** when the run started, on `clock` (default: now) */
  readonly startedAt?: number;
}

export interface RunDir {
  readonly path: string;
  /** the run's start, ISO 8601 UTC with milliseconds */
  readonly startTime: string;
  writeJson(file: string, value: unknown): string;
  /** appends the event with its `t` and `time`, and returns it as written */
  appendEvent(event: Record<string, unknown>): Record<string, unknown>;
  /** closes events.jsonl (a later appendEvent opens it again) */
  close(): void;
}

// events.jsonl is opened once and kept open: an append then needs no new file descriptor, so a
// connection flood that exhausts them (EMFILE) can never fail an event write and so end the run. A
// RunDir nobody closes (a test's, a command that returned) has its descriptor closed once its appendEvent
// (which callers take on its own) is collected.
const openEvents = new FinalizationRegistry<{ fd: number | null }>((held) => {
  if (held.fd !== null) closeSync(held.fd);
  held.fd = null;
});

/**
 * Writes `value` as JSON to `path` whole: a temporary file beside it, flushed to disk, renamed over
 * `path`, and the directory flushed so the rename itself survives a power loss. On failure (full disk,
 * no permission) the temporary file is removed and the error thrown; `path` keeps its old content.
 */
export function writeJsonAtomic(path: string, value: unknown): void {
  const text = `${JSON.stringify(value, null, 2)}\n`;
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fd = openSync(tmp, "w");
    try {
      writeFileSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDirectory(dirname(path));
}

/** Flushes a directory's entries; where directories cannot be opened or flushed (Windows) it is a no-op. */
function fsyncDirectory(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, "r");
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // EINVAL/EPERM/EISDIR: the platform does not flush directories this way
  } finally {
    closeSync(fd);
  }
}

/** The event as events.jsonl holds it: its fields, then `t` and `time` at clock reading `now`. */
export function timedEvent(
  event: Record<string, unknown>,
  startedAt: number,
  now: number,
): Record<string, unknown> {
  return { ...event, t: Math.round(now - startedAt) / 1000, time: new Date(now).toISOString() };
}

/**
 * The directory a run named `name` gets under `out`: `<out>/<name>`, or, since an existing run directory
 * is never overwritten, the first free of `<name>-2`, `<name>-3`, ...
 */
export function runDirPath(out: string, name: string): string {
  let path = resolve(out, name);
  for (let k = 2; existsSync(path); k++) path = resolve(out, `${name}-${k}`);
  return path;
}

/** Creates the run directory `runDirPath(out, name)` with an empty events.jsonl. */
export function createRunDir(out: string, name: string, options: RunDirOptions = {}): RunDir {
  mkdirSync(out, { recursive: true });
  const path = runDirPath(out, name);
  mkdirSync(path);
  writeFileSync(join(path, "events.jsonl"), "");
  return runDirAt(path, options);
}

/**
 * An existing run directory, continued (a resumed run): events are appended to its events.jsonl, and
 * `startedAt` should be the run's original start, so that `t` goes on counting from it.
 */
export function openRunDir(path: string, options: RunDirOptions = {}): RunDir {
  if (!existsSync(join(path, "events.jsonl")))
    throw new SltError(E_CHECKPOINT, `${path} is not a run directory: it has no events.jsonl`);
  dropTornLine(join(path, "events.jsonl"));
  return runDirAt(resolve(path), options);
}

/**
 * Drops a torn last line of a JSON-lines file (a write cut by a kill: no newline at its end) before lines
 * are appended to it, so that the next line stands alone; the torn bytes are part of no whole record.
 * Returns how many bytes went (0: the file ended in a newline, is empty or is absent).
 */
export function dropTornLine(path: string): number {
  if (!existsSync(path)) return 0;
  const text = readFileSync(path);
  if (text.length === 0 || text[text.length - 1] === 0x0a) return 0;
  const keep = text.lastIndexOf(0x0a) + 1;
  truncateSync(path, keep);
  return text.length - keep;
}

function runDirAt(path: string, options: RunDirOptions): RunDir {
  const clock = options.clock ?? monotonicClock;
  const startedAt = options.startedAt ?? clock();
  const events = join(path, "events.jsonl");
  const held: { fd: number | null } = { fd: openSync(events, "a") };
  const appendEvent = (event: Record<string, unknown>): Record<string, unknown> => {
    const full = timedEvent(event, startedAt, clock());
    held.fd ??= openSync(events, "a");
    // O_APPEND: every write lands at the end; a short write (never seen on a file) goes on from there
    const line = Buffer.from(`${JSON.stringify(full)}\n`);
    for (let at = 0; at < line.length; ) at += writeSync(held.fd, line, at);
    return full;
  };
  openEvents.register(appendEvent, held);
  return {
    path,
    startTime: new Date(startedAt).toISOString(),
    writeJson(file, value) {
      const target = join(path, file);
      writeJsonAtomic(target, value);
      return target;
    },
    appendEvent,
    close() {
      if (held.fd !== null) closeSync(held.fd);
      held.fd = null;
    },
  };
}

/** One line of events.jsonl, as read back. */
export type RunEvent = Record<string, unknown> & { readonly type: string };

/**
 * The events of an events.jsonl text, one JSON object with a string `type` per line. A last line without
 * its newline that does not parse is a write torn by a kill, and is dropped; any other bad line is an
 * error naming the file and the line.
 */
export function parseEvents(text: string, file: string): RunEvent[] {
  const lines = text.split("\n");
  const torn = !text.endsWith("\n") && lines.length > 0 ? lines.length - 1 : -1;
  const events: RunEvent[] = [];
  for (let k = 0; k < lines.length; k++) {
    if (lines[k].trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(lines[k]);
    } catch (e) {
      if (k === torn) break;
      throw new SltError(E_REPORT, `${file}:${k + 1}: not a JSON line: ${(e as Error).message}`);
    }
    if (typeof value !== "object" || value === null || typeof (value as RunEvent).type !== "string")
      throw new SltError(E_REPORT, `${file}:${k + 1}: not an event (a JSON object with a "type")`);
    events.push(value as RunEvent);
  }
  return events;
}
