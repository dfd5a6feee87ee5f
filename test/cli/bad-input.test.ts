// Issue 10, bad input: each case ends with one `slt: error E_…` line naming the problem, a non-zero exit,
// within seconds, and leaves nothing behind (no run directory, no stack trace).

import { spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, type CliResult, runCli, scratchDir } from "./helpers.ts";

const work = scratchDir("slt-bad-input-");

/** One error line on stderr, with the code and the words asked for; no trace; exit ≠ 0. */
function expectOneLineError(r: CliResult, code: string, words: RegExp): void {
  expect(r.stderr).not.toMatch(/unexpected error|\n\s+at /);
  const lines = r.stderr.trim().split("\n");
  const error = lines.filter((l) => l.startsWith("slt: error"));
  expect(error).toHaveLength(1);
  expect(error[0]).toContain(code);
  expect(error[0]).toMatch(words);
  expect(r.code).not.toBe(0);
  expect(r.code).not.toBeNull();
}

/**
 * `slt run` of one generation on one population with `args` (later flags win) into `out`: refused with one
 * error line of `code` matching `words`, and `out` never created.
 */
function refused(out: string, args: readonly string[], code: string, words: RegExp): CliResult {
  const r = runCli(work, ["run", "--islands", "1", "--generations", "1", ...args, "--out", out]);
  expectOneLineError(r, code, words);
  expect(existsSync(out)).toBe(false);
  return r;
}

