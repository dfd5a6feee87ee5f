import { afterEach, describe, expect, it, vi } from "vitest";
import {
  type HostSample,
  HostStatsSampler,
  type HostStatsSource,
  osSample,
  osUtilsSource,
} from "../../src/island/host-stats.ts";

const sample = (cpuPercent: number): HostSample => ({
  loadAverage: 1,
  cpuPercent,
  memoryUsedBytes: 100,
  memoryTotalBytes: 1000,
});

/** A source whose readings the test releases one by one. */
function fakeSource() {
  const pending: ((s: HostSample) => void)[] = [];
  let calls = 0;
  const source: HostStatsSource = {
    sample: () => {
      calls++;
      return new Promise((resolve) => pending.push(resolve));
    },
  };
  return {
    source,
    calls: () => calls,
    release: (s: HostSample) => pending.shift()?.(s),
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("host stats sampler", () => {
  it("serves the latest finished sample synchronously and never waits for a refresh", async () => {
    const f = fakeSource();
    const sampler = new HostStatsSampler({ source: f.source });
    // before any refresh: what node:os says, without a CPU reading
    expect(sampler.latest().cpuPercent).toBeNull();
    expect(sampler.latest().memoryTotalBytes).toBeGreaterThan(0);
    const first = sampler.refresh();
    expect(sampler.latest().cpuPercent).toBeNull(); // still running: the old sample
    f.release(sample(42));
    await first;
    expect(sampler.latest()).toEqual(sample(42));
    // a refresh that is still running is joined, not started twice
    const a = sampler.refresh();
    const b = sampler.refresh();
    expect(f.calls()).toBe(2);
    f.release(sample(7));
    await Promise.all([a, b]);
    expect(sampler.latest().cpuPercent).toBe(7);
  });

  it("a failing source keeps the previous sample", async () => {
    let fail = false;
    const sampler = new HostStatsSampler({
      source: { sample: () => (fail ? Promise.reject(new Error("no /proc")) : Promise.resolve(sample(3))) },
    });
    await sampler.refresh();
    fail = true;
    await sampler.refresh();
    expect(sampler.latest().cpuPercent).toBe(3);
  });

  it("refreshes on its timer until stopped", async () => {
    vi.useFakeTimers();
    const f = fakeSource();
    const sampler = new HostStatsSampler({ source: f.source, intervalMs: 2000 }).start();
    expect(f.calls()).toBe(1); // a first sample at once
    f.release(sample(10));
    await vi.advanceTimersByTimeAsync(2000);
    expect(f.calls()).toBe(2);
    f.release(sample(20));
    await vi.advanceTimersByTimeAsync(2000);
    expect(f.calls()).toBe(3);
    expect(sampler.latest().cpuPercent).toBe(20);
    sampler.stop();
    f.release(sample(30)); // arrives after stop: ignored
    await vi.advanceTimersByTimeAsync(10_000);
    expect(f.calls()).toBe(3);
    expect(sampler.latest().cpuPercent).toBe(20);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("node-os-utils gives sane figures on this host", async () => {
    const s = await osUtilsSource().sample();
    expect(s.cpuPercent).not.toBeNull();
    expect(s.cpuPercent as number).toBeGreaterThanOrEqual(0);
    expect(s.cpuPercent as number).toBeLessThanOrEqual(100);
    expect(s.memoryTotalBytes as number).toBeGreaterThan(0);
    expect(s.memoryUsedBytes as number).toBeGreaterThan(0);
    expect(s.memoryUsedBytes as number).toBeLessThanOrEqual(s.memoryTotalBytes as number);
    const os = osSample();
    expect(os.memoryTotalBytes).toBe(s.memoryTotalBytes);
  });
});
