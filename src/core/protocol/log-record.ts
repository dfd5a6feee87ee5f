// A log record as a `log` message body: a pino record (level, time, msg and any fields) made to fit
// the message's bounds, so that encode never refuses it and a record is always a small frame. Used on
// both ends: the island before it sends a record, the coordinator before it logs one (it trusts no
// level, size or key it did not check itself).
import {
  type JsonObject,
  type JsonValue,
  LOG_RECORD_LEVELS,
  type LogBody,
  type LogRecordLevel,
  MAX_LOG_DEPTH,
  MAX_LOG_ENTRIES,
  MAX_LOG_FIELDS_CHARS,
  MAX_LOG_MESSAGE_CHARS,
  MAX_LOG_STRING_CHARS,
  MAX_LOG_TIME_MS,
} from "./messages.ts";

/** pino's numeric levels */
const NUMERIC_LEVELS: Readonly<Record<number, LogRecordLevel>> = {
  10: "trace",
  20: "debug",
  30: "info",
  40: "warn",
  50: "error",
  60: "fatal",
};

/** A known level from a label or pino number; anything else is "warn" (shown, never dropped or raised). */
export function logRecordLevel(v: unknown): LogRecordLevel {
  if (typeof v === "number") return NUMERIC_LEVELS[v] ?? "warn";
  return (LOG_RECORD_LEVELS as readonly unknown[]).includes(v) ? (v as LogRecordLevel) : "warn";
}

/** `s` cut to `max` UTF-16 units, never between the halves of a surrogate pair. */
function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  let keep = max - 1; // room for the ellipsis
  if (/[\uD800-\uDBFF]/.test(s[keep - 1])) keep--;
  return `${s.slice(0, keep)}…`;
}

function clampJson(v: unknown, depth: number): JsonValue {
  if (v === null || typeof v === "boolean") return v;
  if (typeof v === "number") return Number.isFinite(v) ? v : String(v);
  if (typeof v === "string") return cut(v, MAX_LOG_STRING_CHARS);
  if (typeof v !== "object") return v === undefined ? null : cut(String(v), MAX_LOG_STRING_CHARS);
  if (depth >= MAX_LOG_DEPTH) return "[nested too deep]";
  if (Array.isArray(v)) return v.slice(0, MAX_LOG_ENTRIES).map((x) => clampJson(x, depth + 1));
  return clampObject(v as Record<string, unknown>, depth);
}

function clampObject(v: Record<string, unknown>, depth: number): JsonObject {
  const out: JsonObject = {};
  let n = 0;
  for (const [key, value] of Object.entries(v)) {
    if (key === "__proto__" || value === undefined) continue;
    if (n++ >= MAX_LOG_ENTRIES) break;
    out[cut(key, MAX_LOG_STRING_CHARS)] = clampJson(value, depth + 1);
  }
  return out;
}

function timeOf(v: unknown, now: number): number {
  const t = typeof v === "string" ? Date.parse(v) : v;
  return typeof t === "number" && t >= 0 && t <= MAX_LOG_TIME_MS ? t : now;
}

/**
 * The `log` body for a record: its level (a known one), time (ms since the epoch; `now` when it has
 * none), msg and every other field, each cut to the message's bounds (fields too large as a whole
 * travel as the start of their JSON text, under `truncated`).
 */
export function logBodyFromRecord(record: Readonly<Record<string, unknown>>, now: number): LogBody {
  const { level, time, msg, ...rest } = record;
  let fields = clampObject(rest, 0);
  const json = JSON.stringify(fields);
  if (json.length > MAX_LOG_FIELDS_CHARS) fields = { truncated: cut(json, MAX_LOG_STRING_CHARS) };
  return {
    level: logRecordLevel(level),
    time: timeOf(time, now),
    msg: cut(typeof msg === "string" ? msg : msg === undefined ? "" : String(msg), MAX_LOG_MESSAGE_CHARS),
    fields,
  };
}
