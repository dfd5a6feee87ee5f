// Runs before `npm start` and `npm test`: on a fresh clone it installs the locked dependencies,
// including the pinned Node runtime that npm scripts then use. Plain JS so Node 20 can run it.
//
// "Stale" compares contents, not file times: a checkout, merge or worktree rewrites package-lock.json
// with a new mtime but the same packages, and reinstalling then would wipe a working node_modules.
// npm writes node_modules/.package-lock.json with the installed tree; it matches the lockfile's
// `packages` (less the root entry) exactly when the install is current.
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, readFileSync } from "node:fs";

function installedTree() {
  try {
    return JSON.parse(readFileSync("node_modules/.package-lock.json", "utf8")).packages ?? null;
  } catch {
    return null;
  }
}

function lockedTree() {
  const { "": _root, ...packages } = JSON.parse(readFileSync("package-lock.json", "utf8")).packages ?? {};
  return packages;
}

// Platform-specific optional packages (other CPUs' binaries) are in the lockfile but never installed.
function sameTree(installed, locked) {
  const missing = Object.keys(locked).some((n) => !installed[n] && !locked[n].optional);
  const differs = Object.keys(installed).some((n) => locked[n]?.version !== installed[n].version);
  return !missing && !differs;
}

const installed = installedTree();
const current =
  installed !== null && sameTree(installed, lockedTree()) && existsSync("node_modules/node/bin/node");
if (!current) {
  if (existsSync("node_modules") && lstatSync("node_modules").isSymbolicLink()) {
    // a shared install (e.g. a git worktree's link to another checkout): never wipe it from here
    process.stderr.write(
      "slt: node_modules is a link to another install and does not match package-lock.json; run npm ci there\n",
    );
    process.exit(1);
  }
  process.stderr.write("slt: installing dependencies (npm ci) ...\n");
  install();
}

// npm warns EBADENGINE for every package that declares a newer Node than the one running the install
// (vitest, kubernetes-models, a dependency of pino-pretty: Node >= 20.x or 22). None runs under it: npm
// scripts run everything under the pinned Node 26. So those warnings are folded into one line; everything
// else npm says passes through.
function install() {
  const r = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], {
    stdio: ["ignore", "inherit", "pipe"],
    encoding: "utf8",
  });
  const lines = (r.stderr ?? "").split("\n");
  const engine = lines.filter((l) => l.includes("EBADENGINE"));
  const rest = lines.filter((l) => !l.includes("EBADENGINE")).join("\n");
  if (rest.trim() !== "") process.stderr.write(`${rest.trimEnd()}\n`);
  const packages = engine.map((l) => /package: '([^']+)'/.exec(l)?.[1]).filter(Boolean);
  if (packages.length > 0)
    process.stderr.write(
      `slt: ${packages.length} packages declare a newer Node than ${process.version} (${packages.join(", ")}); npm scripts run everything under the pinned Node\n`,
    );
  if (r.error) throw r.error;
  if (r.status !== 0) process.exit(r.status ?? 1);
}
