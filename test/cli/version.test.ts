// `slt --version` and `-V`, through the installed entry (bin/slt.mjs).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { gitCommit } from "../../src/io/versions.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const BIN = resolve(ROOT, "bin/slt.mjs");
const pinned = resolve(ROOT, "node_modules/node/bin/node");
/** what bin/slt.mjs runs the CLI on: the pinned runtime, else the Node that runs it */
const RUNTIME = existsSync(pinned) ? pinned : process.execPath;

describe("slt --version", () => {
  for (const flag of ["--version", "-V"]) {
    it(`${flag} prints the package version, the commit and the Node version the CLI runs on`, () => {
      const r = spawnSync(process.execPath, [BIN, flag], { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      const pkg = JSON.parse(readFileSync(resolve(ROOT, "package.json"), "utf8"));
      const node = spawnSync(RUNTIME, ["--version"], { encoding: "utf8" }).stdout.trim().replace(/^v/, "");
      expect(r.stdout.trim().split("\n")).toEqual([
        `slt-islands ${pkg.version}`,
        `commit ${gitCommit() ?? "unknown (not a git checkout)"}`,
        `node ${node}`,
      ]);
    });
  }
});
