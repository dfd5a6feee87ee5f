// The one adapter from the line-based `log` options of Link (io/link.ts) and the launchers to the
// coordinator's pino logger, until those take a logger themselves: each line becomes one record at
// `level`, with the fields saying where it came from.
import type { Logger } from "../io/log.ts";

export function lineLog(
  logger: Logger,
  level: "info" | "warn",
  fields: Record<string, unknown>,
): (line: string) => void {
  return (line) => logger[level](fields, line);
}
