#!/usr/bin/env node
// `slt` entry: re-runs src/cli.ts under the project's pinned Node (>= 26 strips TypeScript types).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { requireRuntime } from "../src/runtime.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pinned = join(root, "node_modules", "node", "bin", "node");
const nodeBin = existsSync(pinned) ? pinned : process.execPath;
// without the pinned runtime, this one will run the .ts files: say so in one line if it cannot
if (nodeBin === process.execPath) requireRuntime();
const result = spawnSync(nodeBin, [join(root, "src", "cli.ts"), ...process.argv.slice(2)], {
  stdio: "inherit",
});
process.exit(result.status ?? 1);
