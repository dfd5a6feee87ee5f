// The one logger of coordinator and islands: pino. Records are JSON objects (level, time, msg and
// fields such as island, host, pid); where they go is decided here, once, by the logger's sink:
// - a file: JSON lines, the run directory's log.jsonl. The CLI makes its logger before the run
//   directory exists, so the file is attached later (attachLogFile); records logged before that wait in
//   a bounded buffer and are written first. Writes are synchronous, so a crash loses no record that was
//   logged before it.
// - stderr: readable lines through pino-pretty, each record one whole synchronous write, so that it
//   never lands in the middle of a progress line (progress lines are whole writes too).
// - extra destinations, e.g. an island's link to its coordinator (island/log-link.ts).
// The run secret never leaves the process in a record: fields named like a secret are censored by
// pino's `redact`, and redactSecret(logger, value) replaces the value itself wherever it would appear.
// Call sites log structured records, `logger.warn({ island: 3, reason }, "island lost")`, never
// preformatted strings.
import { closeSync, openSync, writeSync } from "node:fs";
import pino, { type DestinationStream, type Level, type Logger } from "pino";
import { prettyFactory } from "pino-pretty";
import { E_CONFIG, SltError } from "../core/errors.ts";

export type { Logger };

export type LogLevel = Level | "silent";

