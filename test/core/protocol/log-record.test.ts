import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decode,
  encode,
  logBodyFromRecord,
  logRecordLevel,
  MAX_LOG_FIELDS_CHARS,
  MAX_LOG_MESSAGE_CHARS,
  makeMessage,
} from "../../../src/core/protocol/index.ts";
import { ctx, header } from "./fixtures.ts";

const NOW = Date.UTC(2026, 0, 1);

/** The body travels: encode accepts it and decode gives it back unchanged. */
function roundTrip(body: ReturnType<typeof logBodyFromRecord>) {
  const r = decode(encode(makeMessage("log", header(), body)), ctx());
  if (!r.ok) throw new Error(`${r.code}: ${r.reason}`);
  return r.message.body;
}

describe("logBodyFromRecord", () => {
  it("takes level, time and msg from a pino record and keeps the other fields", () => {
    const body = logBodyFromRecord(
      {
        level: 40,
        time: "2026-12-07T05:30:00.125Z",
        msg: "connection refused",
        code: "bad-msgpack",
        close: 4002,
      },
      NOW,
    );
    expect(body).toEqual({
      level: "warn",
      time: Date.UTC(2026, 11, 7, 5, 30, 0, 125),
      msg: "connection refused",
      fields: { code: "bad-msgpack", close: 4002 },
    });
    expect(roundTrip(body)).toEqual(body);
  });

  it("never trusts a level, time or message it does not know", () => {
    expect(logRecordLevel(35)).toBe("warn");
    expect(logRecordLevel("verbose")).toBe("warn");
    expect(logRecordLevel("debug")).toBe("debug");
    expect(logRecordLevel(60)).toBe("fatal");
    const body = logBodyFromRecord({ level: "loud", time: "yesterday", msg: { a: 1 } }, NOW);
    expect(body).toMatchObject({ level: "warn", time: NOW, msg: "[object Object]" });
    expect(logBodyFromRecord({ time: -5 }, NOW)).toMatchObject({ time: NOW, msg: "" });
  });

  it("cuts long text, deep nesting, many entries and large fields to the message's bounds", () => {
    const deep = { a: { b: { c: { d: { e: 1 } } } } };
    const body = logBodyFromRecord(
      {
        level: 30,
        msg: `${"m".repeat(MAX_LOG_MESSAGE_CHARS + 10)}`,
        deep,
        many: Array.from({ length: 100 }, (_, i) => i),
        inf: Number.POSITIVE_INFINITY,
        big: 10n,
        fn: () => 1,
        surrogate: `${"x".repeat(2046)}😀😀`,
      },
      NOW,
    );
    expect(body.msg.length).toBe(MAX_LOG_MESSAGE_CHARS);
    expect(body.fields.deep).toEqual({ a: { b: { c: "[nested too deep]" } } });
    expect((body.fields.many as number[]).length).toBe(64);
    expect(body.fields.inf).toBe("Infinity");
    expect(body.fields.big).toBe("10");
    expect(body.fields.surrogate).toBe(`${"x".repeat(2046)}…`);
    expect(roundTrip(body)).toEqual(body);
    const large = logBodyFromRecord(
      Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, "y".repeat(2000)])),
      NOW,
    );
    expect(Object.keys(large.fields)).toEqual(["truncated"]);
    expect(JSON.stringify(large.fields).length).toBeLessThan(MAX_LOG_FIELDS_CHARS);
    expect(roundTrip(large)).toEqual(large);
  });

  it("any JSON record becomes a body that encodes and decodes unchanged (property)", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue()),
        fc.constantFrom(10, 30, 50, "info", 7),
        (rec, level) => {
          const body = logBodyFromRecord({ ...rec, level }, NOW);
          expect(roundTrip(body)).toEqual(body);
        },
      ),
    );
  });
});
