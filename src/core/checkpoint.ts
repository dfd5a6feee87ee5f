// The run checkpoint: one JSON value holding what a run needs to go on (the coordinator's state and
// every island's snapshot) in a versioned envelope, its validator, and the hash of the configuration
// that lets `slt resume` refuse a checkpoint made under another configuration. Pure: the file that holds
// the value (atomic write, checksum, fallback to the previous one) is io/checkpoint-store.ts. The
// coordinator and island bodies are opaque JSON objects here; their owners validate them.
import { createHash } from "node:crypto";
import { z } from "zod";
import { E_CHECKPOINT, SltError } from "./errors.ts";

export const RUN_CHECKPOINT_FORMAT = "slt-run-checkpoint/1";

/** "single": one population in-process (`--islands 1`); "async" / "lockstep": the island cluster's modes. */
export const CHECKPOINT_MODES = ["single", "async", "lockstep"] as const;
export type CheckpointMode = (typeof CHECKPOINT_MODES)[number];

import type { JsonObject } from "./protocol/messages.ts";

export type { JsonObject, JsonValue } from "./protocol/messages.ts";

export interface IslandCheckpoint {
  /** the island's id in the run (ids ascend through `islands` and never repeat) */
  readonly id: number;
  /** the island's own snapshot (GA state, streams, epoch, counters, waiting immigrants), opaque here */
  readonly snapshot: JsonObject;
}

export interface RunCheckpoint {
  readonly format: typeof RUN_CHECKPOINT_FORMAT;
  /** when the checkpoint was taken, ISO 8601 UTC */
  readonly createdAt: string;
  readonly runId: string;
  /** `configHash` of the run's resolved configuration */
  readonly configHash: string;
  readonly mode: CheckpointMode;
  /** the migration epoch of the cut (lockstep: every island's; async: the coordinator's) */
  readonly epoch: number;
  /** the generation of the cut, when every island is at the same one (lockstep, single) */
  readonly generation?: number;
  /** the coordinator's state (members, topology, totals, termination state, best so far), opaque here */
  readonly coordinator: JsonObject;
  readonly islands: readonly IslandCheckpoint[];
}

const count = z.number().int().min(0);
// an opaque body: any JSON object (not an array, not null)
const jsonObject = z.custom<JsonObject>(
  (v) => typeof v === "object" && v !== null && !Array.isArray(v),
  "expected a JSON object",
);

const RunCheckpointSchema = z
  .strictObject({
    format: z.literal(RUN_CHECKPOINT_FORMAT),
    createdAt: z.iso.datetime({ offset: true }),
    runId: z.string().min(1),
    configHash: z.string().regex(/^[0-9a-f]{64}$/, "expected 64 lowercase hex digits (sha256)"),
    mode: z.enum(CHECKPOINT_MODES),
    epoch: count,
    generation: count.optional(),
    coordinator: jsonObject,
    islands: z.array(z.strictObject({ id: count, snapshot: jsonObject })).min(1),
  })
  .superRefine((c, ctx) => {
    for (let k = 1; k < c.islands.length; k++) {
      if (c.islands[k].id <= c.islands[k - 1].id) {
        ctx.addIssue({
          code: "custom",
          message: `island ids must ascend without repeats, got ${c.islands[k - 1].id} then ${c.islands[k].id}`,
          path: ["islands", k, "id"],
        });
        return;
      }
    }
  });

function pathText(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? String(p) : `.${String(p)}`;
  return out === "" ? "(top level)" : out;
}

/** What is wrong with `value` as a run checkpoint, in one line; null when it is a valid one. */
export function runCheckpointError(value: unknown): string | null {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return `not a run checkpoint: expected a JSON object, got ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}`;
  const format = (value as { format?: unknown }).format;
  if (format !== RUN_CHECKPOINT_FORMAT)
    return `not a run checkpoint of this version: format is ${JSON.stringify(format) ?? "missing"}, expected "${RUN_CHECKPOINT_FORMAT}"`;
  const r = RunCheckpointSchema.safeParse(value);
  if (r.success) return null;
  const [first] = r.error.issues;
  const n = r.error.issues.length - 1;
  const more = n > 0 ? ` (and ${n} more problem${n > 1 ? "s" : ""})` : "";
  const got = valueAt(value, first.path);
  const shown =
    first.code === "unrecognized_keys" ? "" : got === undefined ? ", missing" : `, got ${shortJson(got)}`;
  return `invalid run checkpoint: ${pathText(first.path)}: ${first.message}${shown}${more}`;
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let at = value;
  for (const p of path)
    at = typeof at === "object" && at !== null ? (at as Record<PropertyKey, unknown>)[p] : undefined;
  return at;
}

