// What the in-process cluster tests share: a small resolved configuration (digits-3, population 20, no
// pruning, seed 5) written under a scratch directory, and a run's events read back from events.jsonl.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ClusterSummary } from "../../src/coordinator/cluster.ts";
import { type ConfigPatch, resolveConfig } from "../../src/core/config.ts";

export function clusterConfig(out: string, name: string, patch: ConfigPatch) {
  return resolveConfig({
    source: "test",
    patch: {
      name,
      out,
      seed: 5,
      dataset: { name: "digits-3" },
      ga: { population: 20 },
      prune: "none",
      ...patch,
    },
  });
}

export function runEvents(summary: ClusterSummary): Record<string, unknown>[] {
  return readFileSync(join(summary.runDir, "events.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
}
