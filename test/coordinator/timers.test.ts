import { describe, expect, it } from "vitest";
import { Timers } from "../../src/coordinator/timers.ts";

describe("Timers", () => {
  it("clear() cancels every timer and settles pending delays", async () => {
    const timers = new Timers();
    let fired = 0;
    timers.after(60_000, () => fired++);
    timers.every(60_000, () => fired++);
    const delayed = timers.delay(60_000);
    timers.clear();
    await delayed; // would hang for a minute if clear() left it pending
    expect(fired).toBe(0);
  });

  it("a delay resolves after its time when nothing clears it", async () => {
    const timers = new Timers();
    const order: string[] = [];
    timers.after(1, () => order.push("after"));
    await timers.delay(5);
    order.push("delay");
    expect(order).toEqual(["after", "delay"]);
    timers.clear();
  });
});
