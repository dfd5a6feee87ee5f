// What every run reads and checks before it writes anything, one population or islands, real or dry
// (`slt run --dry-run`): absolute data paths (so config.json and the ticket still find the files from
// another directory), the dataset loaded, the fixed network initialised and checked against it, and a
// mini-batch subset checked against the training split.
import { resolve } from "node:path";
import { checkFitnessSubset, type ResolvedConfig, withBoundSecondsPerTry } from "../core/config.ts";
import type { Dataset, DatasetDescription } from "../core/dataset.ts";
import { E_CONFIG, SltError } from "../core/errors.ts";
import { initNetwork, type Network } from "../core/network.ts";
import { loadDataset } from "../io/datasets.ts";

export interface RunData {
  /** the resolved configuration with absolute data paths */
  readonly config: ResolvedConfig;
  readonly dataset: Dataset;
  readonly network: Network;
  /** the dataset as config.json and the ticket record it (config.json's `dataset.resolved`) */
  readonly datasetRecord: DatasetRecord;
}

export type DatasetRecord = DatasetDescription & {
  /** built-in datasets only */
  readonly dataSeed?: number;
  readonly classes: number;
  readonly features: number;
  readonly trainRows: number;
  readonly testRows: number;
};

export function loadRunData(resolvedConfig: ResolvedConfig): RunData {
  const { train, test } = resolvedConfig.dataset;
  const withPaths: ResolvedConfig = {
    ...resolvedConfig,
    dataset: {
      ...resolvedConfig.dataset,
      ...(train && test ? { train: resolve(train), test: resolve(test) } : {}),
    },
  };
  const dataset = loadDataset(withPaths.dataset);
  // the adaptive bound's time per try may default from the data: fill it in, so that config.json and
  // every island run with the figure the run records
  const config = withBoundSecondsPerTry(withPaths, dataset.train.n);
  const network = initNetwork(config.network.architecture, config.network.init, config.network.seed);
  const classes = network.architecture[network.architecture.length - 1];
  if (dataset.features !== network.architecture[0] || dataset.classes > classes) {
    throw new SltError(
      E_CONFIG,
      `network.architecture [${network.architecture}] does not fit the dataset: it has ${dataset.features} features and ${dataset.classes} classes (the first width must be ${dataset.features}, the last at least ${dataset.classes})`,
    );
  }
  const subset = config.ga.fitnessSubset;
  if (subset) checkFitnessSubset(subset, dataset.train.n, dataset.description.name);
  const datasetRecord: DatasetRecord = {
    ...dataset.description,
    dataSeed: config.dataset.dataSeed,
    classes: dataset.classes,
    features: dataset.features,
    trainRows: dataset.train.n,
    testRows: dataset.test.n,
  };
  return { config, dataset, network, datasetRecord };
}