/**
 * `value` as a RunCheckpoint (the same object, checked); throws SltError(E_CHECKPOINT) with
 * `where` (e.g. the file) and the first problem otherwise.
 */
export function parseRunCheckpoint(value: unknown, where: string): RunCheckpoint {
  const error = runCheckpointError(value);
  if (error !== null) throw new SltError(E_CHECKPOINT, `${where}: ${error}`);
  return value as RunCheckpoint;
}

/**
 * Configuration fields a resume may change or that only describe the run's bookkeeping; `configHash`
 * leaves them out. Everything else (seed, dataset, network, GA, termination rule, topology, mode,
 * migration settings, pruning) must be the same for a checkpoint to be resumed.
 */
export const CONFIG_FIELDS_RESUME_MAY_CHANGE: readonly string[] = [
  "name",
  "preset",
  "out",
  "runDir",
  "startTime",
  "versions",
  "dataset.resolved",
  "termination.maxGenerations",
  "termination.maxEvaluations",
  "cluster.islands",
  "cluster.timeLimitSeconds",
  "cluster.maxRestarts",
  "checkpointEvery",
];

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The value as JSON with object keys sorted at every level (undefined members left out, as
 * JSON.stringify does), so that equal configurations give equal text whatever their key order.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (!isPlainObject(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = v[k];
    return sorted;
  });
}

/** The configuration without the fields of CONFIG_FIELDS_RESUME_MAY_CHANGE (a copy; `config` is not changed). */
export function configForHash(config: unknown): unknown {
  const copy = JSON.parse(canonicalJson(config ?? null)) as unknown;
  for (const field of CONFIG_FIELDS_RESUME_MAY_CHANGE) {
    const parts = field.split(".");
    let at: unknown = copy;
    for (const p of parts.slice(0, -1)) at = isPlainObject(at) ? at[p] : undefined;
    if (isPlainObject(at)) delete at[parts[parts.length - 1]];
  }
  return copy;
}

/** sha256 (hex) of the canonical JSON of `configForHash(config)`: what a checkpoint's `configHash` holds. */
export function configHash(config: unknown): string {
  return createHash("sha256")
    .update(canonicalJson(configForHash(config)))
    .digest("hex");
}

function shortJson(v: unknown): string {
  const text = v === undefined ? "absent" : JSON.stringify(v);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function collectDifferences(a: unknown, b: unknown, path: string, out: string[]): void {
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) collectDifferences(a[k], b[k], path === "" ? k : `${path}.${k}`, out);
    return;
  }
  if (canonicalJson(a) !== canonicalJson(b))
    out.push(`${path || "(the value)"}: ${shortJson(a)} → ${shortJson(b)}`);
}

/**
 * The fields that `configHash` covers and that differ between two configurations, each as
 * "path: old → new" (long values shortened); empty when the hashes are equal.
 */
export function configDifferences(before: unknown, after: unknown): string[] {
  const out: string[] = [];
  collectDifferences(configForHash(before), configForHash(after), "", out);
  return out;
}

/**
 * Throws SltError(E_CHECKPOINT) unless the checkpoint was made under `config` (equal `configHash`). With
 * `recorded`, the configuration the checkpoint's run recorded (its config.json), the message names the
 * fields that differ.
 */
export function checkCheckpointConfig(
  checkpoint: Pick<RunCheckpoint, "configHash">,
  config: unknown,
  where: string,
  recorded?: unknown,
): void {
  const hash = configHash(config);
  if (hash === checkpoint.configHash) return;
  let detail = "";
  if (recorded !== undefined && configHash(recorded) === checkpoint.configHash) {
    const diff = configDifferences(recorded, config);
    detail = `; fields that differ from the run's: ${diff.slice(0, 5).join(", ")}${diff.length > 5 ? ` and ${diff.length - 5} more` : ""}`;
  }
  throw new SltError(
    E_CHECKPOINT,
    `${where} was made under another configuration (config hash ${checkpoint.configHash.slice(0, 12)}, this run's ${hash.slice(0, 12)})${detail}; only ${CONFIG_FIELDS_RESUME_MAY_CHANGE.filter((f) => f.startsWith("termination") || f.startsWith("cluster") || f === "checkpointEvery").join(", ")} may change on resume`,
  );
}
