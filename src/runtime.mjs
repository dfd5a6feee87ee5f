// The runtime check of every entry point (bin/slt.mjs, src/cli.ts, src/island/main.ts). Plain
// JavaScript, so that the Node that runs `npm ci` (>= 20, package.json "engines") can run it too and
// say in one line why it cannot run the project, instead of failing on the first `.ts` file.

/** The project runs on the runtime it pins (the `node` dependency, Node 26), the only one it is tested on. */
export const MIN_NODE = "26.0.0";
export const E_RUNTIME = "E_RUNTIME";

/** [major, minor, patch] of "v22.18.0" or "22.18.0". */
function parts(version) {
  return version
    .replace(/^v/, "")
    .split(".")
    .map((p) => Number.parseInt(p, 10) || 0);
}

/**
 * Why `version` cannot run the project, as one line; null when it can.
 * @param {string} version e.g. process.versions.node
 * @param {string} [minimum]
 * @returns {string | null}
 */
export function runtimeProblem(version, minimum = MIN_NODE) {
  const [have, need] = [parts(version), parts(minimum)];
  for (let i = 0; i < 3; i++) {
    if ((have[i] ?? 0) > need[i]) return null;
    if ((have[i] ?? 0) < need[i]) {
      return (
        `error ${E_RUNTIME}: Node ${version.replace(/^v?/, "v")} cannot run slt-islands; it needs Node >= ${minimum} ` +
        "(type stripping runs its .ts files): run `npm ci` and use `npm run slt --`, `npm start` or bin/slt.mjs, " +
        "which run the pinned node_modules/.bin/node"
      );
    }
  }
  return null;
}

/** Ends the process with the one-line error (exit code 2) when this runtime cannot run the project. */
export function requireRuntime(version = process.versions.node) {
  const problem = runtimeProblem(version);
  if (problem === null) return;
  process.stderr.write(`slt: ${problem}\n`);
  process.exit(2);
}
