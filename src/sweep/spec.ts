// A sweep's spec (`slt sweep SPEC.json`): which runs to make, as plain data. Every field of a run is a
// flag of `slt run`, written without its dashes (`"migration-probability": 0.5` is
// `--migration-probability 0.5`), so nothing here restates the run's options: the CLI hands its own
// option list over (`RunFlag`), and a misspelt field, a value of the wrong kind or outside a flag's
// choices is one E_CONFIG line naming the field. Values: a string or number is the flag's value, an
// array is joined with commas (`"arch": [64, 75, 10]`), `true` is a flag without a value
// (`"accept-new-host-keys": true`), `false` leaves it out. Pure: no files (sweep.ts reads the spec).
import { createHash } from "node:crypto";
import { z } from "zod";
import { E_CONFIG, SltError } from "../core/errors.ts";

/** One option of `slt run`, as the sweep needs to know it. */
export interface RunFlag {
  /** without the dashes: "max-evaluations" */
  readonly name: string;
  /** false for a switch such as --accept-new-host-keys */
  readonly takesValue: boolean;
  /** the allowed values, when the flag has a fixed list */
  readonly choices?: readonly string[];
}

export type FieldValue = string | number | boolean | readonly (string | number)[];
export type Fields = Readonly<Record<string, FieldValue>>;

/** Flags the sweep sets itself for every run. */
const RESERVED: Readonly<Record<string, string>> = {
  name: "the sweep names every run directory <setting>-s<seed>",
  out: "runs go under the sweep's --out",
  seed: 'seeds come from the spec\'s "seeds"',
  json: "the sweep reads every run's --json summary",
  quiet: "runs are quiet; the sweep prints one line per run",
  "dry-run": "the sweep checks every setting with a dry run itself",
  "progress-interval": "runs are quiet",
  dashboard: "runs run side by side; watch one with slt report, or run it alone with slt run --dashboard",
  help: "not a run setting",
};

/** What each budget sets for every run. */
const BUDGET_FLAGS = { evaluations: "max-evaluations", seconds: "time-limit" } as const;

const value = z.union([
  z.string(),
  z.number().finite(),
  z.boolean(),
  z.array(z.union([z.string(), z.number().finite()])).min(1),
]);
const fields = z.record(z.string(), value);
const positiveInt = z.number().int().positive();

const specSchema = z
  .object({
    name: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/,
        "a folder name: letters, digits, '.', '_' and '-', at most 80, not starting with '.' or '-'",
      ),
    description: z.string().optional(),
    /** the setting the report compares the others with, by name (default: as `slt report`) */
    baseline: z.string().min(1).optional(),
    base: fields.default({}),
    grid: z.record(z.string(), z.array(value).min(1, "a list of at least one value")).default({}),
    /** each a partial override of base; `name` names the setting */
    settings: z.array(z.record(z.string(), value)).default([]),
    seeds: z.union([
      z.array(positiveInt).min(1, "at least one seed"),
      positiveInt.transform((n) => Array.from({ length: n }, (_, k) => k + 1)),
    ]),
    budget: z
      .object({ evaluations: positiveInt.optional(), seconds: z.number().finite().positive().optional() })
      .strict()
      .optional(),
  })
  .strict();

export interface SweepSpec {
  readonly name: string;
  readonly description?: string;
  readonly baseline?: string;
  readonly base: Fields;
  readonly grid: Readonly<Record<string, readonly FieldValue[]>>;
  /** each with an optional `name` (a string) */
  readonly settings: readonly Fields[];
  readonly seeds: readonly number[];
  readonly budget?: { readonly evaluations?: number; readonly seconds?: number };
}

const fail = (source: string, field: string, why: string): never => {
  throw new SltError(E_CONFIG, `sweep spec ${source}: ${field}: ${why}`);
};

/** The first of zod's issues, as one line naming the field. */
function firstIssue(input: unknown, error: z.ZodError, source: string): never {
  const issue = error.issues[0];
  const at = issue.path.join(".");
  if (issue.code === "unrecognized_keys")
    return fail(
      source,
      issue.keys.map((k) => (at ? `${at}.${k}` : k)).join(", "),
      "unknown field; a spec has name, description, baseline, base, grid, settings, seeds and budget",
    );
  let v: unknown = input;
  for (const key of issue.path) v = (v as Record<PropertyKey, unknown> | undefined)?.[key as string];
  const got = v === undefined ? "missing" : JSON.stringify(v);
  return fail(source, at || "(top level)", `got ${got}; ${issue.message}`);
}

