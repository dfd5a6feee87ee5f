import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Split } from "../../../src/core/dataset.ts";
import {
  buildDataset,
  DATASET_NAMES,
  dataStream,
  defaultScale,
  isBuiltinDatasetName,
  makeBlobs,
  makeCircles,
  makeMoons,
  parseDatasetName,
  type RawSplit,
  scalePaper,
  sliceRows,
  splitSizes,
  toSplit,
} from "../../../src/core/datasets/index.ts";
import { E_DATASET_NAME, E_DATASET_OPTIONS, SltError } from "../../../src/core/errors.ts";
import { classStats, dataDir, readGzCsv, rowKeys } from "./helpers.ts";

const digits = readGzCsv(path.join(dataDir, "digits.csv.gz"));

function expectSameSplit(a: Split, b: Split): void {
  expect(a.n).toBe(b.n);
  expect(a.features).toBe(b.features);
  expect(a.x).toEqual(b.x);
  expect(a.y).toEqual(b.y);
}

function nameError(name: string): SltError {
  try {
    parseDatasetName(name);
  } catch (e) {
    expect(e).toBeInstanceOf(SltError);
    expect((e as SltError).code).toBe(E_DATASET_NAME);
    return e as SltError;
  }
  throw new Error(`parseDatasetName accepted ${JSON.stringify(name)}`);
}

describe("dataset names", () => {
  it("accepts moons, circles, blobs-c (c ≥ 2) and digits-c (c = 2..10)", () => {
    expect(parseDatasetName("moons")).toEqual({ kind: "moons", classes: 2 });
    expect(parseDatasetName("circles")).toEqual({ kind: "circles", classes: 2 });
    expect(parseDatasetName("blobs-2")).toEqual({ kind: "blobs", classes: 2 });
    expect(parseDatasetName("blobs-50")).toEqual({ kind: "blobs", classes: 50 });
    for (let c = 2; c <= 10; c++)
      expect(parseDatasetName(`digits-${c}`)).toEqual({ kind: "digits", classes: c });
    expect(parseDatasetName("mnist")).toEqual({ kind: "mnist", classes: 10 });
    for (let c = 2; c <= 10; c++)
      expect(parseDatasetName(`mnist-${c}`)).toEqual({ kind: "mnist", classes: c });
    expect(DATASET_NAMES.map((d) => d.pattern)).toEqual([
      "moons",
      "circles",
      "blobs-<c>",
      "digits-<c>",
      "mnist",
      "mnist-<c>",
    ]);
  });

  it("rejects unknown names and out-of-range class counts, naming the value and what is allowed", () => {
    expect(nameError("cifar").message).toBe(
      'unknown dataset "cifar"; built-in datasets are moons, circles, blobs-<c> (c = 2..1000), digits-<c> (c = 2..10), mnist and mnist-<c> (c = 2..10); or give train and test CSV files',
    );
    expect(nameError("mnist-11").message).toBe(
      'dataset "mnist-11": c = 11 is out of range; mnist-<c> allows c = 2..10, e.g. mnist-3',
    );
    expect(nameError("mnist-1").message).toContain("out of range");
    expect(nameError("Moons").message).toMatch(/^unknown dataset "Moons"/);
    expect(nameError("blobs-1").message).toBe(
      'dataset "blobs-1": c = 1 is out of range; blobs-<c> allows c = 2..1000, e.g. blobs-3',
    );
    expect(nameError("digits-11").message).toBe(
      'dataset "digits-11": c = 11 is out of range; digits-<c> allows c = 2..10, e.g. digits-3',
    );
    expect(nameError("digits-1").message).toContain("out of range");
    expect(nameError("digits").message).toBe(
      'dataset "digits" needs a class count: digits-<c> allows c = 2..10, e.g. digits-3',
    );
    expect(nameError("blobs-x").message).toContain('the class count "x" is not a whole number');
    expect(nameError("blobs-03").message).toContain("without leading zeros");
    expect(nameError("blobs-").message).toContain('the class count ""');
    expect(isBuiltinDatasetName("digits-10")).toBe(true);
    expect(isBuiltinDatasetName("digits-0")).toBe(false);
  });

  it("buildDataset validates the name, variant, scale and data seed", () => {
    expect(() => buildDataset({ name: "blobs-1" })).toThrow(SltError);
    expect(() => buildDataset({ name: "moons", variant: "2023" as "2024" })).toThrow(
      /unknown dataset variant "2023"; allowed: 2024, 2025/,
    );
    expect(() => buildDataset({ name: "moons", scale: "minmax" as "none" })).toThrow(
      /unknown scaling "minmax"/,
    );
    expect(() => buildDataset({ name: "moons", dataSeed: 1.5 })).toThrow(
      /data seed must be an integer, got 1.5/,
    );
  });
});

