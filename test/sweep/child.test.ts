import { describe, expect, it } from "vitest";
import { runJson, startSlt } from "../../src/sweep/child.ts";

describe("a child slt command", () => {
  it("gives the run's --json summary", async () => {
    const r = await startSlt("run", ["--islands", "1", "--dataset", "moons", "--dry-run"]).done;
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.summary).toMatchObject({ dryRun: true, mode: "one population" });
  });

  it("a failed child gives its error line and exit code; runJson throws them", async () => {
    const r = await startSlt("run", ["--islands", "1", "--topology", "rnig", "--dry-run"]).done;
    expect(r).toMatchObject({ ok: false, code: 2 });
    if (!r.ok) expect(r.error).toMatch(/^slt: error E_\w+: .*rnig.* \(exit code 2\)$/);
    await expect(runJson(["--islands", "1", "--population", "1", "--dry-run"])).rejects.toThrow(
      /^slt run --islands 1 --population 1 --dry-run exited with 2: slt: error E_CONFIG/,
    );
  });

  it("a child killed by a signal says so", async () => {
    const child = startSlt("run", ["--islands", "1", "--dataset", "moons", "--dry-run"]);
    child.kill("SIGKILL");
    const r = await child.done;
    expect(r).toMatchObject({ ok: false, code: null, error: expect.stringContaining("killed by SIGKILL") });
  });
});
