// `slt resume RUN_DIR`: what a resumed run starts from. Reads the run's config.json and its checkpoint
// (io/checkpoint-store.ts: checkpoint.json, or checkpoint.prev.json with a warning when the newest is
// missing, truncated or corrupt), applies the overrides a resume may make (generation cap, evaluation
// budget, time limit, island count, checkpoint interval, restarts), checks that the rest of the
// configuration is the checkpoint's (core/checkpoint.ts checkCheckpointConfig), and builds the
// ResumeFrom that runSingle or runCluster continues from: the islands' snapshots as they are when the
// island count is the checkpoint's (an exact resume), else re-sharded onto the new count
// (reshard-snapshots.ts; the coordinator's state is then dropped: the topology is built afresh).
//
// Which run continues: the checkpoint's kind (one population, or the island cluster), unless
// `--islands` says otherwise: 1 is one population, more is the cluster, as in `slt run`.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  checkCheckpointConfig,
  type JsonObject,
  parseRunCheckpoint,
  runCheckpointError,
} from "../core/checkpoint.ts";
import { type ConfigPatch, type ResolvedConfig, resolveConfig } from "../core/config.ts";
import { E_CHECKPOINT, SltError } from "../core/errors.ts";
import type { IslandSnapshotJSON } from "../core/island-snapshot.ts";
import { readCheckpoint } from "../io/checkpoint-store.ts";
import type { Logger } from "../io/log.ts";
import { reshardSnapshots, sameLayout } from "./reshard-snapshots.ts";
import type { ResumeFrom } from "./resume-from.ts";

/** What `slt resume` may change of a run (each absent: the run's own). */
export interface ResumeOverrides {
  readonly islands?: number;
  readonly maxGenerations?: number;
  readonly maxEvaluations?: number;
  readonly timeLimitSeconds?: number;
  readonly checkpointEvery?: number;
  readonly maxRestarts?: number;
}

export interface PreparedResume {
  /** the run's configuration with the overrides, checked against the checkpoint */
  readonly config: ResolvedConfig;
  readonly resume: ResumeFrom;
  /** true: the island cluster continues the run; false: one population in-process */
  readonly cluster: boolean;
}

/** The run's recorded configuration (config.json), or E_CHECKPOINT saying why it cannot be read. */
function readRecordedConfig(dir: string): Record<string, unknown> {
  const file = join(dir, "config.json");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new SltError(
      E_CHECKPOINT,
      `cannot resume ${dir}: ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; RUN_DIR is a run's own directory, runs/<name>`,
    );
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value === "object" && value !== null && !Array.isArray(value))
      return value as Record<string, unknown>;
    throw new Error("not a JSON object");
  } catch (e) {
    throw new SltError(E_CHECKPOINT, `cannot resume ${dir}: ${file} is not valid: ${(e as Error).message}`);
  }
}

/** The overrides as configuration fields (only those given) and as a configuration layer. */
function overrideFields(o: ResumeOverrides): { fields: Record<string, number>; patch: ConfigPatch } {
  const fields: Record<string, number> = {};
  const put = (name: string, v: number | undefined) => {
    if (v !== undefined) fields[name] = v;
  };
  put("cluster.islands", o.islands);
  put("termination.maxGenerations", o.maxGenerations);
  put("termination.maxEvaluations", o.maxEvaluations);
  put("cluster.timeLimitSeconds", o.timeLimitSeconds);
  put("checkpointEvery", o.checkpointEvery);
  put("cluster.maxRestarts", o.maxRestarts);
  const patch: ConfigPatch = {
    termination: { maxGenerations: o.maxGenerations, maxEvaluations: o.maxEvaluations },
    cluster: { islands: o.islands, timeLimitSeconds: o.timeLimitSeconds, maxRestarts: o.maxRestarts },
    checkpointEvery: o.checkpointEvery,
  };
  return { fields, patch };
}

/** Reads, checks and prepares the resume of the run in `runDir` (see the file comment). */
export async function prepareResume(
  runDir: string,
  overrides: ResumeOverrides,
  logger: Logger,
): Promise<PreparedResume> {
  const dir = resolve(runDir);
  const recorded = readRecordedConfig(dir);
  const read = await readCheckpoint(dir, { validate: runCheckpointError });
  if (read.warning !== null) logger.warn({ file: read.file, reason: read.warning }, "checkpoint fallback");
  const checkpoint = parseRunCheckpoint(read.value, read.file);
  const { fields, patch } = overrideFields(overrides);
  const config = resolveConfig(
    { source: join(dir, "config.json"), patch: recorded },
    { source: "command line", patch },
  );
  checkCheckpointConfig(checkpoint, config, read.file, recorded);
  const n = checkpoint.islands.length;
  const target = overrides.islands ?? (checkpoint.mode === "single" ? 1 : config.cluster.islands);
  const snapshots = checkpoint.islands.map((i) => i.snapshot as unknown as IslandSnapshotJSON);
  const exact = sameLayout(snapshots, target);
  const islands = exact ? snapshots : reshardSnapshots(snapshots, target, config.seed);
  const cluster = target > 1 || (overrides.islands === undefined && checkpoint.mode !== "single");
  const resume: ResumeFrom = {
    dir,
    startTime: typeof recorded.startTime === "string" ? recorded.startTime : checkpoint.createdAt,
    islands,
    coordinator: exact && checkpoint.mode !== "single" ? (checkpoint.coordinator as JsonObject) : null,
    epoch: checkpoint.epoch,
    resharded: !exact,
    checkpoint: { file: read.file, sha256: read.sha256, warning: read.warning },
    overrides: fields,
  };
  logger.info(
    {
      file: read.file,
      epoch: checkpoint.epoch,
      islands: target,
      from: n,
      resharded: !exact,
      overrides: fields,
    },
    "resuming",
  );
  return {
    config: { ...config, cluster: { ...config.cluster, islands: target } },
    resume,
    cluster,
  };
}
