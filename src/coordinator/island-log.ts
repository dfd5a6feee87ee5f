// The coordinator's end of islands' records (island/log-link.ts): a received `log` body becomes one
// record of the coordinator's logger, so it reaches log.jsonl and stderr with the island it came from.
// It keeps the island's level, time, message and fields, but trusts none of them beyond what it checks
// here: the level must be a known one, sizes are cut to the message's bounds, and island, host and pid
// are the coordinator's own knowledge of the connection, never the island's say.
import { type LogBody, logBodyFromRecord } from "../core/protocol/index.ts";
import { type Logger, logAt } from "../io/log.ts";

/** Who sent a record, as the coordinator knows it. */
export interface IslandSource {
  /** the island's id, or null before it has one */
  readonly island: number | null;
  /** the launcher's index (before the island has an id) */
  readonly index?: number;
  readonly host: string;
  readonly pid: number | null;
}

/** Logs an island's record on the coordinator's logger (redaction and level filtering apply as usual). */
export function logIslandRecord(logger: Logger, from: IslandSource, body: LogBody, now = Date.now()): void {
  const b = logBodyFromRecord({ ...body.fields, level: body.level, time: body.time, msg: body.msg }, now);
  const who =
    from.island === null && from.index !== undefined
      ? { index: from.index, host: from.host, pid: from.pid }
      : { island: from.island, host: from.host, pid: from.pid };
  const { island: _i, index: _x, host: _h, pid: _p, ...fields } = b.fields;
  logAt(logger, b.level, b.time, { ...who, ...fields }, b.msg);
}
