// Property tests draw from one seeded stream, so a run of the suite is repeatable: CI and a
// developer see the same cases. fast-check prints the seed (and path) of a failing property; to
// replay it, or to explore other cases, set FC_SEED=<seed> (FC_RUNS raises the number of cases).
import fc from "fast-check";

const DEFAULT_SEED = 20261207;

function intFromEnv(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`${name} must be an integer, got "${v}"`);
  return n;
}

fc.configureGlobal({ seed: intFromEnv("FC_SEED", DEFAULT_SEED), numRuns: intFromEnv("FC_RUNS", 100) });
