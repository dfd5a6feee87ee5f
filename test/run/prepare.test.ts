// The run's start, shared by one population and islands: the data checked, the run directory made, and
// config.json with what the run resolved.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { prepareRun } from "../../src/run/prepare.ts";
import { moonsConfig, useMoonsDir } from "../coordinator/helpers.ts";

const dirOf = useMoonsDir("slt-prepare-test-", "prepare-csv", 60, 20);

describe("prepareRun", () => {
  it("writes config.json with absolute data paths, the dataset as loaded, the start time and versions", () => {
    const relative = path.relative(process.cwd(), dirOf());
    const config = moonsConfig(dirOf(), "prep", { network: { architecture: [2, 8, 2] } });
    const run = prepareRun({
      ...config,
      dataset: {
        ...config.dataset,
        train: path.join(relative, "train.csv"),
        test: path.join(relative, "test.csv"),
      },
    });
    expect(run.dir.path).toBe(path.join(dirOf(), "prep"));
    expect(run.config.dataset.train).toBe(path.join(dirOf(), "train.csv"));
    expect(run.dataset.train.n).toBe(60);
    expect(run.network.architecture).toEqual([2, 8, 2]);
    const written = JSON.parse(readFileSync(path.join(run.dir.path, "config.json"), "utf8"));
    expect(written).toMatchObject({
      runDir: run.dir.path,
      startTime: run.dir.startTime,
      dataset: { train: run.config.dataset.train, resolved: { trainRows: 60, testRows: 20, features: 2 } },
      versions: expect.any(Object),
    });
    // a second run of the same name gets a directory of its own
    expect(prepareRun(config).dir.path).toBe(path.join(dirOf(), "prep-2"));
  });

  it("refuses a network that does not fit the data before it writes anything", () => {
    const config = moonsConfig(dirOf(), "misfit", { network: { architecture: [3, 8, 2] } });
    expect(() => prepareRun(config)).toThrow(/does not fit the dataset: it has 2 features/);
    expect(() => readFileSync(path.join(dirOf(), "misfit", "config.json"))).toThrow();
  });
});