describe("slt run: --listen and --out checked before anything starts", () => {
  let busy: Server;
  let port = 0;
  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((done) => busy.listen(0, "127.0.0.1", done));
    port = (busy.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((done) => busy.close(() => done())));

  it("--listen on a port in use: E_CONFIG naming the port, no run directory", () => {
    const words = new RegExp(`--listen 127.0.0.1:${port}: the port is in use`);
    refused(
      join(work, "listen-busy"),
      ["--islands", "2", "--listen", `127.0.0.1:${port}`],
      "E_CONFIG",
      words,
    );
  });

  it("an SLT_TOKEN too short: E_CONFIG, no run directory, and the process ends (it used to hang)", () => {
    const out = join(work, "short-token");
    const args = ["run", "--islands", "2", "--generations", "1", "--out", out];
    // spawnSync's timeout, not the test's: a hang must fail this test, not block its worker
    const r = spawnSync(process.execPath, [CLI, ...args], {
      encoding: "utf8",
      cwd: work,
      env: { ...process.env, SLT_TOKEN: "short" },
      timeout: 60_000,
    });
    expect(r.signal, "still running after 60 s").toBeNull();
    expectOneLineError(
      { code: r.status, stdout: r.stdout, stderr: r.stderr },
      "E_CONFIG",
      /SLT_TOKEN must be at least 32/,
    );
    expect(existsSync(out)).toBe(false);
  });

  it("--out naming an existing file: E_CONFIG (EEXIST), the file untouched", () => {
    const file = join(work, "a-file");
    writeFileSync(file, "x");
    const r = runCli(work, ["run", "--islands", "1", "--generations", "1", "--out", file]);
    expectOneLineError(r, "E_CONFIG", /--out .*a-file.* is not a folder/);
    expect(readdirSync(work)).not.toContain("runs");
  });

  it("--out under a file: E_CONFIG", () => {
    const r = runCli(work, [
      "run",
      "--islands",
      "1",
      "--generations",
      "1",
      "--out",
      join(work, "a-file", "x"),
    ]);
    expectOneLineError(r, "E_CONFIG", /--out .*is a file, not a folder/);
  });

  it.runIf(existsSync("/proc/self"))("--out /proc/x fails at once instead of spinning", () => {
    const started = Date.now();
    const r = runCli(work, ["run", "--islands", "1", "--generations", "1", "--out", "/proc/x"]);
    expectOneLineError(r, "E_CONFIG", /--out \/proc\/x: cannot create \/proc\/x/);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});

describe("slt reproduce: --out checked before any run starts", () => {
  /** `slt reproduce` of one quick moons setting, one generation, into `out` */
  const reproduce = (out: string): CliResult =>
    runCli(work, ["reproduce", "--only", "moons [2,20,2] GA", "--generations", "1", "--out", out]);

  it("--out naming an existing file: E_CONFIG, the file untouched, no run", () => {
    const file = join(work, "reproduce-file");
    writeFileSync(file, "x");
    const r = reproduce(file);
    expectOneLineError(r, "E_CONFIG", /--out .*reproduce-file.* is not a folder/);
    expect(readFileSync(file, "utf8")).toBe("x");
    expect(r.stderr).not.toMatch(/moons/); // no run of the grid started
  });

  it.runIf(existsSync("/proc/self"))("--out /proc/x fails at once instead of spinning", () => {
    const started = Date.now();
    const r = reproduce("/proc/x");
    expectOneLineError(r, "E_CONFIG", /--out \/proc\/x: cannot create \/proc\/x/);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});

/** `refused` with `data` as both the training and the test file (one feature, two classes). */
function refusedData(out: string, data: string, code: string, words: RegExp): CliResult {
  return refused(join(work, out), ["--train", data, "--test", data, "--arch", "1,4,2"], code, words);
}

describe("slt island --join", () => {
  it("to a dead port: one error line after its retries, exit 1, no trace, no hang", async () => {
    const free = createServer();
    await new Promise<void>((done) => free.listen(0, "127.0.0.1", done));
    const port = (free.address() as { port: number }).port;
    await new Promise<void>((done) => free.close(() => done()));
    const r = runCli(work, ["island", "--join", `ws://127.0.0.1:${port}/?run=run-x`], {
      ...process.env,
      SLT_TOKEN: "0123456789abcdef0123456789abcdef",
    });
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/cannot reach the coordinator.*ECONNREFUSED.*after 5 attempts/);
  });
});

describe("slt: a command line that does not parse", () => {
  it.each([
    [
      "a malformed flag value",
      ["run", "--mutation-rate", "abc"],
      "E_CONFIG",
      /--mutation-rate.*'abc'.*probability/,
    ],
    ["a whole number that is not", ["run", "--population", "1.5"], "E_CONFIG", /--population.*integer/],
    ["an unknown option", ["run", "--colour", "blue"], "E_USAGE", /unknown option '--colour'/],
    ["a flag without its value", ["run", "--population"], "E_USAGE", /--population <n>' argument missing/],
    ["an unknown command", ["bogus"], "E_USAGE", /unknown command 'bogus'/],
  ])("%s: one error line with its code, exit 2", (_, args, code, words) => {
    const r = runCli(work, args);
    expectOneLineError(r, code, words);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/\(run with --help for the options\)$/m);
  });
});

describe("slt run --config", () => {
  it('{"ga":{"__proto__":{"population":7}}} is refused with one E_CONFIG line', () => {
    const file = join(work, "proto.json");
    writeFileSync(file, '{"ga":{"__proto__":{"population":7}}}');
    refused(join(work, "proto-runs"), ["--config", file], "E_CONFIG", /ga\.__proto__: .*not allowed/);
  });
});

describe("slt run: the network and the data", () => {
  it("--arch 2,10,1: fewer than 2 output units refused with one E_CONFIG line", () => {
    const r = refused(
      join(work, "arch-runs"),
      ["--arch", "2,10,1"],
      "E_CONFIG",
      /--arch\) \[2,10,1\]: has 1 output unit; needs at least 2/,
    );
    expect(r.code).toBe(2);
  });
});

describe("slt run: CSV data", () => {
  it("labels all one class: refused with one E_DATASET_CSV line", () => {
    const ones = join(work, "ones.csv");
    writeFileSync(ones, "0.1,1\n0.2,1\n0.3,1\n0.4,1\n");
    refusedData(
      "ones-runs",
      ones,
      "E_DATASET_CSV",
      /every label in .*ones\.csv is 1: the training file has 1 class/,
    );
  });
});

describe("slt run: oversized data files", () => {
  it("a 1 GiB file of one line: refused by its size, before it is read", () => {
    const huge = join(work, "huge.csv");
    writeFileSync(huge, "");
    truncateSync(huge, 1024 ** 3); // sparse: no disk, no time
    const words = /dataset file .*huge\.csv has 1073741824 bytes, more than the 256 MiB/;
    refusedData("huge-runs", huge, "E_DATASET_FILE", words);
  });

  it("a small gzip that inflates past 256 MiB: refused as it inflates", () => {
    // 300 gzip members of 1 MiB of zeros each: ~300 KB that inflate to 300 MiB
    const bomb = join(work, "bomb.csv.gz");
    const member = gzipSync(Buffer.alloc(1024 ** 2, "0"));
    const fd = openSync(bomb, "w");
    for (let i = 0; i < 300; i++) writeSync(fd, member);
    closeSync(fd);
    const words = /bomb\.csv\.gz: inflates to more than 256 MiB/;
    refusedData("bomb-runs", bomb, "E_DATASET_FILE", words);
  });

  it("10⁵ columns among 10⁶ blank lines: refused by the column limit", () => {
    const wide = join(work, "wide.csv");
    writeFileSync(wide, `${"\n".repeat(1_000_000)}${"0,".repeat(99_999)}0\n`);
    const words = /wide\.csv: line 1000001 has 100000 columns, more than the 65536 allowed/;
    refusedData("wide-runs", wide, "E_DATASET_CSV", words);
  });
});
