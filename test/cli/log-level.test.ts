// `--log-level` on run, reproduce and island, and SLT_LOG_LEVEL: an unknown level is one E_CONFIG line
// (exit 2) naming where it came from, before anything runs.
import { describe, expect, it } from "vitest";
import { runCli, scratchDir } from "./helpers.ts";

const work = scratchDir("slt-log-level-");
const LEVELS = "fatal, error, warn, info, debug, trace, silent";

describe("--log-level", () => {
  for (const args of [
    ["run", "--generations", "1"],
    ["reproduce", "--dry-run"],
    ["island", "--join", "ws://127.0.0.1:9/?run=x"],
  ]) {
    it(`slt ${args[0]} refuses an unknown level with one E_CONFIG line`, () => {
      const r = runCli(work, [...args, "--log-level", "verbose"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`slt: error E_CONFIG: --log-level: got "verbose"; expected one of ${LEVELS}\n`);
    });
  }

  it("SLT_LOG_LEVEL is checked as strictly, and --log-level wins over it", () => {
    const env = { ...process.env, SLT_LOG_LEVEL: "loud", SLT_TOKEN: "" };
    const r = runCli(work, ["island", "--join", "ws://127.0.0.1:9/?run=x"], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`slt: error E_CONFIG: SLT_LOG_LEVEL: got "loud"; expected one of ${LEVELS}\n`);
    // with a good flag the environment is not consulted: the island goes on to its own checks
    const ok = runCli(work, ["island", "--join", "ws://127.0.0.1:9/?run=x", "--log-level", "warn"], env);
    expect(ok.stderr).not.toMatch(/SLT_LOG_LEVEL/);
    expect(ok.stderr).toMatch(/SLT_TOKEN/);
  });
});
