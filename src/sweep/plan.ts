// A sweep's runs, expanded from its spec: the settings (base + one grid point, then base + each
// `settings` entry, in the spec's order) times the seeds, seed-major, so that an interrupted sweep has
// every setting at its first seeds. Each setting has a stable readable name made of the fields that set
// it apart (`topology=ring,interval=5`; the grid's keys with more than one value, or a settings entry's
// own fields, or its `name`) and a folder-safe slug; each run's directory is `<slug>-s<seed>`. A
// setting's `"command"` chooses the `slt` command its runs are (`slt run`, or a baseline, spec.ts); the
// budget's flags go to `slt run` settings only (a baseline trains its epochs). Pure.
import { E_CONFIG, SltError } from "../core/errors.ts";
import { commandOf, type Fields, type FieldValue, hashOf, RUN_COMMAND, type SweepSpec } from "./spec.ts";

export interface SweepSetting {
  /** readable, unique within the sweep: "topology=ring,interval=5" */
  readonly name: string;
  /** the name as a folder name: "topology-ring_interval-5" */
  readonly slug: string;
  /** every run field: base with this setting's own on top (`command` included, when given) */
  readonly fields: Fields;
  /** the `slt` command its runs are, as the spec names it: "run", "baseline dense", … */
  readonly command: string;
  /** the fields that set this setting apart (the grid point's varying keys, or the entry's own) */
  readonly own: Fields;
  /** the command's arguments for every run of the setting: its fields (but `command`) and the budget */
  readonly args: readonly string[];
  /** the spec has a budget, which this setting's runs do not get (a baseline trains its epochs) */
  readonly unbudgeted: boolean;
}

export interface PlannedRun {
  readonly setting: SweepSetting;
  readonly seed: number;
  /** the run directory's name under the sweep's folder */
  readonly dir: string;
  /** the command's arguments, but --out: the fields, the budget, --seed and --name */
  readonly args: readonly string[];
}

export interface Plan {
  readonly settings: readonly SweepSetting[];
  readonly runs: readonly PlannedRun[];
}

/** A value as a name shows it: arrays with x (`64x75x10`), as the run folders of `slt run` do. */
const shown = (v: FieldValue): string => (Array.isArray(v) ? v.join("x") : String(v));

/** `topology=ring,interval=5`, `baseline dense,lr=0.01` (a command by itself); "base" for none */
function nameOf(own: Fields): string {
  const parts = Object.entries(own).map(([k, v]) =>
    v === true ? k : k === "command" ? shown(v) : `${k}=${shown(v)}`,
  );
  return parts.length === 0 ? "base" : parts.join(",");
}

const MAX_SLUG = 80;

/** A folder-safe form of a name; long ones are cut and made unique with a hash of the whole name. */
export function slugOf(name: string): string {
  const slug = name
    .replaceAll("=", "-")
    .replaceAll(",", "_")
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/^[.-]+/, "");
  if (slug.length <= MAX_SLUG && slug !== "") return slug;
  return `${slug.slice(0, MAX_SLUG - 9)}-${hashOf(name, 8)}`;
}

/** The grid's points, in the spec's key order, the last key changing fastest. */
function gridPoints(grid: SweepSpec["grid"]): Fields[] {
  let points: Record<string, FieldValue>[] = [{}];
  for (const [key, values] of Object.entries(grid))
    points = points.flatMap((p) => values.map((v) => ({ ...p, [key]: v })));
  return Object.keys(grid).length === 0 ? [] : points;
}

