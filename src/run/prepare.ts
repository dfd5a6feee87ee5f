// The start of every run, one population or islands: the data loaded and checked once (run-data.ts), the
// run directory created, and config.json written with what the run resolved (data paths, the dataset
// as loaded, the start time and the software versions), so that the run can be replayed from it.
import type { ResolvedConfig } from "../core/config.ts";
import { createRunDir, type RunDir } from "../io/run-dir.ts";
import { softwareVersions } from "../io/versions.ts";
import { loadRunData, type RunData } from "./run-data.ts";

export interface PreparedRun extends RunData {
  readonly dir: RunDir;
  /** performance.now() when the run started: wallSeconds and the events' times count from here */
  readonly started: number;
}

export function prepareRun(resolvedConfig: ResolvedConfig, started = performance.now()): PreparedRun {
  const data = loadRunData(resolvedConfig);
  const { config, datasetRecord } = data;
  const dir = createRunDir(config.out, config.name, { startedAt: performance.timeOrigin + started });
  dir.writeJson("config.json", {
    ...config,
    runDir: dir.path,
    startTime: dir.startTime,
    dataset: { ...config.dataset, resolved: datasetRecord },
    versions: softwareVersions(),
  });
  return { ...data, dir, started };
}
