// Grouping runs into settings, and naming each setting by what sets it apart. Pure.
//
// Runs form one setting when their configurations (config.json) are equal once the fields that only
// name, place or operate a run are left out (IGNORED below), so the seeds of one sweep point fall
// together. Left out, because they do not change what the search does:
//   seed                        the repetition itself (what a setting's runs differ in)
//   name, out, runDir           where the run was written
//   startTime, versions         when and with which build it ran (a resumed sweep may span a rebuild)
//   dataset.resolved            written by the run from the dataset fields, which are compared
//   network.seed                when it is the run seed (its default): it follows the seed
//   checkpointEvery             checkpoints do not change the search
//   cluster.maxRestarts, cluster.coordinatorTimeoutSeconds, cluster.tls
//                               recovery and transport, not the search
// and for one population (cluster.islands = 1) every other cluster field but timeLimitSeconds: the
// topology, interval, migrants ... of a run without islands are unused defaults, and keeping them would
// label a one-population baseline "topology=ring". Dataset file paths (dataset.train/test) are kept: other
// files are other data.

import type { Config } from "../core/config.ts";
import { E_REPORT, SltError } from "../core/errors.ts";

const IGNORED = new Set([
  "seed",
  "name",
  "out",
  "runDir",
  "startTime",
  "versions",
  "dataset.resolved",
  "checkpointEvery",
  "cluster.maxRestarts",
  "cluster.coordinatorTimeoutSeconds",
  "cluster.tls",
]);
/** kept whole: a custom topology is one value, not a field per edge */
const LEAVES = new Set(["cluster.topology"]);
const ONE_POPULATION_CLUSTER = new Set(["cluster.islands", "cluster.timeLimitSeconds"]);

/** A configuration as dotted field → JSON text of its value, without the fields a setting ignores. */
export function settingFields(config: Config): Map<string, string> {
  const out = new Map<string, string>();
  const onePopulation = config.cluster.islands === 1;
  const walk = (value: unknown, path: string) => {
    if (IGNORED.has(path) || value === undefined) return;
    if (onePopulation && path.startsWith("cluster.") && !ONE_POPULATION_CLUSTER.has(path)) return;
    if (path === "network.seed" && value === config.seed) return;
    if (typeof value === "object" && value !== null && !Array.isArray(value) && !LEAVES.has(path)) {
      for (const [k, v] of Object.entries(value)) walk(v, path ? `${path}.${k}` : k);
      return;
    }
    out.set(path, JSON.stringify(value));
  };
  walk(config, "");
  return out;
}

/** A setting: runs with equal configurations but for the seed (see the file comment). */
export interface Setting<R> {
  /** what sets it apart from the other settings, e.g. "islands=4, topology=ring" */
  readonly label: string;
  /** the differing fields it has, by short name, as text ("topology" → "ring") */
  readonly fields: Readonly<Record<string, string>>;
  /** its configuration (its first run's), for the full listing */
  readonly config: Config;
  readonly runs: readonly R[];
}

/** The readable name of a dotted field: its last part ("kind"/"name": its parent's, e.g. "generator"). */
function shortName(path: string): string {
  const parts = path.split(".");
  const last = parts[parts.length - 1];
  if (path === "network.architecture") return "arch";
  return (last === "kind" || last === "name") && parts.length > 1 ? parts[parts.length - 2] : last;
}

function valueText(json: string): string {
  const v = JSON.parse(json) as unknown;
  if (typeof v === "string") return v;
  if (Array.isArray(v) && v.every((x) => typeof x !== "object")) return v.join(",");
  return v === null ? "none" : JSON.stringify(v);
}

/**
 * The dotted fields whose value (or presence) is not the same in every group, in first-seen order. A
 * one-population group has no cluster fields but islands: it is left out of theirs, so that a baseline
 * of one population does not make every island setting's topology, interval ... "differ".
 */
