import { describe, expect, it } from "vitest";
import { Latch } from "../../src/island/latch.ts";

describe("Latch", () => {
  it("resolves once with the first value; later opens and fails do nothing", async () => {
    const l = new Latch<number>();
    expect(l.settled).toBe(false);
    expect(l.open(1)).toBe(true);
    expect(l.open(2)).toBe(false);
    expect(l.fail(new Error("late"))).toBe(false);
    expect(l.settled).toBe(true);
    await expect(l.promise).resolves.toBe(1);
  });

  it("rejects once; a latch failed with nobody waiting reports no unhandled rejection", async () => {
    const l = new Latch();
    expect(l.fail(new Error("lost"))).toBe(true);
    expect(l.open()).toBe(false);
    await expect(l.promise).rejects.toThrow("lost");
    new Latch().fail(new Error("nobody listens"));
  });
});
