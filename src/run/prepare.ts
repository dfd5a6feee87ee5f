// The start of every run, one population or islands: the data loaded and checked once (run-data.ts), the
// run directory created, and config.json written with what the run resolved (data paths, the dataset
// as loaded, the start time and the software versions), so that the run can be replayed from it.
import { join } from "node:path";
import type { ResolvedConfig } from "../core/config.ts";
import { attachLogFile, type Logger } from "../io/log.ts";
import { createRunDir, openRunDir, type RunDir } from "../io/run-dir.ts";
import { softwareVersions } from "../io/versions.ts";
import type { RunDashboard } from "./dashboard.ts";
import type { ResumeFrom } from "./resume-from.ts";
import { loadRunData, type RunData } from "./run-data.ts";

export interface PreparedRun extends RunData {
  readonly dir: RunDir;
  /** performance.now() when the run started: wallSeconds and the events' times count from here */
  readonly started: number;
}

/**
 * Loads and checks the run's data, makes its directory (or, resuming, opens the run's own) and writes
 * config.json; from here on the logger's records (and those it held since the command started) also go
 * to the run's log.jsonl. With a dashboard, every event also goes to it.
 */
export function prepareRun(
  resolvedConfig: ResolvedConfig,
  started = performance.now(),
  logger?: Logger,
  resume?: ResumeFrom,
  dashboard?: RunDashboard,
): PreparedRun {
  const data = loadRunData(resolvedConfig);
  const { config, datasetRecord } = data;
  const dir = tapped(
    resume
      ? openRunDir(resume.dir, { startedAt: Date.parse(resume.startTime) })
      : createRunDir(config.out, config.name, { startedAt: performance.timeOrigin + started }),
    dashboard,
    logger,
  );
  dir.writeJson("config.json", {
    ...config,
    runDir: dir.path,
    startTime: dir.startTime,
    dataset: { ...config.dataset, resolved: datasetRecord },
    versions: softwareVersions(),
  });
  if (logger) attachLogFile(logger, join(dir.path, "log.jsonl"));
  return { ...data, dir, started };
}

/**
 * The run directory whose every event also goes to the dashboard, the run's first event (start or
 * resume) naming its address. A dashboard fault is logged and never reaches the run.
 */
function tapped(dir: RunDir, dashboard: RunDashboard | undefined, logger: Logger | undefined): RunDir {
  if (!dashboard) return dir;
  const appendEvent = (e: Record<string, unknown>): Record<string, unknown> => {
    const first = e.type === "start" || e.type === "resume";
    const full = dir.appendEvent(first ? { ...e, dashboard: dashboard.address } : e);
    try {
      dashboard.publish(full);
    } catch (err) {
      logger?.warn({ err }, "the dashboard could not take an event");
    }
    return full;
  };
  return { ...dir, appendEvent };
}
