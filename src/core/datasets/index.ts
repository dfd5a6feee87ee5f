// Datasets: the built-in generators and splits of the reference papers, CSV parsing and scaling.
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
  defaultScale,
  isBuiltinDatasetName,
  type ParsedDatasetName,
  parseDatasetName,
  splitSizes,
  VARIANTS,
  type Variant,
} from "./builtin.ts";
export { type CsvDatasetOptions, datasetFromCsv, MAX_LABEL, type ParsedCsv, parseCsv } from "./csv.ts";
export { type Blobs, linspace, makeBlobs, makeCircles, makeMoons } from "./generators.ts";
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
} from "./scale.ts";
