// The coordinator-capacity benchmark as `npm run bench -- --only coordinator-capacity --quick --json` runs
// it, with 4 simulated islands: its lines are well formed, and every report every simulated island sent
// reached the coordinator (through the real handshake, tags and codec) and was paired with its send.
// No timing figure is asserted, only that each is a number.
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const RUNNER = resolve(import.meta.dirname, "../../bench/run.ts");

describe("bench/coordinator-capacity.ts", () => {
  it("--quick: one real coordinator takes every report of 4 simulated islands", () => {
    const r = spawnSync(process.execPath, [RUNNER, "--quick", "--only", "coordinator-capacity", "--json"], {
      encoding: "utf8",
      timeout: 90_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const figures = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(figures).toHaveLength(1);
    const f = figures[0];
    expect(f).toMatchObject({
      bench: "coordinator-capacity",
      figure: "capacity",
      scenario: "default",
      islands: 4,
      interval: 5,
      islands_reporting: 4,
      reports_missing: 0,
      migration_events_per_report: 1,
      warnings: 0,
      cores: availableParallelism(),
      node: process.version,
      quick: true,
    });
    // the islands reported in the window, and more in the idle-to-window warm-up and at the stop
    expect(f.reports_in_window).toBeGreaterThan(0);
    expect(f.reports_sent as number).toBeGreaterThan(f.reports_in_window as number);
    for (const key of [
      "reports_per_s",
      "cpu_ms_per_report",
      "cpu_ms_per_report_gross",
      "heartbeat_cpu_ms_per_island_s",
      "report_latency_ms_p50",
      "report_latency_ms_p99",
      "report_latency_ms_max",
      "event_bytes_per_report",
      "rss_mb",
      "rss_per_island_kb",
      "heap_per_island_kb",
    ])
      expect(Number.isFinite(f[key]), key).toBe(true);
    expect(f.report_latency_ms_p50 as number).toBeGreaterThanOrEqual(0);
    expect(f.report_latency_ms_p99 as number).toBeGreaterThanOrEqual(f.report_latency_ms_p50 as number);
    expect(r.stderr).toContain("4 islands");
  });
});
