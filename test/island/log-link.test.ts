import { describe, expect, it } from "vitest";
import type { LogBody, MessageType } from "../../src/core/protocol/index.ts";
import type { SendOptions } from "../../src/io/link.ts";
import { createLogger, redactSecret } from "../../src/io/log.ts";
import { islandLogger, LinkLogDestination, type LogLink, MAX_IN_FLIGHT } from "../../src/island/log-link.ts";

/** A coordinator link that records what is sent and completes writes when told to. */
class FakeLink implements LogLink {
  state: LogLink["state"] = "handshake";
  sent: LogBody[] = [];
  pending: (() => void)[] = [];
  send(type: MessageType, body: unknown, options?: SendOptions): boolean {
    if (this.state !== "open") return false;
    expect(type).toBe("log");
    this.sent.push(body as LogBody);
    this.pending.push(() => options?.onWritten?.());
    return true;
  }
  /** the socket wrote everything handed to it */
  drain(): void {
    while (this.pending.length > 0) (this.pending.shift() as () => void)();
  }
}

function setup(options: { maxQueued?: number; debugPerSecond?: number } = {}) {
  const fallback: string[] = [];
  let now = 0;
  const dest = new LinkLogDestination({ ...options, fallback: (l) => fallback.push(l), clock: () => now });
  const logger = createLogger({ level: "trace", stderr: false, destinations: [dest], base: { index: 2 } });
  const link = new FakeLink();
  return { dest, logger, link, fallback, advance: (ms: number) => (now += ms) };
}

describe("LinkLogDestination", () => {
  it("writes to the fallback before the link is open, then sends each record as a log message", () => {
    const { dest, logger, link, fallback } = setup();
    logger.info("starting");
    dest.attach(link);
    logger.info("in the handshake");
    expect(fallback.map((l) => JSON.parse(l).msg)).toEqual(["starting", "in the handshake"]);
    link.state = "open";
    logger.warn({ code: "bad-msgpack", close: 4002 }, "connection refused");
    expect(link.sent).toHaveLength(1);
    expect(link.sent[0]).toMatchObject({
      level: "warn",
      msg: "connection refused",
      fields: { index: 2, code: "bad-msgpack", close: 4002 },
    });
    expect(Math.abs(link.sent[0].time - Date.now())).toBeLessThan(60_000);
    expect(fallback).toHaveLength(2);
  });

  it("goes back to the fallback, in order, when the link is gone", () => {
    const { dest, logger, link, fallback } = setup();
    dest.attach(link);
    link.state = "open";
    for (let i = 0; i < MAX_IN_FLIGHT + 3; i++) logger.info({ i }, "record");
    // MAX_IN_FLIGHT handed to the socket, 3 waiting for room
    expect(link.sent).toHaveLength(MAX_IN_FLIGHT);
    link.state = "closed";
    logger.error("after the coordinator left");
    expect(fallback.map((l) => JSON.parse(l).i ?? JSON.parse(l).msg)).toEqual([
      MAX_IN_FLIGHT,
      MAX_IN_FLIGHT + 1,
      MAX_IN_FLIGHT + 2,
      "after the coordinator left",
    ]);
  });

  it("never holds more than its bound while the socket is slow, and reports what it dropped", () => {
    const { dest, logger, link } = setup({ maxQueued: 5 });
    dest.attach(link);
    link.state = "open";
    for (let i = 0; i < MAX_IN_FLIGHT + 20; i++) logger.info({ i }, "busy");
    expect(link.sent).toHaveLength(MAX_IN_FLIGHT);
    expect(dest.dropped).toBe(15);
    link.drain(); // room again: the drop count first, then the newest 5 records
    expect(link.sent[MAX_IN_FLIGHT]).toMatchObject({
      level: "warn",
      msg: "log records dropped",
      fields: { dropped: 15 },
    });
    expect(link.sent.slice(MAX_IN_FLIGHT + 1).map((b) => b.fields.i)).toEqual([31, 32, 33, 34, 35]);
    expect(dest.dropped).toBe(0);
  });

  it("rate-limits debug and trace floods, not warnings", () => {
    const { dest, logger, link, advance } = setup({ debugPerSecond: 10 });
    dest.attach(link);
    link.state = "open";
    for (let i = 0; i < 100; i++) {
      logger.debug({ i }, "chatty");
      link.drain();
    }
    logger.warn("important");
    link.drain();
    const msgs = link.sent.map((b) => b.msg);
    expect(msgs.filter((m) => m === "chatty")).toHaveLength(10);
    expect(msgs.at(-2)).toBe("log records dropped");
    expect(link.sent.at(-2)?.fields.dropped).toBe(90);
    expect(msgs.at(-1)).toBe("important");
    advance(500); // half a second: five more
    for (let i = 0; i < 20; i++) logger.trace("later");
    expect(link.sent.filter((b) => b.msg === "later")).toHaveLength(5);
  });

  it("sends nothing that holds the run secret", () => {
    const secret = "c0ffee".repeat(10);
    const { dest, logger, link, fallback } = setup();
    redactSecret(logger, secret);
    logger.info({ SLT_TOKEN: secret }, `before ${secret}`);
    dest.attach(link);
    link.state = "open";
    logger.info({ env: { token: secret }, text: `x${secret}x` }, `after ${secret}`);
    expect(JSON.stringify(link.sent)).not.toContain(secret);
    expect(fallback.join("\n")).not.toContain(secret);
    expect(link.sent[0]).toMatchObject({ msg: "after [redacted]", fields: { text: "x[redacted]x" } });
  });

  it("islandLogger: the island's level and index, the secret redacted, records to the coordinator once attached", () => {
    const fallback: string[] = [];
    const secret = "abad1dea".repeat(8);
    const { logger, toCoordinator } = islandLogger({
      level: "warn",
      secret,
      index: 4,
      link: { fallback: (l) => fallback.push(l) },
    });
    logger.info("below the level");
    logger.warn(`early ${secret}`);
    const link = new FakeLink();
    toCoordinator.attach(link);
    link.state = "open";
    logger.error({ why: secret }, "late");
    expect(fallback.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ index: 4, msg: "early [redacted]" }),
    ]);
    expect(link.sent).toEqual([
      expect.objectContaining({ level: "error", msg: "late", fields: { index: 4, why: "[redacted]" } }),
    ]);
  });
});
