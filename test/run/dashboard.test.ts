// `slt run --dashboard`: the address printed on stderr and recorded in the start event (one population
// here; islands in test/ui/dashboard.browser.test.ts), and a busy port or a bad address as one E_CONFIG
// line before anything is made.
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, runEvents, scratchDir } from "../cli/helpers.ts";

const work = scratchDir("slt-dashrun-");
const run = (name: string, dashboard: string) =>
  runCli(work, [
    "run",
    "--islands",
    "1",
    "--generations",
    "3",
    "--out",
    work,
    "--name",
    name,
    "--dashboard",
    dashboard,
  ]);

describe("slt run --dashboard", () => {
  it("one population: prints the page's address and records it in the start event", () => {
    const r = run("single", "0");
    expect(r.code, r.stderr).toBe(0);
    const m = /^dashboard: (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(r.stderr);
    expect(m).not.toBeNull();
    const start = runEvents(work, "single")[0];
    expect(start.type).toBe("start");
    expect(start.dashboard).toBe(m?.[1]);
  });

  it("a busy port is one E_CONFIG line, exit 2, and no run directory", async () => {
    const busy = createServer();
    await new Promise<void>((done) => busy.listen(0, "127.0.0.1", done));
    const port = (busy.address() as { port: number }).port;
    try {
      const r = run("busy", `127.0.0.1:${port}`);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        `slt: error E_CONFIG: --dashboard 127.0.0.1:${port}: the port is in use by another process; give a free [HOST:]PORT of this machine (port 0: any free port)\n`,
      );
      expect(existsSync(join(work, "busy"))).toBe(false);
    } finally {
      busy.close();
    }
  });

  it("an address that is not [HOST:]PORT is one E_CONFIG line", () => {
    const r = run("bad", "localhost:");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^slt: error E_CONFIG: --dashboard "localhost:": expected \[HOST:\]PORT/);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    // a dry run checks it too
    const dry = runCli(work, ["run", "--dashboard", "nope:1:2", "--dry-run"]);
    expect([dry.code, dry.stderr]).toEqual([
      2,
      'slt: error E_CONFIG: --dashboard "nope:1:2": expected [HOST:]PORT such as 8080 or 0.0.0.0:8080 (port 0: any free port)\n',
    ]);
  });
});
