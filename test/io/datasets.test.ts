import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { E_DATASET_CSV, E_DATASET_FILE, E_DATASET_NAME, E_DATASET_OPTIONS } from "../../src/core/errors.ts";
import {
  DIGITS_FILE,
  loadDataset,
  loadDigitsRows,
  MAX_DATASET_BYTES,
  REPO_ROOT,
  readCsvFile,
} from "../../src/io/datasets.ts";
import { errorOf } from "./helpers.ts";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const dataDir = path.join(repoRoot, "data");

let dir: string;
const file = (name: string) => path.join(dir, name);

const TRAIN = "x1,x2,label\n0,1,0\n2,3,1\n4,5,2\n";
const TEST = "x1,x2,label\n1,1,1\n";

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "slt-datasets-test-"));
  writeFileSync(file("train.csv"), TRAIN);
  writeFileSync(file("train.csv.gz"), gzipSync(Buffer.from(TRAIN.replaceAll("\n", "\r\n"))));
  writeFileSync(file("test.csv"), TEST);
  writeFileSync(file("wide.csv"), "1,2,3,0\n");
  writeFileSync(file("ragged.csv"), "1,2,0\n1,2,0\n1,2\n");
  writeFileSync(file("bad.csv.gz"), "this is not gzip");
  writeFileSync(file("empty.csv"), "");
  mkdirSync(file("folder.csv"));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("readCsvFile size limits", () => {
  it("refuses a file larger than the limit before reading it (a sparse 1 GiB file of one line)", () => {
    writeFileSync(file("huge.csv"), "");
    truncateSync(file("huge.csv"), 1024 ** 3);
    const e = errorOf(() => readCsvFile(file("huge.csv")), E_DATASET_FILE);
    expect(e.message).toBe(
      `dataset file ${file("huge.csv")} has ${1024 ** 3} bytes, more than the ${MAX_DATASET_BYTES / 1024 ** 2} MiB a dataset file may have`,
    );
  });

  it("refuses a gzip file that inflates past the limit, and reads one within it", () => {
    const rows = "0,1,0\n1,0,1\n".repeat(1000);
    writeFileSync(file("bomb.csv.gz"), gzipSync(Buffer.from(rows)));
    expect(readCsvFile(file("bomb.csv.gz"), rows.length).n).toBe(2000);
    const e = errorOf(() => readCsvFile(file("bomb.csv.gz"), rows.length - 1), E_DATASET_FILE);
    expect(e.message).toBe(
      `${file("bomb.csv.gz")}: inflates to more than ${rows.length - 1} bytes, the most a dataset file may hold uncompressed`,
    );
  });
});

describe("readCsvFile", () => {
  it("reads .csv and .csv.gz files to the same rows", () => {
    const a = readCsvFile(file("train.csv"));
    const b = readCsvFile(file("train.csv.gz"));
    expect(a.n).toBe(3);
    expect([...a.x]).toEqual([0, 1, 2, 3, 4, 5]);
    expect([...b.x]).toEqual([...a.x]);
    expect([...b.y]).toEqual([0, 1, 2]);
    expect(a.source).toBe(file("train.csv"));
  });

  it("reports a missing file with its path", () => {
    const e = errorOf(() => readCsvFile(file("nope.csv")), E_DATASET_FILE);
    expect(e.message).toBe(`dataset file not found: ${file("nope.csv")}`);
    const rel = errorOf(() => readCsvFile("no/such/file.csv.gz"), E_DATASET_FILE);
    expect(rel.message).toBe(
      `dataset file not found: no/such/file.csv.gz (${path.resolve("no/such/file.csv.gz")})`,
    );
  });

  it("reports a directory, a broken .gz file and bad content with the file name", () => {
    expect(errorOf(() => readCsvFile(file("folder.csv")), E_DATASET_FILE).message).toContain(
      "is a directory",
    );
    expect(errorOf(() => readCsvFile(file("bad.csv.gz")), E_DATASET_FILE).message).toMatch(
      new RegExp(`^${file("bad.csv.gz").replaceAll(/[.*+?^${}()|[\]\\]/g, "\\$&")}: not a valid gzip file`),
    );
    expect(errorOf(() => readCsvFile(file("ragged.csv")), E_DATASET_CSV).message).toBe(
      `${file("ragged.csv")}: line 3 has 2 columns, expected 3 (as in line 1)`,
    );
    expect(errorOf(() => readCsvFile(file("empty.csv")), E_DATASET_CSV).message).toContain(
      "the file is empty",
    );
  });
});

