// Shared fixtures of the single-population tests: a small noisy two-moons CSV and the run's events.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { parseRunCheckpoint, runCheckpointError } from "../../src/core/checkpoint.ts";
import { type ConfigPatch, resolveConfig } from "../../src/core/config.ts";
import type { GaState } from "../../src/core/ga/index.ts";
import { snapshotFromJSON } from "../../src/core/island-snapshot.ts";
import { Rng } from "../../src/core/rng.ts";
import { readCheckpoint } from "../../src/io/checkpoint-store.ts";

/** n rows of two noisy half-moons as CSV (x1,x2,label), from one seeded stream. */
export function moonsCsv(n: number, seed: number, stream: string): string {
  const rng = Rng.derive(seed, stream);
  const lines = ["x1,x2,label"];
  for (let i = 0; i < n; i++) {
    const label = i % 2;
    const t = rng.uniform(0, Math.PI);
    const x = label ? 1 - Math.cos(t) : Math.cos(t);
    const y = label ? 0.5 - Math.sin(t) : Math.sin(t);
    lines.push(`${x + rng.normal(0, 0.1)},${y + rng.normal(0, 0.1)},${label}`);
  }
  return `${lines.join("\n")}\n`;
}

/** The parsed lines of a run directory's events.jsonl. */
export function readEvents(runDir: string): Record<string, unknown>[] {
  return readFileSync(path.join(runDir, "events.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
}

/** The GA state in a one-population run's newest checkpoint (island 0's snapshot), checked all the way. */
export async function checkpointGaState(runDir: string, genomeLength: number): Promise<GaState> {
  const read = await readCheckpoint(runDir, { validate: runCheckpointError });
  const checkpoint = parseRunCheckpoint(read.value, read.file);
  return snapshotFromJSON(checkpoint.islands[0].snapshot, genomeLength).ga;
}

/** Events without their times (`t`, `time`): what two runs of one seed have in common. */
export function withoutTimes(events: Record<string, unknown>[]): Record<string, unknown>[] {
  return events.map(({ t: _t, time: _time, ...rest }) => rest);
}

/**
 * A temporary directory with train.csv and test.csv of `moonsCsv`, made before the file's tests and
 * removed after them; returns a getter of its path.
 */
export function useMoonsDir(
  prefix: string,
  stream: string,
  trainRows: number,
  testRows: number,
): () => string {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), prefix));
    writeFileSync(path.join(dir, "train.csv"), moonsCsv(trainRows, 1, stream));
    writeFileSync(path.join(dir, "test.csv"), moonsCsv(testRows, 2, stream));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return () => dir;
}

/** A resolved one-island configuration on the CSVs of `useMoonsDir`: `base`, then `patch` over it. */
export function moonsConfig(dir: string, name: string, base: ConfigPatch, patch: ConfigPatch = {}) {
  return resolveConfig({
    source: "test",
    patch: {
      name,
      out: dir,
      dataset: { train: path.join(dir, "train.csv"), test: path.join(dir, "test.csv"), scale: "paper" },
      cluster: { islands: 1 },
      ...base,
      ...patch,
    },
  });
}
