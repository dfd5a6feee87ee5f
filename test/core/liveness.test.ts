import { describe, expect, it } from "vitest";
import { PauseClock, watchPeriodMs } from "../../src/core/liveness.ts";

describe("PauseClock", () => {
  it("counts silence as wall-clock time while the watch ticks on time", () => {
    const c = new PauseClock(1000, 5000);
    for (let t = 0; t <= 6000; t += 1000) expect(c.tick(t)).toBe(0);
    expect(c.silence(500, 6000)).toBe(5500);
  });

  it("leaves out a pause of this process (a late tick), but not the time before it", () => {
    const c = new PauseClock(1000, 5000);
    c.tick(0);
    c.tick(1000);
    expect(c.tick(76_000)).toBe(74_000); // due at 2000, ran at 76 000
    // heard at 500: ran 1500 ms before the pause, none during it
    expect(c.silence(500, 76_000)).toBe(1500);
    expect(c.silence(500, 77_000)).toBe(2500);
    // heard after the pause: plain time
    expect(c.silence(76_500, 77_000)).toBe(500);
  });

  it("takes timer jitter of up to half a period for running time", () => {
    const c = new PauseClock(1000, 5000);
    c.tick(0);
    expect(c.tick(1400)).toBe(0);
    expect(c.silence(0, 1400)).toBe(1400);
  });

  it("forgets pauses older than ten timeouts", () => {
    const c = new PauseClock(1000, 100);
    c.tick(0);
    c.tick(5000);
    c.tick(5000 + 1000 * 1000);
    // the second pause (6000 … 1 005 000) counts, the first (1000 … 5000) is forgotten
    expect(c.silence(0, 5000 + 1000 * 1000)).toBe(6000);
  });

  it("ticks a quarter of the timeout, between 100 ms and 1 s", () => {
    expect(watchPeriodMs(60_000)).toBe(1000);
    expect(watchPeriodMs(2000)).toBe(500);
    expect(watchPeriodMs(100)).toBe(100);
  });
});