describe("moons and circles", () => {
  for (const kind of ["moons", "circles"] as const) {
    const make = (n: number, stream: string) =>
      kind === "moons"
        ? makeMoons(n, 0.07, dataStream(42, kind, stream))
        : makeCircles(n, 0.07, dataStream(42, kind, stream), 0.8);
    const scale = (s: RawSplit) => (kind === "moons" ? scalePaper(s) : toSplit(s));

    // 2024 both, and circles in 2025 too (slt-ga.md §7): a training draw and a separate test draw
    for (const variant of kind === "circles" ? (["2024", "2025"] as const) : (["2024"] as const)) {
      it(`${kind} ${variant}: a training draw of 50000 and a separate test draw of 16000`, () => {
        const d = buildDataset({ name: kind, variant });
        expect(d.features).toBe(2);
        expect(d.classes).toBe(2);
        expect(d.description).toMatchObject({
          name: kind,
          variant,
          scale: kind === "moons" ? "paper" : "none",
          dataSeed: 42,
        });
        expectSameSplit(d.train, scale(make(50000, "train")));
        expectSameSplit(d.test, scale(make(16000, "test")));
      });
    }
  }

  it("moons 2025 (and only moons): one draw of 66000, first 50000 train / last 16000 test", () => {
    const d = buildDataset({ name: "moons", variant: "2025" });
    const all = makeMoons(66000, 0.07, dataStream(42, "moons", "train+test"));
    expectSameSplit(d.train, scalePaper(sliceRows(all, 0, 50000)));
    expectSameSplit(d.test, scalePaper(sliceRows(all, 50000, 66000)));
    expect(d.description.variant).toBe("2025");
  });

  it("circles 2025 are not one draw of 66000 (the reference draws them separately)", () => {
    const d = buildDataset({ name: "circles", variant: "2025" });
    const all = makeCircles(66000, 0.07, dataStream(42, "circles", "train+test"), 0.8);
    expect(d.train.x).not.toEqual(toSplit(sliceRows(all, 0, 50000)).x);
    expect(d.description.notes).toMatch(/separate test draw of 16000/);
  });

  it("moons are paper-scaled: each split's own min and max are exactly ∓0.7", () => {
    const d = buildDataset({ name: "moons", variant: "2024" });
    for (const s of [d.train, d.test]) {
      let [min, max] = [Infinity, -Infinity];
      for (const v of s.x) [min, max] = [Math.min(min, v), Math.max(max, v)];
      expect(min).toBe(Math.fround(-0.7));
      expect(max).toBe(Math.fround(0.7));
    }
  });

  it("circles are raw (radii about 1 and 0.8)", () => {
    const d = buildDataset({ name: "circles", variant: "2025" });
    const st = classStats(d.train);
    expect(Math.abs(st.get(0)!.std[0] - Math.sqrt(0.5 + 0.0049))).toBeLessThan(0.01);
    expect(Math.abs(st.get(1)!.std[0] - Math.sqrt(0.32 + 0.0049))).toBeLessThan(0.01);
  });

  it("depends only on the data seed: same seed → same data, another seed → other data", () => {
    const a = buildDataset({ name: "moons", variant: "2024" });
    const b = buildDataset({ name: "moons", variant: "2024", dataSeed: 42 });
    const c = buildDataset({ name: "moons", variant: "2024", dataSeed: 7 });
    expectSameSplit(a.train, b.train);
    expect(a.train.x).not.toEqual(c.train.x);
    expect(c.description.dataSeed).toBe(7);
    expect(a.test.x).not.toEqual(buildDataset({ name: "moons", variant: "2025" }).test.x);
  });

  it("the scale can be overridden", () => {
    const d = buildDataset({ name: "circles", variant: "2024", scale: "standard" });
    expect(d.description.scale).toBe("standard");
    const st = classStats({ ...d.train, y: new Int32Array(d.train.n) }).get(0)!;
    expect(Math.abs(st.mean[0])).toBeLessThan(1e-4);
    expect(Math.abs(st.std[0] - 1)).toBeLessThan(1e-4);
  });
});

describe("blobs", () => {
  it("blobs-c: make_blobs(5000·c) with centres in (−20, 40), first 75% / last 25% unshuffled", () => {
    for (const c of [2, 3, 5]) {
      const d = buildDataset({ name: `blobs-${c}`, variant: "2025" });
      expect(d.classes).toBe(c);
      expect(d.features).toBe(2);
      expect(d.train.n).toBe(3750 * c);
      expect(d.test.n).toBe(1250 * c);
      expect(d.description.scale).toBe("none");
      expect(d.description.dataSeed).toBe(10);
      const all = makeBlobs(5000 * c, c, dataStream(10, "blobs", c), [-20, 40]);
      expectSameSplit(d.train, toSplit(sliceRows(all, 0, 3750 * c)));
      expectSameSplit(d.test, toSplit(sliceRows(all, 3750 * c, 5000 * c)));
      const st = classStats(all);
      for (let k = 0; k < c; k++) {
        expect(st.get(k)!.count).toBe(5000);
        for (let j = 0; j < 2; j++)
          expect(Math.abs(st.get(k)!.mean[j] - all.centers[2 * k + j])).toBeLessThan(0.06);
      }
    }
  });

  it("2024 scales blobs, 2025 keeps them raw, from the same draw", () => {
    const a = buildDataset({ name: "blobs-4", variant: "2024" });
    const b = buildDataset({ name: "blobs-4", variant: "2025" });
    expect(a.description.scale).toBe("paper");
    expect(defaultScale("blobs", "2024")).toBe("paper");
    // b's values went through Float32, so compare with a tolerance rather than bit for bit
    const rescaled = scalePaper({ ...b.train, x: Float64Array.from(b.train.x) });
    expect(a.train.y).toEqual(b.train.y);
    let worst = 0;
    for (let k = 0; k < a.train.x.length; k++)
      worst = Math.max(worst, Math.abs(a.train.x[k] - rescaled.x[k]));
    expect(worst).toBeLessThan(1e-6);
    expect(Math.max(...a.test.x)).toBe(Math.fround(0.7));
  });
});

