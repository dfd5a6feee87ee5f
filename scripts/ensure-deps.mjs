// Runs before `npm start` and `npm test`: on a fresh clone it installs the locked dependencies,
// including the pinned Node runtime that npm scripts then use. Plain JS so Node 20 can run it.
import { execSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";

const marker = "node_modules/.package-lock.json";
const stale = !existsSync(marker) || statSync("package-lock.json").mtimeMs > statSync(marker).mtimeMs;
if (stale || !existsSync("node_modules/node/bin/node")) {
  process.stderr.write("slt: installing dependencies (npm ci) ...\n");
  execSync("npm ci --no-audit --no-fund", { stdio: ["ignore", "inherit", "inherit"] });
}
