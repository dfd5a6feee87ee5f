// `slt run --dry-run`: everything a run checks before it starts — the resolved configuration, the
// dataset loaded and checked against the network, and for islands the topology, selection and address —
// with the same functions a real run uses, so invalid input fails exactly as it would; then a summary of
// what would run and the run directory it would create. Nothing is written.
import type { ResolvedConfig } from "../core/config.ts";
import { runDirPath } from "../io/run-dir.ts";
import { type DatasetRecord, loadRunData } from "../run/run-data.ts";
import { type ClusterOptions, checkClusterSettings } from "./cluster.ts";

/** The `--json` line of a dry run. */
export interface DryRun {
  readonly dryRun: true;
  readonly mode: "one population" | "islands";
  /** the run directory a real run started now would create */
  readonly runDir: string;
  readonly genomeLength: number;
  readonly dataset: DatasetRecord;
  /** the resolved configuration, data paths absolute, as config.json would hold it */
  readonly config: ResolvedConfig;
}

/** `cluster` is null for one population in-process, else the coordinator's address (default 127.0.0.1). */
export function dryRun(
  resolvedConfig: ResolvedConfig,
  cluster: { listen?: ClusterOptions["listen"] } | null,
): DryRun {
  if (cluster) checkClusterSettings(resolvedConfig, cluster.listen);
  const { config, network, datasetRecord } = loadRunData(resolvedConfig);
  return {
    dryRun: true,
    mode: cluster ? "islands" : "one population",
    runDir: runDirPath(config.out, config.name),
    genomeLength: network.genomeLength,
    dataset: datasetRecord,
    config,
  };
}

/** key value pairs of one configuration section, nested values as JSON; null (no limit) as "none" */
function fields(section: object): string {
  return Object.entries(section)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k} ${v === null ? "none" : typeof v === "object" ? JSON.stringify(v) : String(v)}`)
    .join(", ");
}

export function formatDryRun(d: DryRun): string {
  const c = d.config;
  const r = d.dataset;
  const lines = [
    "slt: dry run: the configuration and the data are valid; nothing was written",
    `  would create   ${d.runDir}`,
    `  dataset        ${r.name}${r.variant ? ` ${r.variant}` : ""}, scale ${r.scale}: ${r.trainRows} training and ${r.testRows} test rows, ${r.features} features, ${r.classes} classes`,
    `  network        [${c.network.architecture.join(",")}], ${d.genomeLength} maskable weights; init ${JSON.stringify(c.network.init)}, weight seed ${c.network.seed}`,
    `  run            ${fields({ preset: c.preset, seed: c.seed, prune: c.prune, pruneOrder: c.pruneOrder, out: c.out, name: c.name })}`,
    `  ga             ${fields(c.ga)}`,
    `  termination    ${fields(c.termination)}`,
    d.mode === "islands"
      ? `  islands        ${fields(c.cluster)}`
      : "  islands        one population in-process",
    "",
  ];
  return lines.join("\n");
}
