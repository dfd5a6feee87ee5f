// The faithfulness settings of issue 8 as a user meets them: flags, errors and what config.json records.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { referenceBoundSecondsPerTry } from "../../src/core/ga/index.ts";
import { runCli, scratchDir } from "./helpers.ts";

const work = scratchDir("slt-faith-");
const slt = (...args: string[]) => runCli(work, args);

const tiny = ["run", "--islands", "1", "--population", "4", "--generations", "1", "--quiet", "--out", work];
const configOf = (name: string) => JSON.parse(readFileSync(join(work, name, "config.json"), "utf8"));

describe("--bound-seconds-per-try", () => {
  it("config.json records the time per try the adaptive bound ran with: the reference's, or the flag's", () => {
    expect(slt(...tiny, "--preset", "2024-adaptive", "--name", "ab-default").code).toBe(0);
    expect(configOf("ab-default").ga.boundSecondsPerTry).toBe(
      referenceBoundSecondsPerTry([2, 75, 2], 50_000),
    );
    const r = slt(...tiny, "--preset", "2024-adaptive", "--bound-seconds-per-try", "2", "--name", "ab-2");
    expect(r.code).toBe(0);
    expect(configOf("ab-2").ga.boundSecondsPerTry).toBe(2);
  });

  it("an island run records it too: config.json holds what the coordinator sends the islands", () => {
    const islands = ["run", "--islands", "2", "--population", "4", "--generations", "2", "--quiet"];
    const r = slt(...islands, "--out", work, "--preset", "2024-adaptive", "--name", "ab-islands");
    expect(r.code, r.stderr).toBe(0);
    expect(configOf("ab-islands").ga.boundSecondsPerTry).toBe(
      referenceBoundSecondsPerTry([2, 75, 2], 50_000),
    );
  });

  it("refuses values that are not finite seconds > 0 with E_CONFIG", () => {
    for (const bad of ["0", "-1", "abc", "Infinity"]) {
      const r = slt(...tiny, "--preset", "2024-adaptive", "--bound-seconds-per-try", bad);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^slt: error E_CONFIG: --bound-seconds-per-try: got/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
