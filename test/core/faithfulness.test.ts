// The seven departures from the reference found in issue 8: each default now matches the reference
// (slt-ga.md and the authors' 2024 code); where a departure stays available it is a named option.
import { describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/core/config.ts";

const cli = (patch: unknown) => ({ source: "command line", patch });

describe("faithfulness: blobs data seed (point 6)", () => {
  it("blobs default to the reference's random_state 10, the others to 42; config.json records it", () => {
    expect(resolveConfig(cli({ dataset: { name: "blobs-3" } })).dataset.dataSeed).toBe(10);
    expect(resolveConfig(cli({ dataset: { name: "moons" } })).dataset.dataSeed).toBe(42);
    expect(resolveConfig(cli({ dataset: { name: "digits-4" } })).dataset.dataSeed).toBe(42);
    expect(resolveConfig(cli({ dataset: { name: "blobs-3", dataSeed: 7 } })).dataset.dataSeed).toBe(7);
  });
});