function differingFields(groups: readonly Map<string, string>[]): string[] {
  const keys = [...new Set(groups.flatMap((g) => [...g.keys()]))];
  const islands = (g: Map<string, string>) => g.get("cluster.islands") ?? "1";
  return keys.filter((k) => {
    const relevant =
      k.startsWith("cluster.") && !ONE_POPULATION_CLUSTER.has(k)
        ? groups.filter((g) => islands(g) !== "1")
        : groups;
    return relevant.some((g) => g.get(k) !== relevant[0].get(k));
  });
}

/** Names of the differing fields: short where that is unambiguous among them, else the dotted path. */
function fieldNames(paths: readonly string[]): Map<string, string> {
  const count = new Map<string, number>();
  for (const p of paths) count.set(shortName(p), (count.get(shortName(p)) ?? 0) + 1);
  return new Map(paths.map((p) => [p, count.get(shortName(p)) === 1 ? shortName(p) : p]));
}

/**
 * The runs grouped into settings, in the order their first runs come; labels name only the fields that
 * differ between settings. `sweepNames` (run directory → a sweep's setting name, from sweep.jsonl) gives
 * a setting its sweep name instead when the runs that have one (a run not recorded yet has none) carry the
 * same one and no other setting does.
 */
export function groupSettings<R extends { readonly dir: string; readonly config: Config }>(
  runs: readonly R[],
  sweepNames: ReadonlyMap<string, string> = new Map(),
): Setting<R>[] {
  const groups = new Map<string, { fields: Map<string, string>; runs: R[] }>();
  for (const run of runs) {
    const fields = settingFields(run.config);
    const key = JSON.stringify([...fields].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const group = groups.get(key) ?? { fields, runs: [] };
    group.runs.push(run);
    groups.set(key, group);
  }
  const list = [...groups.values()];
  const differing = differingFields(list.map((g) => g.fields));
  const names = fieldNames(differing);
  // runs of a sweep still running (or stopped) have no record yet: the named runs decide
  const sweepName = (g: { runs: R[] }) => {
    const found = new Set(g.runs.map((r) => sweepNames.get(r.dir)).filter((n) => n !== undefined));
    return found.size === 1 ? [...found][0] : undefined;
  };
  const sweepLabels = list.map(sweepName);
  const used = new Set<string>();
  return list.map((g, k) => {
    const fields: Record<string, string> = {};
    for (const path of differing) {
      const v = g.fields.get(path);
      if (v !== undefined) fields[names.get(path) as string] = valueText(v);
    }
    const own = Object.entries(fields)
      .map(([n, v]) => `${n}=${v}`)
      .join(", ");
    const fromSweep = sweepLabels[k];
    const unique = fromSweep !== undefined && sweepLabels.filter((s) => s === fromSweep).length === 1;
    let label = unique ? fromSweep : own || (list.length === 1 ? "all runs" : `setting ${k + 1}`);
    if (used.has(label)) label = `${label} #${k + 1}`;
    used.add(label);
    return { label, fields, config: g.runs[0].config, runs: g.runs };
  });
}

/**
 * The setting the others are compared with: the first GA setting with one population (islands = 1), else
 * the first GA setting, else the first. A gradient baseline's runs (`slt baseline`, config.json's
 * `baseline`) are one process too, but the comparison is of searches: one chosen by its place among the
 * runs would turn with their directory names.
 */
export function baselineIndex(settings: readonly Setting<unknown>[], label?: string): number {
  if (label !== undefined) {
    const named = settings.findIndex((s) => s.label === label);
    if (named === -1)
      throw new SltError(
        E_REPORT,
        `baseline "${label}" is not a setting of these runs; they are: ${settings.map((s) => `"${s.label}"`).join(", ")}`,
      );
    return named;
  }
  const ga = (s: Setting<unknown>) => s.config.baseline === undefined;
  const k = settings.findIndex((s) => ga(s) && s.config.cluster.islands === 1);
  return Math.max(0, k !== -1 ? k : settings.findIndex(ga));
}