describe("digits", () => {
  // its bytes: vendored.test.ts, against data/README.md's sha256
  it("the vendored file is sklearn's digits: 1797 rows, 64 pixels 0..16, labels 0..9", () => {
    expect(digits.n).toBe(1797);
    expect(digits.features).toBe(64);
    expect(digits.header).toBeUndefined();
    for (const v of digits.x) expect(Number.isInteger(v) && v >= 0 && v <= 16).toBe(true);
    expect(Math.max(...digits.x)).toBe(16);
    const counts = [...classStats(digits).entries()].sort(([a], [b]) => a - b).map(([, s]) => s.count);
    expect(counts.length).toBe(10);
    for (const n of counts) expect(n).toBeGreaterThan(170);
    expect(counts.reduce((a, b) => a + b)).toBe(1797);
  });

  it("digits-10 2024: first 1347 rows train, last 450 test, in file order, paper-scaled", () => {
    const d = buildDataset({ name: "digits-10", variant: "2024" }, { digits });
    expect([d.train.n, d.test.n]).toEqual([1347, 450]);
    expect(d.features).toBe(64);
    expect(d.classes).toBe(10);
    expect(d.description.scale).toBe("paper");
    expectSameSplit(d.train, scalePaper(sliceRows(digits, 0, 1347)));
    expectSameSplit(d.test, scalePaper(sliceRows(digits, 1347, 1797)));
  });

  it("digits-c keeps the rows with label < c in file order", () => {
    for (let c = 2; c <= 10; c++) {
      const d = buildDataset({ name: `digits-${c}`, variant: "2024", scale: "none" }, { digits });
      const keep: number[] = [];
      for (let i = 0; i < digits.n; i++) if (digits.y[i] < c) keep.push(i);
      const sizes = splitSizes(keep.length);
      expect(sizes.test).toBe(Math.ceil(keep.length / 4));
      expect([d.train.n, d.test.n]).toEqual([sizes.train, sizes.test]);
      expect(d.classes).toBe(c);
      const got = [...rowKeys(d.train), ...rowKeys(d.test)];
      const want = rowKeys({ ...digits, n: digits.n }).filter((_, i) => digits.y[i] < c);
      expect(got).toEqual(want);
    }
  });

  it("digits-c 2025: a seeded shuffled split of the same rows, deterministic in the data seed", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 10 }), fc.integer({ min: 0, max: 1000 }), (c, seed) => {
        const d = buildDataset(
          { name: `digits-${c}`, variant: "2025", scale: "none", dataSeed: seed },
          { digits },
        );
        const inOrder = buildDataset({ name: `digits-${c}`, variant: "2024", scale: "none" }, { digits });
        expect([d.train.n, d.test.n]).toEqual([inOrder.train.n, inOrder.test.n]);
        const got = [...rowKeys(d.train), ...rowKeys(d.test)];
        const want = [...rowKeys(inOrder.train), ...rowKeys(inOrder.test)];
        expect([...got].sort()).toEqual([...want].sort());
        expect(got).not.toEqual(want);
        const again = buildDataset(
          { name: `digits-${c}`, variant: "2025", scale: "none", dataSeed: seed },
          { digits },
        );
        expectSameSplit(d.test, again.test);
      }),
      { numRuns: 15 },
    );
    const d = buildDataset({ name: "digits-10", variant: "2025" }, { digits });
    expect(d.description.notes).toMatch(/random_state=1\) permutation is not reproduced bit-exactly/);
    expect(d.description.scale).toBe("paper");
  });

  it("needs the digits rows and checks their shape", () => {
    expect(() => buildDataset({ name: "digits-3" })).toThrow(/needs the digits rows/);
    const fewLabels = sliceRows(digits, 0, 0);
    expect(() => buildDataset({ name: "digits-3" }, { digits: fewLabels })).toThrow(
      expect.objectContaining({
        code: E_DATASET_OPTIONS,
        message: expect.stringMatching(/no row with label 2/),
      }),
    );
    const narrow: RawSplit = { n: 1, features: 2, x: new Float64Array(2), y: new Int32Array(1) };
    expect(() => buildDataset({ name: "digits-3" }, { digits: narrow })).toThrow(/2 features, expected 64/);
  });
});
