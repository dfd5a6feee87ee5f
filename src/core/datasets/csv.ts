// CSV datasets: numeric feature columns then an integer class label in the last column. Pure: the
// caller reads the file. Every error names the source, the 1-based line, the column, the bad value and
// what is allowed (code E_DATASET_CSV).
import type { Dataset } from "../dataset.ts";
import { E_DATASET_CSV, SltError } from "../errors.ts";
import { classCount, type RawSplit } from "./raw.ts";
import { type ScaleKind, scaleSplits } from "./scale.ts";

/** Largest accepted class label; a larger "label" is almost certainly not a class index. */
export const MAX_LABEL = 65535;

/** Most columns (features and the label) a CSV row may have: far above MNIST's 785. */
export const MAX_CSV_COLUMNS = 65536;

/** Most data rows a CSV file may have. */
export const MAX_CSV_ROWS = 10_000_000;

/** Whether a line (without its "\r") holds nothing but blanks: such lines are skipped. */
function isBlank(line: string): boolean {
  return line.length === 0 || (line.charCodeAt(0) <= 32 && line.trim() === "");
}

/** The lines that are not blank: the rows to allocate for (blank lines may be most of a file). */
function countRows(lines: readonly string[]): number {
  let rows = 0;
  for (const line of lines) if (!isBlank(line)) rows++;
  return rows;
}

export interface ParsedCsv extends RawSplit {
  /** the file name or other source given to parseCsv, used in messages */
  readonly source: string;
  /** the header row's fields, when the first row was a header */
  readonly header?: readonly string[];
}

const NAN_OR_INF = /^[+-]?(nan|inf|infinity)$/i;

/**
 * A decimal number, or NaN for anything else: empty or blank fields, words, and the 0x/0b/0o radix
 * forms that Number() would otherwise accept. "Infinity" parses to ±Infinity (the caller rejects it).
 */
function parseField(s: string): number {
  const v = Number(s);
  if (Number.isNaN(v)) return v;
  if (v === 0) return s.trim() === "" ? Number.NaN : v;
  const t = s.charCodeAt(0) <= 32 ? s.trim() : s;
  const c = t.charCodeAt(1) | 32;
  if (c === 120 || c === 98 || c === 111) return Number.NaN;
  return v;
}

/** A field a header would have: not blank, not a number, not a spelling of NaN or infinity. */
function isWord(s: string): boolean {
  const t = s.trim();
  return t !== "" && Number.isNaN(parseField(t)) && !NAN_OR_INF.test(t);
}

function shown(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}

/**
 * Parse CSV text: comma-separated, the last column the class label (an integer 0..MAX_LABEL), all other
 * columns finite decimal numbers. An optional header row is recognised by a non-numeric field in the
 * first row. Blank lines are skipped; "\r\n" line ends, a trailing newline and a UTF-8 BOM are fine.
 */
