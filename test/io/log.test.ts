import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { captureLogger, createLogger, isLogLevel } from "../../src/io/log.ts";

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "slt-log-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("createLogger", () => {
  it("writes JSON records to the file and one readable line per record to stderr", () => {
    const dir = tempDir();
    const file = join(dir, "log.jsonl");
    const out = new PassThrough();
    let text = "";
    out.on("data", (b) => (text += b));
    const logger = createLogger({ file, stderr: out, base: { role: "coordinator" } });
    logger.warn({ island: 3, reason: "no heartbeat" }, "island lost");
    logger.debug("not at info");
    const records = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      level: 40,
      island: 3,
      reason: "no heartbeat",
      msg: "island lost",
      role: "coordinator",
    });
    expect(typeof records[0].time).toBe("string");
    expect(text.trim().split("\n")).toHaveLength(1);
    expect(text).toMatch(/WARN.*island lost/);
  });

  it("honours the level", () => {
    const { logger, records } = captureLogger("warn");
    logger.info("quiet");
    logger.error({ code: "E_CLUSTER" }, "loud");
    expect(records.map((r) => r.msg)).toEqual(["loud"]);
  });

  it("knows its levels", () => {
    expect(isLogLevel("debug")).toBe(true);
    expect(isLogLevel("verbose")).toBe(false);
  });
});
