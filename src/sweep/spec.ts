// A sweep's spec (`slt sweep SPEC.json`): which runs to make, as plain data. A setting runs one `slt`
// command, its `"command"` field: `slt run` by default, or another the CLI hands over (`"baseline dense"`,
// `"baseline edge-popup"`). Every other field of a setting is a flag of that command, written without its
// dashes (`"migration-probability": 0.5` is `--migration-probability 0.5`), so nothing here restates the
// commands or their options: the CLI hands each command's own option list over (`CommandFlags`), and a
// misspelt field, a value of the wrong kind or outside a flag's choices, or a flag the setting's command
// does not take is one E_CONFIG line naming the field. Values: a string or number is the flag's value, an
// array is joined with commas (`"arch": [64, 75, 10]`), `true` is a flag without a value
// (`"accept-new-host-keys": true`), `false` leaves it out. Pure: no files (sweep.ts reads the spec).
import { createHash } from "node:crypto";
import { z } from "zod";
import { E_CONFIG, SltError } from "../core/errors.ts";

/** One option of a command a sweep runs (`slt run`, `slt baseline dense`, …), as the sweep needs to know it. */
export interface RunFlag {
  /** without the dashes: "max-evaluations" */
  readonly name: string;
  /** false for a switch such as --accept-new-host-keys */
  readonly takesValue: boolean;
  /** the allowed values, when the flag has a fixed list */
  readonly choices?: readonly string[];
  /**
   * what the option means, as its help says: a field that reaches two commands must mean the same in
   * both (`--batch-size` is mini-batch fitness for slt run and the SGD batch for a baseline)
   */
  readonly description?: string;
}

/**
 * Each command a setting may run, as its `"command"` field names it ("run", "baseline dense"), with its
 * options. The CLI reads them from its own commands.
 */
export type CommandFlags = Readonly<Record<string, readonly RunFlag[]>>;

/**
 * `slt run`: the command of a setting without a `"command"` field, and the one the budget's flags and
 * `slt resume` are for (a baseline trains its epochs, with no evaluation count, time limit or checkpoint).
 */
export const RUN_COMMAND = "run";

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

/** What each budget sets for every `slt run` run. */
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

/** The command of a setting's fields (or base's): its `"command"`, else `slt run`. */
export const commandOf = (fields: Fields): string =>
  typeof fields.command === "string" ? fields.command : RUN_COMMAND;

/** A command a field's value goes to: the command, and which setting(s) run it, for messages. */
interface Use {
  readonly command: string;
  /** "settings[2]", "the grid", "base" */
  readonly by: string;
}

/** Checks one field (`where` names it in the spec) against the options of the command `use` runs. */
function checkField(
  source: string,
  where: string,
  key: string,
  v: FieldValue,
  use: Use,
  flags: CommandFlags,
  budget: SweepSpec["budget"],
): void {
  const why = RESERVED[key];
  if (why !== undefined) fail(source, where, `"${key}" is set by the sweep (${why})`);
  if (use.command === RUN_COMMAND)
    for (const [kind, flag] of Object.entries(BUDGET_FLAGS))
      if (key === flag && budget?.[kind as keyof typeof BUDGET_FLAGS] !== undefined)
        fail(
          source,
          where,
          `"${key}" is set by budget.${kind} for every run; leave it out or drop the budget`,
        );
  const flag = flags[use.command]?.find((f) => f.name === key);
  if (flag === undefined)
    fail(
      source,
      where,
      `"${key}" is not an option of slt ${use.command}, which ${use.by} runs (fields are its flags without the dashes; a setting's "command" chooses its command)`,
    );
  else if (!flag.takesValue) {
    if (typeof v !== "boolean") fail(source, where, `--${key} is a switch: give true or false`);
  } else if (typeof v === "boolean") fail(source, where, `--${key} takes a value, not ${v}`);
  else if (flag.choices && !flag.choices.includes(String(v)))
    fail(source, where, `got ${JSON.stringify(v)}; --${key} is one of ${flag.choices.join(", ")}`);
}

/** A `"command"` field: one of the commands the CLI handed over. */
function checkCommand(source: string, where: string, v: FieldValue, flags: CommandFlags): void {
  const commands = Object.keys(flags);
  if (typeof v !== "string" || !commands.includes(v))
    fail(
      source,
      where,
      `got ${JSON.stringify(v)}; the setting's slt command is one of ${commands.map((c) => `"${c}"`).join(", ")} (default "${RUN_COMMAND}")`,
    );
}

