// Ctrl-C during a run: the run stops after the current generation and still leaves its ticket.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CLI } from "./helpers.ts";

const work = mkdtempSync(join(tmpdir(), "slt-int-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("slt run interrupted", () => {
  it("SIGINT ends the run cleanly with a ticket marked interrupted", async () => {
    const child = spawn(
      process.execPath,
      [
        CLI,
        "run",
        "--islands",
        "1",
        "--dataset",
        "digits-3",
        "--generations",
        "100000",
        "--json",
        "--out",
        work,
        "--name",
        "int",
      ],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    // Signal once the run has reported a generation past the first: proof the loop is running.
    child.stderr.on("data", (d) => {
      stderr += d;
      if (/gen\s+[1-9]/.test(stderr) && child.exitCode === null && !child.killed) child.kill("SIGINT");
    });
    const code = await new Promise<number | null>((done) => child.on("close", done));
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/stopping after this generation/);
    const summary = JSON.parse(stdout.trim());
    expect(summary.stopReason).toBe("interrupted");
    expect(summary.generations).toBeLessThan(100000);
    expect(existsSync(join(work, "int", "checkpoint.json"))).toBe(true);
    const ticket = JSON.parse(readFileSync(summary.ticket, "utf8"));
    expect(ticket.metrics.stopReason).toBe("interrupted");
    const events = readFileSync(join(work, "int", "events.jsonl"), "utf8")
      .trim()
      .split("\n");
    expect(JSON.parse(events[events.length - 1])).toMatchObject({ type: "end", stopReason: "interrupted" });
  });
});
