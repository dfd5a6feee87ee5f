// Datasets: the built-in generators and splits of the reference papers, MNIST (IDX files), CSV parsing,
// scaling, and seeded row subsets (mini-batch fitness).
export {
  BLOBS_MAX_CLASSES,
  BLOBS_MIN_CLASSES,
  type BuiltinSpec,
  buildDataset,
  DATASET_NAMES,
  type DatasetKind,
  type DatasetSources,
  DEFAULT_DATA_SEED,
  DEFAULT_VARIANT,
  DIGITS_MAX_CLASSES,
  DIGITS_MIN_CLASSES,
  dataStream,
  defaultDataSeed,
  defaultScale,
  isBuiltinDatasetName,
  MNIST_MAX_CLASSES,
  MNIST_MIN_CLASSES,
  MNIST_PACKAGE,
  type ParsedDatasetName,
  parseDatasetName,
  splitSizes,
  VARIANTS,
  type Variant,
} from "./builtin.ts";
export { type CsvDatasetOptions, datasetFromCsv, MAX_LABEL, type ParsedCsv, parseCsv } from "./csv.ts";
export { type Blobs, linspace, makeBlobs, makeCircles, makeMoons } from "./generators.ts";
export {
  type ByteSplit,
  firstClasses,
  IDX_IMAGES_MAGIC,
  IDX_LABELS_MAGIC,
  type Idx,
  type IdxFile,
  MNIST_CLASSES,
  MNIST_FEATURES,
  MNIST_SIDE,
  mnistSplit,
  parseIdx,
} from "./idx.ts";
export { classCount, pickRows, type RawSplit, sliceRows, toSplit } from "./raw.ts";
export {
  applyStandard,
  globalRange,
  isScaleKind,
  PAPER_HIGH,
  PAPER_LOW,
  SCALE_KINDS,
  type ScaleKind,
  type StandardStats,
  scalePaper,
  scaleSplits,
  standardStats,
  type UnscaledSplit,
} from "./scale.ts";
export { sampleRows, selectRows } from "./subset.ts";
