import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // one seed for every property test (FC_SEED overrides it): see the file
    setupFiles: ["test/setup/fast-check.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // the JSON report is what .ci/run counts; the default reporter is for people
    reporters: ["default", ["json", { outputFile: ".vitest-report.json" }]],
  },
});