export function parseCsv(text: string, source: string): ParsedCsv {
  const fail = (message: string): never => {
    throw new SltError(E_DATASET_CSV, `${source}: ${message}`);
  };
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = body.split("\n");

  let columns = 0;
  let firstLine = 0;
  let header: string[] | undefined;
  let features = 0;
  let x = new Float64Array(0);
  let y = new Int32Array(0);
  let n = 0;

  const columnName = (j: number): string => {
    const named = header ? ` "${header[j].trim()}"` : "";
    return j === columns - 1 ? `column ${j + 1}${named} (the label)` : `column ${j + 1}${named}`;
  };

  for (let i = 0; i < lines.length; i++) {
    let line = lines[i];
    if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
    if (isBlank(line)) continue;
    const lineNo = i + 1;
    const fields = line.split(",");

    if (columns === 0) {
      columns = fields.length;
      firstLine = lineNo;
      if (columns < 2) {
        fail(
          `line ${lineNo} has ${columns} column, expected at least 2 (feature columns, then the label); ` +
            "the separator must be a comma",
        );
      }
      if (columns > MAX_CSV_COLUMNS)
        fail(`line ${lineNo} has ${columns} columns, more than the ${MAX_CSV_COLUMNS} allowed`);
      const rows = countRows(lines);
      if (rows > MAX_CSV_ROWS)
        fail(`${rows} rows (lines that are not blank), more than the ${MAX_CSV_ROWS} allowed`);
      features = columns - 1;
      x = new Float64Array(rows * features);
      y = new Int32Array(rows);
      if (fields.some(isWord)) {
        header = fields;
        continue;
      }
    } else if (fields.length !== columns) {
      fail(
        `line ${lineNo} has ${fields.length} columns, expected ${columns} ` +
          `(as in line ${firstLine}${header ? ", the header" : ""})`,
      );
    }

    const base = n * features;
    for (let j = 0; j < features; j++) {
      const v = parseField(fields[j]);
      if (v - v !== 0) {
        const s = fields[j];
        const why =
          s.trim() === ""
            ? "is empty"
            : Number.isNaN(v) && !NAN_OR_INF.test(s.trim())
              ? `is ${shown(s)}, not a number`
              : `is ${shown(s)}, not a finite number (NaN and infinities are not allowed)`;
        fail(`line ${lineNo}, ${columnName(j)}: the value ${why}; features must be finite decimal numbers`);
      }
      x[base + j] = v;
    }
    const s = fields[features];
    const label = parseField(s);
    if (!Number.isInteger(label) || label < 0 || label > MAX_LABEL) {
      const why =
        s.trim() === ""
          ? "is empty"
          : Number.isNaN(label)
            ? `is ${shown(s)}, not a number`
            : label < 0
              ? `is ${shown(s)}, which is negative`
              : Number.isInteger(label)
                ? `is ${shown(s)}, larger than ${MAX_LABEL}`
                : `is ${shown(s)}, not an integer`;
      fail(
        `line ${lineNo}, ${columnName(features)}: the value ${why}; labels must be integers 0..${MAX_LABEL} (class indices)`,
      );
    }
    y[n] = label;
    n++;
  }

  if (columns === 0)
    fail("no data rows: the file is empty; expected comma-separated rows of features, then a label");
  if (n === 0)
    fail(`no data rows: only a header line (line ${firstLine}); expected rows of features, then a label`);

  const out: ParsedCsv = { n, features, x: x.slice(0, n * features), y: y.slice(0, n), source };
  return header ? { ...out, header } : out;
}

export interface CsvDatasetOptions {
  /** default "none" */
  readonly scale?: ScaleKind;
  /** names recorded in the description and used in messages; default the splits' `source` */
  readonly trainFile?: string;
  readonly testFile?: string;
}

/**
 * A dataset from parsed train and test files: the feature counts must agree, classes = largest label
 * over both files + 1 (at least 2), scaled as `options.scale` says (default "none").
 */
export function datasetFromCsv(
  train: RawSplit & { source?: string },
  test: RawSplit & { source?: string },
  options: CsvDatasetOptions = {},
): Dataset {
  const trainFile = options.trainFile ?? train.source ?? "train";
  const testFile = options.testFile ?? test.source ?? "test";
  const scale = options.scale ?? "none";
  if (train.features !== test.features) {
    throw new SltError(
      E_DATASET_CSV,
      `${trainFile} has ${train.features} feature columns but ${testFile} has ${test.features}; ` +
        "the training and test files must have the same columns",
    );
  }
  const classes = classCount(train, test);
  if (classes < 2) {
    throw new SltError(
      E_DATASET_CSV,
      `every label in ${trainFile} and ${testFile} is 0; a classification dataset needs labels 0..c−1 with c ≥ 2`,
    );
  }
  // Labels all of one class (say every row 1) give classes = 2 but nothing to learn: the search would
  // run and report a perfect, meaningless accuracy.
  const only = train.n > 0 ? train.y[0] : 0;
  let other = 1;
  while (other < train.n && train.y[other] === only) other++;
  if (other >= train.n) {
    throw new SltError(
      E_DATASET_CSV,
      `every label in ${trainFile} is ${only}: the training file has 1 class; a classification dataset needs at least 2 classes in its training rows`,
    );
  }
  const scaled = scaleSplits(train, test, scale);
  return {
    description: { name: "csv", scale, trainFile, testFile },
    features: train.features,
    classes,
    train: scaled.train,
    test: scaled.test,
  };
}
