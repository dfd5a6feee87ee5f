// The one logger of coordinator and islands: pino. Records are JSON objects (level, time, msg and
// fields such as island, host, pid); where they go is decided here, once:
// - `file`: JSON lines, e.g. the run directory's log.jsonl (written synchronously, so a crash loses no
//   record that was logged before it);
// - `stderr`: readable lines through pino-pretty, also synchronous, so that a record is one whole write
//   and never lands in the middle of a progress line.
// Call sites log structured records, `logger.warn({ island: 3, reason }, "island lost")`, never
// preformatted strings.
import pino, { type DestinationStream, type Level, type Logger, type StreamEntry } from "pino";
import pretty from "pino-pretty";

export type { Logger };

export type LogLevel = Level | "silent";

export const LOG_LEVELS: readonly LogLevel[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

export function isLogLevel(s: unknown): s is LogLevel {
  return typeof s === "string" && (LOG_LEVELS as readonly string[]).includes(s);
}

export interface LoggerOptions {
  /** the lowest level written (default "info") */
  readonly level?: LogLevel;
  /** fields every record carries, e.g. { role: "coordinator" } */
  readonly base?: Record<string, unknown>;
  /** readable lines on this stream (default: process.stderr); false: none */
  readonly stderr?: NodeJS.WritableStream | false;
  /** JSON lines appended to this file */
  readonly file?: string;
}

/** A logger writing readable lines to stderr and, when `file` is given, JSON lines to that file. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? "info";
  const streams: StreamEntry[] = [];
  if (options.file !== undefined)
    streams.push({
      level: "trace",
      stream: pino.destination({ dest: options.file, sync: true, append: true }),
    });
  if (options.stderr !== false) streams.push({ level: "trace", stream: prettyStream(options.stderr) });
  return pino(
    { level, base: options.base ?? {}, timestamp: pino.stdTimeFunctions.isoTime },
    pino.multistream(streams),
  );
}

/** Readable lines (time, level, fields, message) on `out`, written synchronously. */
function prettyStream(out: NodeJS.WritableStream = process.stderr): DestinationStream {
  return pretty({
    sync: true,
    destination: out,
    colorize: false,
    translateTime: "SYS:HH:MM:ss",
    ignore: "pid,hostname",
    singleLine: true,
  });
}

/** A logger that writes nothing (library defaults, tests that do not look at records). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

/** A logger whose records are kept as objects, for tests that check what was logged. */
export function captureLogger(level: LogLevel = "trace"): {
  logger: Logger;
  records: Record<string, unknown>[];
} {
  const records: Record<string, unknown>[] = [];
  const stream: DestinationStream = { write: (line: string) => void records.push(JSON.parse(line)) };
  return { logger: pino({ level, base: {} }, stream), records };
}
