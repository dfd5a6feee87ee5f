import { describe, expect, it } from "vitest";
import { logIslandRecord } from "../../src/coordinator/island-log.ts";
import type { LogBody } from "../../src/core/protocol/index.ts";
import { captureLogger, redactSecret } from "../../src/io/log.ts";

const from = { island: 3, host: "node-a", pid: 4242 };
const time = Date.UTC(2026, 11, 7, 5, 30, 0, 125);

describe("logIslandRecord", () => {
  it("logs the island's record with its level, time, message and fields, and the island it came from", () => {
    const { logger, records } = captureLogger();
    const body: LogBody = {
      level: "warn",
      time,
      msg: "connection refused",
      fields: { code: "bad-msgpack", close: 4002 },
    };
    logIslandRecord(logger, from, body);
    expect(records).toEqual([
      {
        level: 40,
        time: "2026-12-07T05:30:00.125Z",
        island: 3,
        host: "node-a",
        pid: 4242,
        code: "bad-msgpack",
        close: 4002,
        msg: "connection refused",
      },
    ]);
  });

  it("takes island, host and pid from the connection, not from the record", () => {
    const { logger, records } = captureLogger();
    logIslandRecord(logger, from, {
      level: "info",
      time,
      msg: "x",
      fields: { island: 0, host: "forged", pid: 1, index: 9 },
    });
    expect(records[0]).toMatchObject({ island: 3, host: "node-a", pid: 4242 });
    expect(records[0].index).toBeUndefined();
    logIslandRecord(
      logger,
      { island: null, index: 5, host: "h", pid: null },
      { level: "info", time, msg: "early", fields: {} },
    );
    expect(records[1]).toMatchObject({ index: 5, host: "h", pid: null, msg: "early" });
    expect(records[1].island).toBeUndefined();
  });

  it("never trusts a level outside the known ones, and cuts sizes", () => {
    const { logger, records } = captureLogger();
    const forged = {
      level: "emergency",
      time: Number.NaN,
      msg: "m".repeat(100_000),
      fields: { big: "b".repeat(100_000) },
    };
    logIslandRecord(logger, from, forged as unknown as LogBody, time);
    expect(records[0].level).toBe(40);
    expect(records[0].time).toBe("2026-12-07T05:30:00.125Z");
    expect((records[0].msg as string).length).toBe(2048);
    expect((records[0].big as string).length).toBe(2048);
  });

  it("honours the coordinator's level and its redaction", () => {
    const { logger, records } = captureLogger("info");
    redactSecret(logger, "s3cr3t-value");
    logIslandRecord(logger, from, { level: "debug", time, msg: "chatty", fields: {} });
    logIslandRecord(logger, from, { level: "error", time, msg: "leak s3cr3t-value", fields: { token: "t" } });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ level: 50, msg: "leak [redacted]", token: "[redacted]" });
  });
});
