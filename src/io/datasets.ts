// Node-side dataset loading for the CLI: reads CSV / CSV.gz files and the vendored digits file, then
// hands the rows to the pure builders in src/core/datasets.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import type { Dataset } from "../core/dataset.ts";
import {
  buildDataset,
  datasetFromCsv,
  isScaleKind,
  type ParsedCsv,
  parseCsv,
  parseDatasetName,
  SCALE_KINDS,
  type ScaleKind,
  type Variant,
} from "../core/datasets/index.ts";
import { E_DATASET_FILE, E_DATASET_OPTIONS, SltError } from "../core/errors.ts";

/** The repository root, found from this file's location (not the working directory). */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** scikit-learn's digits, vendored (see data/README.md). */
export const DIGITS_FILE = path.join(REPO_ROOT, "data", "digits.csv.gz");

function readBytes(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const abs = path.resolve(file);
    const where = abs === file ? file : `${file} (${abs})`;
    if (code === "ENOENT") throw new SltError(E_DATASET_FILE, `dataset file not found: ${where}`);
    if (code === "EISDIR")
      throw new SltError(
        E_DATASET_FILE,
        `dataset file is a directory, expected a .csv or .csv.gz file: ${where}`,
      );
    throw new SltError(E_DATASET_FILE, `cannot read dataset file ${where}: ${(e as Error).message}`);
  }
}

/** Read and parse a CSV file; a name ending in .gz is gunzipped first. */
export function readCsvFile(file: string): ParsedCsv {
  let bytes = readBytes(file);
  if (file.toLowerCase().endsWith(".gz")) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new SltError(
        E_DATASET_FILE,
        `${file}: not a valid gzip file (${(e as Error).message}); a name ending in .gz must be gzip-compressed`,
      );
    }
  }
  return parseCsv(bytes.toString("utf8"), file);
}

const digitsCache = new Map<string, ParsedCsv>();

/** The vendored sklearn digits rows (1797 × 64 pixels 0..16, labels 0..9), read once per process. */
export function loadDigitsRows(file: string = DIGITS_FILE): ParsedCsv {
  let rows = digitsCache.get(file);
  if (!rows) {
    rows = readCsvFile(file);
    digitsCache.set(file, rows);
  }
  return rows;
}

export interface LoadDatasetOptions {
  /** a built-in dataset: moons, circles, blobs-<c>, digits-<c> */
  readonly dataset?: string;
  /** the same as `dataset` (the config's dataset.name), so a config's dataset section can be passed as is */
  readonly name?: string;
  /** built-in datasets only; default "2025" */
  readonly variant?: Variant;
  /** training and test CSV (.csv or .csv.gz) files, instead of a built-in dataset */
  readonly train?: string;
  readonly test?: string;
  /** default: the papers' scaling for built-in datasets, "none" for CSV files */
  readonly scale?: ScaleKind;
  /** built-in datasets only; default 42 */
  readonly dataSeed?: number;
}

/** The dataset the options name: exactly one of a built-in name or a train and test file pair. */
export function loadDataset(options: LoadDatasetOptions): Dataset {
  const { dataset, name, train, test, scale } = options;
  if (dataset !== undefined && name !== undefined && dataset !== name) {
    throw new SltError(
      E_DATASET_OPTIONS,
      `two different dataset names given: ${JSON.stringify(dataset)} and ${JSON.stringify(name)}`,
    );
  }
  const builtin = dataset ?? name;
  if (scale !== undefined && !isScaleKind(scale)) {
    throw new SltError(
      E_DATASET_OPTIONS,
      `unknown scaling ${JSON.stringify(scale)}; allowed: ${SCALE_KINDS.join(", ")}`,
    );
  }
  const files = train !== undefined || test !== undefined;
  if (builtin !== undefined && files) {
    throw new SltError(
      E_DATASET_OPTIONS,
      `give either a built-in dataset (got ${JSON.stringify(builtin)}) or train and test files (got ${[train, test].filter((f) => f !== undefined).join(", ")}), not both`,
    );
  }
  if (builtin !== undefined) {
    const { kind } = parseDatasetName(builtin);
    return buildDataset(
      { name: builtin, variant: options.variant, scale, dataSeed: options.dataSeed },
      kind === "digits" ? { digits: loadDigitsRows() } : {},
    );
  }
  if (train === undefined || test === undefined) {
    const missing =
      train === undefined && test === undefined
        ? "a dataset"
        : train === undefined
          ? "the training file"
          : "the test file";
    throw new SltError(
      E_DATASET_OPTIONS,
      `${missing} is missing: give a built-in dataset name (moons, circles, blobs-<c>, digits-<c>) or both a training and a test CSV file`,
    );
  }
  return datasetFromCsv(readCsvFile(train), readCsvFile(test), { scale, trainFile: train, testFile: test });
}