describe("loadDigitsRows", () => {
  it("reads the vendored file relative to the repository, not the working directory", () => {
    expect(path.resolve(REPO_ROOT)).toBe(path.resolve(repoRoot));
    expect(DIGITS_FILE).toBe(path.join(REPO_ROOT, "data", "digits.csv.gz"));
    const rows = loadDigitsRows();
    expect([rows.n, rows.features]).toEqual([1797, 64]);
    expect(loadDigitsRows()).toBe(rows);
  });
});

describe("loadDataset", () => {
  it("builds a built-in dataset by name (dataset or the config's name)", () => {
    const d = loadDataset({ dataset: "digits-10", variant: "2024" });
    expect([d.train.n, d.test.n, d.classes]).toEqual([1347, 450, 10]);
    const m = loadDataset({ name: "moons", variant: "2025", dataSeed: 42 });
    expect(m.description).toMatchObject({ name: "moons", variant: "2025", scale: "paper", dataSeed: 42 });
    expect(loadDataset({ dataset: "moons", name: "moons", scale: "none" }).description.scale).toBe("none");
  });

  it("loads a train/test pair of CSV files and records them", () => {
    const d = loadDataset({ train: file("train.csv.gz"), test: file("test.csv") });
    expect(d.description).toEqual({
      name: "csv",
      scale: "none",
      trainFile: file("train.csv.gz"),
      testFile: file("test.csv"),
    });
    expect([d.features, d.classes, d.train.n, d.test.n]).toEqual([2, 3, 3, 1]);
    const p = loadDataset({ train: file("train.csv"), test: file("test.csv"), scale: "paper" });
    expect([...p.train.x]).toEqual([-0.7, -0.42, -0.14, 0.14, 0.42, 0.7].map(Math.fround));
    expect([...p.test.x]).toEqual([0, 0]);
    const s = loadDataset({ train: file("train.csv"), test: file("test.csv"), scale: "standard" });
    expect(s.test.x[0]).toBeCloseTo(-1 / Math.sqrt(8 / 3), 6);
  });

  it("wants exactly one of a dataset name or a train and test file", () => {
    expect(errorOf(() => loadDataset({}), E_DATASET_OPTIONS).message).toMatch(/^a dataset is missing/);
    expect(errorOf(() => loadDataset({ train: file("train.csv") }), E_DATASET_OPTIONS).message).toMatch(
      /^the test file is missing/,
    );
    expect(errorOf(() => loadDataset({ test: file("test.csv") }), E_DATASET_OPTIONS).message).toMatch(
      /^the training file is missing/,
    );
    expect(
      errorOf(
        () => loadDataset({ dataset: "moons", train: file("train.csv"), test: file("test.csv") }),
        E_DATASET_OPTIONS,
      ).message,
    ).toContain('give either a built-in dataset (got "moons") or train and test files');
    expect(
      errorOf(() => loadDataset({ dataset: "moons", name: "circles" }), E_DATASET_OPTIONS).message,
    ).toContain('two different dataset names given: "moons" and "circles"');
    expect(
      errorOf(() => loadDataset({ dataset: "moons", scale: "zscore" as "none" }), E_DATASET_OPTIONS).message,
    ).toBe('unknown scaling "zscore"; allowed: none, paper, standard');
    expect(errorOf(() => loadDataset({ dataset: "digits-12" }), E_DATASET_NAME).message).toContain(
      "c = 2..10",
    );
  });

  it("rejects train and test files with different feature counts, and missing files", () => {
    expect(
      errorOf(() => loadDataset({ train: file("train.csv"), test: file("wide.csv") }), E_DATASET_CSV).message,
    ).toBe(
      `${file("train.csv")} has 2 feature columns but ${file("wide.csv")} has 3; the training and test files must have the same columns`,
    );
    expect(
      errorOf(() => loadDataset({ train: file("train.csv"), test: file("gone.csv") }), E_DATASET_FILE)
        .message,
    ).toContain(file("gone.csv"));
  });

  it("loads the vendored moons files of the papers (.csv.gz with a header)", () => {
    const d = loadDataset({
      train: path.join(dataDir, "moons-train.csv.gz"),
      test: path.join(dataDir, "moons-test.csv.gz"),
      scale: "paper",
    });
    expect([d.train.n, d.test.n, d.features, d.classes]).toEqual([50000, 16000, 2, 2]);
    expect(Math.min(...d.train.x)).toBe(Math.fround(-0.7));
    expect(Math.max(...d.test.x)).toBe(Math.fround(0.7));
  });
});