export const LOG_LEVELS: readonly LogLevel[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

export function isLogLevel(s: unknown): s is LogLevel {
  return typeof s === "string" && (LOG_LEVELS as readonly string[]).includes(s);
}

/** `value` as a log level, or E_CONFIG naming `where` (a flag or an environment variable). */
export function parseLogLevel(value: string, where: string): LogLevel {
  const level = value.trim().toLowerCase();
  if (!isLogLevel(level))
    throw new SltError(E_CONFIG, `${where}: got "${value}"; expected one of ${LOG_LEVELS.join(", ")}`);
  return level;
}

/** Field names whose values are censored in every record (top level and one or two levels down). */
export const REDACTED_KEYS: readonly string[] = ["secret", "token", "SLT_TOKEN", "authorization"];
export const REDACTED = "[redacted]";
const REDACT_PATHS = REDACTED_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

/** Records held before a file is attached, at most (the oldest are kept; later ones are counted). */
export const MAX_PENDING_BYTES = 4 << 20;

/** The time of the record being written, when it is not now (records relayed from islands). */
let recordTime: number | null = null;

const isoTime = () => `,"time":"${new Date(recordTime ?? Date.now()).toISOString()}"`;

/** Readable rendering of one JSON record: `[HH:MM:ss] LEVEL: [island 3] msg {fields}` plus a newline. */
export const readableLine: (jsonLine: string) => string = prettyFactory({
  colorize: false,
  translateTime: "SYS:HH:MM:ss",
  ignore: "pid,hostname,island,stream,line",
  singleLine: true,
  // an island's raw output line (launchers) shows as itself, after the island it came from
  messageFormat: (log, key) =>
    `${log.island !== undefined ? `[island ${String(log.island)}] ` : ""}${
      typeof log.stream === "string" && typeof log.line === "string" ? log.line : String(log[key] ?? "")
    }`,
});

/** Every record of a logger (and its children) passes through its one sink. */
class LogSink implements DestinationStream {
  readonly secrets: string[] = [];
  readonly outs: ((line: string) => void)[] = [];
  #fd: number | null = null;
  #pending: string[] = [];
  #pendingBytes = 0;
  #dropped = 0;
  /** whether records wait for a file (loggers that never get one keep nothing) */
  readonly #waits: boolean;

  constructor(waitsForFile: boolean) {
    this.#waits = waitsForFile;
  }

  write(raw: string): void {
    if (this.#fd !== null) this.#append(raw);
    else if (this.#waits) this.#hold(raw);
    if (this.outs.length === 0) return;
    const line = this.redact(raw);
    for (const out of this.outs) out(line);
  }

  #hold(line: string): void {
    if (this.#pendingBytes + line.length > MAX_PENDING_BYTES) {
      this.#dropped++;
      return;
    }
    this.#pending.push(line);
    this.#pendingBytes += line.length;
  }

  redact(line: string): string {
    let out = line;
    for (const s of this.secrets) out = out.replaceAll(s, REDACTED);
    return out;
  }

  attach(path: string): void {
    this.detach();
    this.#fd = openSync(path, "a", 0o600);
    for (const line of this.#pending) this.#append(line);
    if (this.#dropped > 0) {
      const note = { level: 40, time: new Date().toISOString(), dropped: this.#dropped };
      this.#append(
        `${JSON.stringify({ ...note, msg: "log records lost before the log file was attached" })}\n`,
      );
    }
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#dropped = 0;
  }

  detach(): void {
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
  }

  #append(line: string): void {
    try {
      // redacted here, not when held: a secret named after a record was logged is still caught
      writeSync(this.#fd as number, this.redact(line));
    } catch {
      // a full or vanished disk must not end the run; stderr still has the record
    }
  }
}

const SINK = Symbol("slt.logSink");

function sinkOf(logger: Logger): LogSink | undefined {
  // children are created with Object.create(parent), so they find their root's sink too
  return (logger as unknown as { [SINK]?: LogSink })[SINK];
}

function build(sink: LogSink, level: LogLevel, base: Record<string, unknown> = {}): Logger {
  const logger = pino(
    { level, base, timestamp: isoTime, redact: { paths: REDACT_PATHS, censor: REDACTED } },
    sink,
  );
  (logger as unknown as { [SINK]: LogSink })[SINK] = sink;
  return logger;
}

export interface LoggerOptions {
  /** the lowest level written (default "info") */
  readonly level?: LogLevel;
  /** fields every record carries, e.g. { role: "coordinator" } */
  readonly base?: Record<string, unknown>;
  /** readable lines on this stream (default: process.stderr); false: none */
  readonly stderr?: NodeJS.WritableStream | false;
  /** JSON lines appended to this file from the start (else attach one later: attachLogFile) */
  readonly file?: string;
  /** more destinations, each given every record as one JSON line */
  readonly destinations?: readonly DestinationStream[];
  /**
   * keep the records logged before a file is attached (up to MAX_PENDING_BYTES) and write them first
   * when one is: a command's logger, made before its run directory exists. Off by default, so that a
   * logger that never gets a file (an island's, a tool's) holds nothing.
   */
  readonly holdUntilFile?: boolean;
}

/** A logger writing readable lines to stderr and JSON lines to its file once it has one. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const sink = new LogSink(options.holdUntilFile ?? false);
  if (options.stderr !== false) {
    const out = options.stderr ?? process.stderr;
    sink.outs.push((line) => void out.write(readableLine(line)));
  }
  for (const d of options.destinations ?? []) sink.outs.push((line) => void d.write(line));
  if (options.file !== undefined) sink.attach(options.file);
  return build(sink, options.level ?? "info", options.base);
}

/**
 * Sends the logger's records, from now on, to `path` as JSON lines (appended), after the records
 * logged before (up to MAX_PENDING_BYTES of them). Attaching another file closes the previous one.
 */
export function attachLogFile(logger: Logger, path: string): void {
  sinkOf(logger)?.attach(path);
}

/** Closes the logger's file; later records wait for the next attachLogFile. */
export function closeLogFile(logger: Logger): void {
  sinkOf(logger)?.detach();
}

/** Replaces `secret` by "[redacted]" in every record the logger writes from now on, wherever it occurs. */
export function redactSecret(logger: Logger, secret: string): void {
  const sink = sinkOf(logger);
  if (!sink || secret.length === 0) return;
  // as JSON escapes it too, so that a secret with quotes or backslashes is caught inside a string
  for (const s of new Set([secret, JSON.stringify(secret).slice(1, -1)]))
    if (!sink.secrets.includes(s)) sink.secrets.push(s);
}

/** Logs one record stamped with `time` (ms since the epoch) instead of now: records relayed from islands. */
export function logAt(
  logger: Logger,
  level: Level,
  time: number,
  fields: Record<string, unknown>,
  msg: string,
): void {
  recordTime = time;
  try {
    logger[level](fields, msg);
  } finally {
    recordTime = null;
  }
}

let shared: Logger | null = null;

/** One logger on stderr for code that was given none (library defaults). */
export function stderrLogger(): Logger {
  shared ??= createLogger();
  return shared;
}

/** A logger that writes nothing (library defaults, tests that do not look at records). */
export function silentLogger(): Logger {
  return build(new LogSink(false), "silent");
}

/** A logger whose records are kept as objects, for tests that check what was logged. */
export function captureLogger(level: LogLevel = "trace"): {
  logger: Logger;
  records: Record<string, unknown>[];
} {
  const records: Record<string, unknown>[] = [];
  const sink = new LogSink(false);
  sink.outs.push((line) => void records.push(JSON.parse(line)));
  return { logger: build(sink, level), records };
}

/**
 * Reports a kind of occurrence (a refused connection) at a bounded rate: the first `burst` of each
 * period one by one, the rest of the period as one report with their count when it ends. A flood of
 * refusals then costs at most burst + 1 records a period, on stderr, in log.jsonl or in events.jsonl,
 * while a handful of them is still reported each as it happens.
 */
export class RateLimited<T> {
  readonly #report: (detail: T, count: number) => void;
  readonly #periodMs: number;
  readonly #burst: number;
  #inPeriod = 0;
  #held = 0;
  #last: T | null = null;
  #timer: NodeJS.Timeout | null = null;

  /** `report(detail, count)`: `count` occurrences, `detail` the last of them. */
  constructor(
    report: (detail: T, count: number) => void,
    options: { periodMs?: number; burst?: number } = {},
  ) {
    this.#report = report;
    this.#periodMs = options.periodMs ?? 1000;
    this.#burst = options.burst ?? 5;
  }

  add(detail: T): void {
    if (this.#timer === null) this.#startPeriod();
    this.#inPeriod++;
    if (this.#inPeriod <= this.#burst) {
      this.#report(detail, 1);
      return;
    }
    this.#held++;
    this.#last = detail;
  }

  /** Reports what is held now and ends the period (the owner is closing). */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#inPeriod = 0;
    this.#emitHeld();
  }

  #startPeriod(): void {
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#inPeriod = 0;
      this.#emitHeld();
    }, this.#periodMs);
    // a pending count never keeps the process alive
    this.#timer.unref();
  }

  #emitHeld(): void {
    if (this.#held === 0) return;
    const count = this.#held;
    const last = this.#last as T;
    this.#held = 0;
    this.#last = null;
    this.#report(last, count);
  }
}
