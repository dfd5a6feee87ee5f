// Shared set-up of the cluster tests: a small island run on the built-in digits-3 data.
import { type ConfigPatch, resolveConfig } from "../../src/core/config.ts";

/** A small cluster configuration under `out`: digits-3, seed 5, 20 individuals per island, no pruning; `patch` over it. */
export function digitsClusterConfig(out: string, name: string, patch: ConfigPatch) {
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