/**
 * Which commands each part of the spec feeds: a settings entry its own (or base's) command; every grid
 * point the grid's commands (each value of a "command" grid key, else base's); a base field every setting
 * that does not set the field itself, or else base's own command.
 */
function usesOf(spec: SweepSpec): { grid: Use[]; entries: Use[]; base: (key: string) => Use[] } {
  const baseCommand = commandOf(spec.base);
  const gridCommands = spec.grid.command ?? [baseCommand];
  const grid = gridCommands.map((c) => ({ command: String(c), by: "the grid" }));
  const entries = spec.settings.map((s, i) => ({
    command: commandOf({ ...spec.base, ...s }),
    by: `settings[${i}]${typeof s.name === "string" ? ` ("${s.name}")` : ""}`,
  }));
  const hasGrid = Object.keys(spec.grid).length > 0;
  const base = (key: string): Use[] => {
    const to = [
      ...(hasGrid && !(key in spec.grid) ? grid : []),
      ...entries.filter((_, i) => !(key in spec.settings[i])),
    ];
    // base alone is a setting; a field every setting overrides is still checked, against base's command
    return to.length > 0 ? to : [{ command: baseCommand, by: "base" }];
  };
  return { grid, entries, base };
}

/** A field that reaches several commands must be the same option in each, not two that share a name. */
function checkOneMeaning(
  source: string,
  where: string,
  key: string,
  commands: readonly string[],
  flags: CommandFlags,
): void {
  const meanings = commands.map((c) => flags[c]?.find((f) => f.name === key)?.description);
  const other = meanings.findIndex((m) => m !== meanings[0]);
  if (other > 0)
    fail(
      source,
      where,
      `--${key} means different things in slt ${commands[0]} ("${meanings[0]}") and slt ${commands[other]} ("${meanings[other]}"), which this field reaches; set it in each setting instead`,
    );
}

/** Checks a parsed spec's fields against its settings' commands' options; see the file's comment. */
function checkFields(source: string, spec: SweepSpec, flags: CommandFlags): void {
  const uses = usesOf(spec);
  // each field once per command it goes to (base's may go to several)
  const check = (where: string, key: string, v: FieldValue, to: readonly Use[]) => {
    if (key === "command") return; // checked above
    const seen = new Set<string>();
    for (const use of to)
      if (!seen.has(use.command)) {
        seen.add(use.command);
        checkField(source, where, key, v, use, flags, spec.budget);
      }
    checkOneMeaning(source, where, key, [...seen], flags);
  };
  // the commands first: a field is checked against a command only once that command is known
  if (spec.base.command !== undefined) checkCommand(source, "base.command", spec.base.command, flags);
  spec.grid.command?.forEach((v, i) => {
    checkCommand(source, `grid.command[${i}]`, v, flags);
  });
  spec.settings.forEach((s, i) => {
    if (s.command !== undefined) checkCommand(source, `settings[${i}].command`, s.command, flags);
  });
  for (const [k, v] of Object.entries(spec.base)) check(`base.${k}`, k, v, uses.base(k));
  for (const [k, values] of Object.entries(spec.grid))
    values.forEach((v, i) => {
      check(`grid.${k}[${i}]`, k, v, uses.grid);
    });
  spec.settings.forEach((s, i) => {
    for (const [k, v] of Object.entries(s)) {
      if (k === "name") {
        if (typeof v !== "string" || v.trim() === "")
          fail(source, `settings[${i}].name`, "the setting's name: a non-empty string");
      } else check(`settings[${i}].${k}`, k, v, [uses.entries[i]]);
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
 * `flags` only its form is checked (a spec the sweep wrote itself; the dry run of every setting before a
 * sweep starts still refuses a field its command does not take).
 */
export function parseSpec(json: unknown, source: string, flags?: CommandFlags): SweepSpec {
  const parsed = specSchema.safeParse(json);
  if (!parsed.success) firstIssue(json, parsed.error, source);
  const spec = parsed.data as SweepSpec;
  if (flags !== undefined) checkFields(source, spec, flags);
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
