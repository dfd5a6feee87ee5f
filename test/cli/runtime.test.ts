// The runtime check of the entry points: a pure function of the version string, and its place in the
// entries (first, so that it runs before any other module of the project).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { E_RUNTIME, MIN_NODE, runtimeProblem } from "../../src/runtime.mjs";

const root = resolve(import.meta.dirname, "../..");

describe("runtime check", () => {
  it("names the code, the version at fault and what is needed, in one line", () => {
    for (const old of ["v20.20.2", "22.18.0", "v25.9.9"]) {
      const problem = runtimeProblem(old);
      expect(problem).toMatch(
        new RegExp(
          `^error ${E_RUNTIME}: Node v${old.replace(/^v/, "").replaceAll(".", "\\.")} cannot run slt-islands; it needs Node >= ${MIN_NODE.replaceAll(".", "\\.")}`,
        ),
      );
      expect(problem).not.toMatch(/\n/);
    }
  });

  it("accepts the minimum and anything newer, comparing major, minor and patch as numbers", () => {
    for (const ok of [MIN_NODE, "v26.10.0", "27.0.0", "100.0.0"]) expect(runtimeProblem(ok)).toBeNull();
    expect(runtimeProblem("22.17.9", "22.18.0")).not.toBeNull();
    expect(runtimeProblem("22.9.0", "22.18.0")).not.toBeNull();
    expect(runtimeProblem("22.18.0", "22.18.0")).toBeNull();
    expect(runtimeProblem("22.19.0", "22.18.0")).toBeNull();
    expect(runtimeProblem("23.0.0", "22.18.0")).toBeNull();
    expect(runtimeProblem(process.versions.node)).toBeNull();
  });

  it("asks for the runtime the project pins", () => {
    const pkg = JSON.parse(readFileSync(resolve(root, "package.json"), "utf8"));
    const pinnedMajor = /^\D*(\d+)/.exec(pkg.dependencies.node)?.[1];
    expect(MIN_NODE.split(".")[0]).toBe(pinnedMajor);
  });

  it("runs first in every entry point", () => {
    for (const [entry, guard] of [
      ["src/cli.ts", "./runtime-guard.mjs"],
      ["src/island/main.ts", "../runtime-guard.mjs"],
    ]) {
      const firstImport = /^import .*$/m.exec(readFileSync(resolve(root, entry), "utf8"))?.[0];
      expect(firstImport, entry).toBe(`import "${guard}";`);
    }
    expect(readFileSync(resolve(root, "bin/slt.mjs"), "utf8")).toMatch(/requireRuntime\(\)/);
  });
});