/** The grid's points and the settings entries, each with its name; base alone when there are none. */
function settingsOf(spec: SweepSpec): SweepSetting[] {
  const varying = new Set(
    Object.entries(spec.grid)
      .filter(([, vs]) => vs.length > 1)
      .map(([k]) => k),
  );
  const made: { name: string; own: Fields; fields: Fields }[] = gridPoints(spec.grid).map((p) => {
    const own = Object.fromEntries(Object.entries(p).filter(([k]) => varying.has(k)));
    return { name: nameOf(own), own, fields: { ...spec.base, ...p } };
  });
  for (const entry of spec.settings) {
    const { name, ...own } = entry;
    made.push({ name: typeof name === "string" ? name : nameOf(own), own, fields: { ...spec.base, ...own } });
  }
  if (made.length === 0) made.push({ name: "base", own: {}, fields: spec.base });
  const budget = budgetArgs(spec.budget);
  return made.map((s) => {
    const command = commandOf(s.fields);
    const flags = Object.entries(s.fields).filter(([k]) => k !== "command");
    return {
      ...s,
      command,
      slug: slugOf(s.name),
      args: [...flags.flatMap(([k, v]) => flagArgs(k, v)), ...(command === RUN_COMMAND ? budget : [])],
      unbudgeted: budget.length > 0 && command !== RUN_COMMAND,
    };
  });
}

/** Refuses two settings of one name or slug, naming both, so no two runs share a directory. */
function checkUnique(settings: readonly SweepSetting[], source: string): void {
  const byName = new Map<string, SweepSetting>();
  const bySlug = new Map<string, SweepSetting>();
  for (const s of settings) {
    const other = byName.get(s.name) ?? bySlug.get(s.slug);
    if (other !== undefined)
      throw new SltError(
        E_CONFIG,
        `sweep spec ${source}: settings: two settings are both named "${s.name}" (folder ${s.slug}): ${JSON.stringify(other.fields)} and ${JSON.stringify(s.fields)}; give a settings entry a "name" of its own`,
      );
    byName.set(s.name, s);
    bySlug.set(s.slug, s);
  }
}

/** A field as the command's arguments; see spec.ts. */
function flagArgs(key: string, v: FieldValue): string[] {
  if (v === false) return [];
  if (v === true) return [`--${key}`];
  return [`--${key}`, Array.isArray(v) ? v.join(",") : String(v)];
}

/** The budget's flags, the same for every `slt run` run. */
function budgetArgs(budget: SweepSpec["budget"]): string[] {
  return [
    ...(budget?.evaluations !== undefined ? ["--max-evaluations", String(budget.evaluations)] : []),
    ...(budget?.seconds !== undefined ? ["--time-limit", String(budget.seconds)] : []),
  ];
}

/**
 * Lockstep islands stop only at their generation cap (core/config.ts refuses an evaluation budget for
 * them), so a spec whose setting is lockstep on several islands cannot have budget.evaluations.
 */
function checkBudget(spec: SweepSpec, settings: readonly SweepSetting[], source: string): void {
  if (spec.budget?.evaluations === undefined) return;
  const lockstep = settings.find((s) => s.fields.mode === "lockstep" && s.fields.islands !== 1);
  if (lockstep !== undefined)
    throw new SltError(
      E_CONFIG,
      `sweep spec ${source}: budget.evaluations: setting "${lockstep.name}" runs lockstep islands, which stop only at their generation cap; give those settings "generations" and use budget.seconds or no budget`,
    );
}

/** The runs of a spec (read from `source`, for messages). */
export function planSweep(spec: SweepSpec, source: string): Plan {
  const settings = settingsOf(spec);
  checkUnique(settings, source);
  checkBudget(spec, settings, source);
  if (spec.baseline !== undefined && !settings.some((s) => s.name === spec.baseline))
    throw new SltError(
      E_CONFIG,
      `sweep spec ${source}: baseline: "${spec.baseline}" is not a setting's name; the settings: ${settings.map((s) => `"${s.name}"`).join(", ")}`,
    );
  const runs = spec.seeds.flatMap((seed) =>
    settings.map((setting) => {
      const dir = `${setting.slug}-s${seed}`;
      return { setting, seed, dir, args: [...setting.args, "--seed", String(seed), "--name", dir] };
    }),
  );
  return { settings, runs };
}