/** Checks one run field (`where` names it in the spec) against the run's options. */
function checkField(
  source: string,
  where: string,
  key: string,
  v: FieldValue,
  flags: ReadonlyMap<string, RunFlag>,
  budget: SweepSpec["budget"],
): void {
  const why = RESERVED[key];
  if (why !== undefined) fail(source, where, `"${key}" is set by the sweep (${why})`);
  for (const [kind, flag] of Object.entries(BUDGET_FLAGS))
    if (key === flag && budget?.[kind as keyof typeof BUDGET_FLAGS] !== undefined)
      fail(source, where, `"${key}" is set by budget.${kind} for every run; leave it out or drop the budget`);
  const flag = flags.get(key);
  if (flag === undefined)
    fail(source, where, `"${key}" is not an option of slt run (fields are its flags without the dashes)`);
  else if (!flag.takesValue) {
    if (typeof v !== "boolean") fail(source, where, `--${key} is a switch: give true or false`);
  } else if (typeof v === "boolean") fail(source, where, `--${key} takes a value, not ${v}`);
  else if (flag.choices && !flag.choices.includes(String(v)))
    fail(source, where, `got ${JSON.stringify(v)}; --${key} is one of ${flag.choices.join(", ")}`);
}

/** Checks a parsed spec's run fields against the run's options; see the file's comment. */
function checkFields(source: string, spec: SweepSpec, runFlags: readonly RunFlag[]): void {
  const flags = new Map(runFlags.map((f) => [f.name, f]));
  const check = (where: string, key: string, v: FieldValue) =>
    checkField(source, where, key, v, flags, spec.budget);
  for (const [k, v] of Object.entries(spec.base)) check(`base.${k}`, k, v);
  for (const [k, values] of Object.entries(spec.grid))
    values.forEach((v, i) => {
      check(`grid.${k}[${i}]`, k, v);
    });
  spec.settings.forEach((s, i) => {
    for (const [k, v] of Object.entries(s)) {
      if (k === "name") {
        if (typeof v !== "string" || v.trim() === "")
          fail(source, `settings[${i}].name`, "the setting's name: a non-empty string");
      } else check(`settings[${i}].${k}`, k, v);
    }
  });
  if (spec.budget && Object.keys(spec.budget).length === 0)
    fail(source, "budget", "give evaluations (search evaluations per run) or seconds (wall-clock per run)");
  const seen = new Set<number>();
  for (const s of spec.seeds) {
    if (seen.has(s)) fail(source, "seeds", `seed ${s} is listed twice`);
    seen.add(s);
  }
}

/**
 * The spec in `json` (read from `source`, for messages), checked; see the file's comment. Without
 * `runFlags` only its form is checked (a spec the sweep wrote itself; the dry run of every setting
 * before a sweep starts still refuses a field `slt run` does not take).
 */
export function parseSpec(json: unknown, source: string, runFlags?: readonly RunFlag[]): SweepSpec {
  const parsed = specSchema.safeParse(json);
  if (!parsed.success) firstIssue(json, parsed.error, source);
  const spec = parsed.data as SweepSpec;
  if (runFlags !== undefined) checkFields(source, spec, runFlags);
  return spec;
}

/** JSON with every object's keys sorted: the same data gives the same text. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v !== null && typeof v === "object")
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v);
}

/** Hex SHA-256 of the canonical JSON of `v`, shortened to `chars`. */
export function hashOf(v: unknown, chars = 64): string {
  return createHash("sha256").update(canonicalJson(v)).digest("hex").slice(0, chars);
}

/**
 * The first top-level field in which two specs differ for what their runs are, or null when they make
 * the same runs. The seeds, the description and the baseline may change: a sweep may be extended with more seeds, and
 * the baseline only chooses what its report compares with.
 */
export function specDifference(a: SweepSpec, b: SweepSpec): string | null {
  const keys = ["name", "base", "grid", "settings", "budget"] as const;
  for (const k of keys) if (canonicalJson(a[k] ?? null) !== canonicalJson(b[k] ?? null)) return k;
  return null;
}
