// The island snapshots of a checkpoint (n islands; one for a single-population run) turned into the
// snapshots of m islands 0 … m−1, for `slt resume --islands m`. Pure and deterministic: the same
// snapshots, m and seed always give the same result. The GA states are re-sharded by core/reshard.ts
// (merge by rank, deal round-robin; its header has the rule); this file builds the rest of each island's
// snapshot (core/island-snapshot.ts), by these rules:
//
// - m = n with island k in place k: the snapshots come back unchanged (the same objects), so a resume on the
//   same layout is exact.
// - mode: the inputs' (a run's mode cannot change on resume; inputs of two modes are refused).
// - migration stream: fresh, `reshardStream(seed, j, G).child("migration")`, beside the GA streams
//   reshard.ts derives from the same base (`.child("ga")`), as a fresh island derives both from one base.
// - epoch: the largest input epoch, for every new island. Lockstep inputs all share the epoch of their
//   cut, so the new islands meet at the same barriers and the lockstep checkpoint schedule (epoch ×
//   interval) goes on where it was; in async the epoch only numbers an island's own migrations.
//   A single population's snapshot has epoch 0: its first migration as islands is epoch 1.
// - counters (sent, received, accepted, rejected, dropped): each summed over the inputs and split as
//   evenly as whole numbers allow, as reshard.ts splits the evaluations, so the run's totals are kept.
// - immigrants waiting (async inboxes): not carried over, and counted as dropped (they are copies of
//   individuals of other islands, which the merge already ranked; a resumed async run counts migrants in
//   flight at the cut as dropped in the same way).
// - plateau tracking: each new island starts it at the re-shard, as a fresh island does at generation 0:
//   lastImprovement = G and bestSoFar = its new population's best fitness (history[G]). The islands'
//   verdicts still come from the lead island's history (reshard.ts), which the new islands carry on.
import { E_CHECKPOINT, SltError } from "../core/errors.ts";
import { evaluationShare } from "../core/ga/termination.ts";
import {
  type IslandSnapshot,
  type IslandSnapshotJSON,
  type MigrationCounters,
  snapshotFromJSON,
  snapshotToJSON,
} from "../core/island-snapshot.ts";
import { reshard, reshardStream } from "../core/reshard.ts";

const COUNTERS = ["sent", "received", "accepted", "rejected", "dropped"] as const;

/** The inputs' counters summed, waiting immigrants added to `dropped`. */
function totalCounters(inputs: readonly IslandSnapshot[]): MigrationCounters {
  const total: MigrationCounters = { sent: 0, received: 0, accepted: 0, rejected: 0, dropped: 0 };
  for (const s of inputs) {
    for (const k of COUNTERS) total[k] += s.counters[k];
    total.dropped += s.waiting.length;
  }
  return total;
}

function shareOf(total: MigrationCounters, islands: number, j: number): MigrationCounters {
  const out = { ...total };
  for (const k of COUNTERS) out[k] = evaluationShare(total[k], islands, j) as number;
  return out;
}

/** The inputs checked (each a valid snapshot of the first's genome length) and restored; one mode. */
function restoreInputs(islands: readonly IslandSnapshotJSON[]): IslandSnapshot[] {
  const genomeLength = islands[0].ga?.genomeLength;
  const inputs = islands.map((s) => snapshotFromJSON(s, genomeLength));
  const other = inputs.find((s) => s.mode !== inputs[0].mode);
  if (other)
    throw new SltError(
      E_CHECKPOINT,
      `cannot re-shard the checkpoint's populations: island ${other.island}'s snapshot is ${other.mode}, island ${inputs[0].island}'s ${inputs[0].mode}; a run has one mode`,
    );
  return inputs;
}

/**
 * The snapshots of islands 0 … m−1 made from `islands` (a checkpoint's, in id order) by the rules in this
 * file's header; `seed` is the run seed. Throws SltError(E_CHECKPOINT) when they cannot be merged (no
 * island, m not a positive integer, different modes, GA parameters or genome lengths) and
 * SltError(E_SNAPSHOT) when one is malformed.
 */
/**
 * Whether m islands can start from `islands` as they are: as many, and island k's snapshot in place k.
 * A checkpoint whose cut left out a lost island (ids 0, 2) has gaps: it is re-sharded, not renumbered
 * by position (island 1 would start from island 2's snapshot, which the assignment refuses).
 */
export function sameLayout(islands: readonly IslandSnapshotJSON[], m: number): boolean {
  return m === islands.length && islands.every((s, k) => s.island === k);
}

export function reshardSnapshots(
  islands: readonly IslandSnapshotJSON[],
  m: number,
  seed: number,
): IslandSnapshotJSON[] {
  if (!Number.isInteger(m) || m < 1)
    throw new SltError(
      E_CHECKPOINT,
      `cannot re-shard the checkpoint's populations: the island count must be a positive integer, got ${m}`,
    );
  if (islands.length === 0)
    throw new SltError(
      E_CHECKPOINT,
      "cannot re-shard the checkpoint's populations: the checkpoint holds no island",
    );
  if (sameLayout(islands, m)) return [...islands];
  const inputs = restoreInputs(islands);
  const { states } = reshard(
    inputs.map((s) => ({ id: s.island, state: s.ga })),
    m,
    seed,
  );
  const epoch = Math.max(...inputs.map((s) => s.epoch));
  const counters = totalCounters(inputs);
  return states.map((ga, j) => {
    const G = ga.generation;
    return snapshotToJSON({
      island: j,
      mode: inputs[0].mode,
      epoch,
      ga,
      migrationRng: reshardStream(seed, j, G).child("migration").save(),
      counters: shareOf(counters, m, j),
      lastImprovement: G,
      bestSoFar: ga.history[ga.history.length - 1].bestFitness,
      waiting: [],
    });
  });
}
