import { expect } from "vitest";
import { SltError } from "../../src/core/errors.ts";

/** The SltError `f` throws (fails the test if it throws nothing or something else). */
export function errorOf(f: () => unknown, code: string): SltError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SltError);
    expect((e as SltError).code).toBe(code);
    return e as SltError;
  }
  throw new Error("expected an error");
}
