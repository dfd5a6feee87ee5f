import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import {
  attachLogFile,
  captureLogger,
  closeLogFile,
  createLogger,
  isLogLevel,
  logAt,
  parseLogLevel,
  redactSecret,
} from "../../src/io/log.ts";

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "slt-log-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const readRecords = (file: string) =>
  readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);

function textStream(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  let text = "";
  out.on("data", (b) => (text += b));
  return { out, text: () => text };
}

describe("createLogger", () => {
  it("writes JSON records to the file and one readable line per record to stderr", () => {
    const file = join(tempDir(), "log.jsonl");
    const { out, text } = textStream();
    const logger = createLogger({ file, stderr: out, base: { role: "coordinator" } });
    logger.warn({ island: 3, reason: "no heartbeat" }, "island lost");
    logger.debug("not at info");
    const records = readRecords(file);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      level: 40,
      island: 3,
      reason: "no heartbeat",
      msg: "island lost",
      role: "coordinator",
    });
    expect(typeof records[0].time).toBe("string");
    expect(text().trim().split("\n")).toHaveLength(1);
    expect(text()).toMatch(/WARN: \[island 3\] island lost .*"reason":"no heartbeat"/);
  });

  it("keeps the records logged before the file is attached and writes them first", () => {
    const dir = tempDir();
    const logger = createLogger({ stderr: false, holdUntilFile: true });
    logger.info({ step: 1 }, "before the run directory");
    logger.child({ island: 2 }).warn("from a child, before");
    attachLogFile(logger, join(dir, "log.jsonl"));
    logger.info({ step: 2 }, "after");
    expect(readRecords(join(dir, "log.jsonl")).map((r) => [r.msg, r.island])).toEqual([
      ["before the run directory", undefined],
      ["from a child, before", 2],
      ["after", undefined],
    ]);
    // a second run directory: the first file is closed, the next records go to the new one
    attachLogFile(logger, join(dir, "second.jsonl"));
    logger.info("second run");
    closeLogFile(logger);
    logger.info("between runs");
    attachLogFile(logger, join(dir, "third.jsonl"));
    expect(readRecords(join(dir, "second.jsonl")).map((r) => r.msg)).toEqual(["second run"]);
    expect(readRecords(join(dir, "third.jsonl")).map((r) => r.msg)).toEqual(["between runs"]);
    expect(readRecords(join(dir, "log.jsonl"))).toHaveLength(3);
  });

  it("holds nothing for a logger that is not told to wait for a file", () => {
    const dir = tempDir();
    const logger = createLogger({ stderr: false });
    logger.info("before");
    attachLogFile(logger, join(dir, "log.jsonl"));
    logger.info("after");
    expect(readRecords(join(dir, "log.jsonl")).map((r) => r.msg)).toEqual(["after"]);
  });

  it("shows an island's raw output line as itself on stderr, and keeps every field in the file", () => {
    const file = join(tempDir(), "log.jsonl");
    const { out, text } = textStream();
    const logger = createLogger({ file, stderr: out });
    logger.warn({ island: 1, stream: "stderr", line: "(node:77) Warning: something" }, "island output");
    expect(text()).toMatch(/WARN: \[island 1\] \(node:77\) Warning: something\n$/);
    expect(readRecords(file)[0]).toMatchObject({
      island: 1,
      stream: "stderr",
      line: "(node:77) Warning: something",
    });
  });

  it("honours the level", () => {
    const { logger, records } = captureLogger("warn");
    logger.info("quiet");
    logger.error({ code: "E_CLUSTER" }, "loud");
    expect(records.map((r) => r.msg)).toEqual(["loud"]);
  });

  it("knows its levels, and refuses others with one E_CONFIG line naming where", () => {
    expect(isLogLevel("debug")).toBe(true);
    expect(isLogLevel("verbose")).toBe(false);
    expect(parseLogLevel("WARN", "--log-level")).toBe("warn");
    expect(parseLogLevel("silent", "SLT_LOG_LEVEL")).toBe("silent");
    expect(() => parseLogLevel("verbose", "--log-level")).toThrow(
      /^--log-level: got "verbose"; expected one of fatal, error, warn, info, debug, trace, silent$/,
    );
    try {
      parseLogLevel("", "SLT_LOG_LEVEL");
    } catch (e) {
      expect((e as { code: string }).code).toBe("E_CONFIG");
    }
  });
});

describe("redaction", () => {
  const secret = "5ec7e7a0c0ffee00d15ea5e0b16b00b5";

  it("censors fields named like a secret at any of the first three levels", () => {
    const { logger, records } = captureLogger();
    logger.info(
      {
        secret: "a",
        token: "b",
        SLT_TOKEN: "c",
        env: { SLT_TOKEN: "d" },
        req: { headers: { authorization: "e" } },
      },
      "x",
    );
    expect(records[0]).toMatchObject({
      secret: "[redacted]",
      token: "[redacted]",
      SLT_TOKEN: "[redacted]",
      env: { SLT_TOKEN: "[redacted]" },
      req: { headers: { authorization: "[redacted]" } },
    });
  });

  it("replaces the secret's value wherever it occurs: message, fields, children, file and stderr", () => {
    const file = join(tempDir(), "log.jsonl");
    const { out, text } = textStream();
    const logger = createLogger({ stderr: out, holdUntilFile: true });
    logger.info({ detail: `before redactSecret ${secret}` }, "early");
    redactSecret(logger, secret);
    logger.child({ island: 1 }).warn({ argv: ["--join", `ws://x/?k=${secret}`] }, `the secret is ${secret}`);
    logger.error(new Error(`failed with ${secret}`));
    attachLogFile(logger, file);
    const written = readFileSync(file, "utf8");
    // the held record was written to the file after redactSecret: redacted too
    expect(written).not.toContain(secret);
    expect(text().split("\n")[0]).toContain(secret); // stderr had it before redactSecret was called
    expect(text().split("\n").slice(1).join("\n")).not.toContain(secret);
    expect(written).toContain("the secret is [redacted]");
    expect(readRecords(file)).toHaveLength(3);
  });

  it("works on capture loggers", () => {
    const { logger, records } = captureLogger();
    redactSecret(logger, secret);
    logger.info(`a ${secret} b`);
    logger.warn({ why: secret }, "refused");
    expect(records[0].msg).toBe("a [redacted] b");
    expect(records[1].why).toBe("[redacted]");
  });
});

describe("logAt", () => {
  it("stamps a record with the given time instead of now", () => {
    const { logger, records } = captureLogger();
    const time = Date.UTC(2020, 0, 2, 3, 4, 5, 6);
    logAt(logger, "warn", time, { island: 4 }, "relayed");
    logger.info("now");
    expect(records[0]).toMatchObject({
      level: 40,
      time: "2020-01-02T03:04:05.006Z",
      island: 4,
      msg: "relayed",
    });
    expect(records[1].time).not.toBe(records[0].time);
  });
});
