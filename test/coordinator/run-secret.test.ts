import { describe, expect, it } from "vitest";
import { MIN_SECRET_CHARS, runSecret } from "../../src/coordinator/cluster.ts";
import { E_CONFIG, SltError } from "../../src/core/errors.ts";

describe("runSecret", () => {
  it("makes a fresh 256-bit secret when none is given", () => {
    const a = runSecret(undefined);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(runSecret("")).not.toBe(a);
  });

  it("keeps a secret the user chose (SLT_TOKEN), so islands can be joined by hand", () => {
    const mine = "a".repeat(MIN_SECRET_CHARS);
    expect(runSecret(mine)).toBe(mine);
  });

  it("refuses a short one or one with spaces, in one line that does not show it", () => {
    for (const bad of ["short", `${"b".repeat(40)} tail`]) {
      let error: unknown;
      try {
        runSecret(bad);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SltError);
      expect((error as SltError).code).toBe(E_CONFIG);
      expect((error as SltError).message).toMatch(/^SLT_TOKEN must be at least 32 characters/);
      expect((error as SltError).message).not.toContain(bad);
    }
  });
});
