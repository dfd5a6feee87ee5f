// The run directory's event writer: every line gets `t` and `time` from one injectable clock.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  createRunDir,
  dropTornLine,
  openRunDir,
  parseEvents,
  timedEvent,
  writeJsonAtomic,
} from "../../src/io/run-dir.ts";
import { errorOf } from "./helpers.ts";

const out = mkdtempSync(path.join(os.tmpdir(), "slt-run-dir-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("events.jsonl", () => {
  it("stamps every event with t since the start and time in ISO 8601 UTC with milliseconds", () => {
    const start = Date.UTC(2026, 11, 7, 3, 25, 10, 123);
    const readings = [start + 250, start + 1_000.4, start + 61_000.6];
    const dir = createRunDir(out, "clock", { clock: () => readings.shift() as number, startedAt: start });
    expect(dir.startTime).toBe("2026-12-07T03:25:10.123Z");
    const written = [
      dir.appendEvent({ type: "start" }),
      dir.appendEvent({ type: "generation", generation: 0 }),
    ];
    dir.appendEvent({ type: "end" });
    const lines = readFileSync(path.join(dir.path, "events.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.slice(0, 2)).toEqual(written);
    expect(lines).toEqual([
      { type: "start", t: 0.25, time: "2026-12-07T03:25:10.373Z" },
      { type: "generation", generation: 0, t: 1, time: "2026-12-07T03:25:11.123Z" },
      { type: "end", t: 61.001, time: "2026-12-07T03:26:11.123Z" },
    ]);
  });

  it("starts the clock at the run directory's creation by default", () => {
    let now = Date.UTC(2030, 0, 1);
    const dir = createRunDir(out, "default-start", { clock: () => now });
    now += 1500;
    expect(dir.appendEvent({ type: "x" })).toEqual({ type: "x", t: 1.5, time: "2030-01-01T00:00:01.500Z" });
    expect(dir.startTime).toBe("2030-01-01T00:00:00.000Z");
  });

  it("a field named t or time in the event is replaced, never duplicated", () => {
    expect(timedEvent({ type: "x", t: 99, time: "no" }, 0, 2000)).toEqual({
      type: "x",
      t: 2,
      time: "1970-01-01T00:00:02.000Z",
    });
  });
});

describe("events.jsonl is opened once", () => {
  it("appending takes no new file descriptor (a flood that exhausts them cannot fail an event)", () => {
    const dir = createRunDir(out, "fd");
    const fds = () => readdirSync("/proc/self/fd").length;
    dir.appendEvent({ type: "start" });
    const before = fds();
    for (let i = 0; i < 5; i++) dir.appendEvent({ type: "report", i });
    expect(fds()).toBe(before);
    dir.close();
    expect(fds()).toBe(before - 1);
    dir.appendEvent({ type: "end" }); // reopens: an event after close is still written
    dir.close();
    const lines = readFileSync(path.join(dir.path, "events.jsonl"), "utf8").trim().split("\n");
    expect(lines.map((l) => JSON.parse(l).type)).toEqual(["start", ...Array(5).fill("report"), "end"]);
  });
});

describe("writeJsonAtomic", () => {
  it("replaces the file whole and leaves no temporary file", () => {
    const dir = mkdtempSync(path.join(out, "atomic-"));
    const file = path.join(dir, "ticket.json");
    writeFileSync(file, "old");
    writeJsonAtomic(file, { a: 1 });
    expect(readFileSync(file, "utf8")).toBe('{\n  "a": 1\n}\n');
    expect(readdirSync(dir)).toEqual(["ticket.json"]);
  });

  it("on a failed rename throws and removes its temporary file", () => {
    const dir = mkdtempSync(path.join(out, "atomic-"));
    const target = path.join(dir, "taken.json");
    mkdirSync(target); // a directory where the file should go: the rename fails
    writeFileSync(path.join(target, "inside"), "x");
    expect(() => writeJsonAtomic(target, { a: 1 })).toThrow();
    expect(readdirSync(dir)).toEqual(["taken.json"]);
  });
});

/** The E_REPORT error `f` throws. */
const reportError = (f: () => unknown) => errorOf(f, "E_REPORT");

describe("dropTornLine", () => {
  it("a resumed run's first event follows a torn last line on a line of its own", () => {
    const dir = createRunDir(out, "torn", {});
    dir.appendEvent({ type: "start" });
    dir.close();
    const file = path.join(out, "torn", "events.jsonl");
    writeFileSync(file, `${readFileSync(file, "utf8")}{"type":"gener`);
    const again = openRunDir(path.join(out, "torn"));
    again.appendEvent({ type: "resume" });
    again.close();
    expect(parseEvents(readFileSync(file, "utf8"), file).map((e) => e.type)).toEqual(["start", "resume"]);
    expect(dropTornLine(file)).toBe(0);
    expect(dropTornLine(path.join(out, "absent.jsonl"))).toBe(0);
  });
});

describe("parseEvents", () => {
  it("drops a torn last line (no newline) and nothing else", () => {
    expect(parseEvents('{"type":"start"}\n{"type":"end"', "f")).toEqual([{ type: "start" }]);
    expect(parseEvents('{"type":"start"}\n\n{"type":"end"}\n', "f")).toHaveLength(2);
  });

  it("a malformed line is one E_REPORT line naming the file and the line", () => {
    const file = "/x/events.jsonl";
    expect(reportError(() => parseEvents('{"type":"start"}\n{oops}\n{"type":"end"}\n', file))).toMatchObject({
      code: "E_REPORT",
      message: expect.stringMatching(/^\/x\/events\.jsonl:2: not a JSON line/),
    });
    // a complete last line (it ends in a newline) is not torn
    expect(reportError(() => parseEvents('{"type":"start"}\n{oops\n', file)).message).toMatch(/:2: /);
    expect(reportError(() => parseEvents('{"type":"start"}\n[1]\n', file)).message).toMatch(
      /:2: not an event/,
    );
  });
});
