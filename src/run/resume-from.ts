// What a resumed run starts from, for both modes: the run directory it continues in and, per island
// id 0 … n−1, the snapshot that island starts from (one island: the single population's). It is made
// by `slt resume` from the run's checkpoint (src/run/resume.ts: load, check, re-shard when the island
// count changes) and handed to runSingle / runCluster, which continue the run from it.
import type { IslandSnapshotJSON } from "../core/island-snapshot.ts";
import type { JsonObject } from "../core/protocol/index.ts";

export interface ResumeFrom {
  /** the run's own directory (runs/<name>), continued: events appended, the ticket replaced at the end */
  readonly dir: string;
  /** the run's original start (config.json's startTime), so events' `t` goes on counting from it */
  readonly startTime: string;
  /** island id k starts from islands[k]; one entry for a single-population run */
  readonly islands: readonly IslandSnapshotJSON[];
  /** the coordinator's state in the checkpoint; null when there is none (one population, a re-shard) */
  readonly coordinator: JsonObject | null;
  /** the migration epoch of the checkpoint (0 for one population) */
  readonly epoch: number;
  /** true when the populations were re-sharded onto another island count (the resume is then not exact) */
  readonly resharded: boolean;
  /** where it came from, for the `resume` event */
  readonly checkpoint: { readonly file: string; readonly sha256: string; readonly warning: string | null };
  /** the overrides `slt resume` was given, by configuration field (for the `resume` event) */
  readonly overrides: Readonly<Record<string, number>>;
}

/** The `resume` event both modes write first when they continue a run (`extra`: what the mode adds). */
export function resumeEvent(
  resume: ResumeFrom,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    type: "resume",
    file: resume.checkpoint.file,
    sha256: resume.checkpoint.sha256,
    warning: resume.checkpoint.warning,
    epoch: resume.epoch,
    islands: resume.islands.length,
    resharded: resume.resharded,
    overrides: resume.overrides,
    ...extra,
  };
}
