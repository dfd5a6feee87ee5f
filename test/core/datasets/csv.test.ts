import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { datasetFromCsv, MAX_CSV_COLUMNS, MAX_LABEL, parseCsv } from "../../../src/core/datasets/index.ts";
import { E_DATASET_CSV, SltError } from "../../../src/core/errors.ts";

/** The SltError parseCsv throws for `text` (fails the test if it does not throw one). */
function csvError(text: string, source = "data.csv"): SltError {
  try {
    parseCsv(text, source);
  } catch (e) {
    expect(e).toBeInstanceOf(SltError);
    expect((e as SltError).code).toBe(E_DATASET_CSV);
    return e as SltError;
  }
  throw new Error(`parseCsv accepted ${JSON.stringify(text)}`);
}

describe("parseCsv", () => {
  it("reads features then the label from the last column, without a header", () => {
    const s = parseCsv("0.5,-1,2\n3,4e-2,0\n", "a.csv");
    expect(s.n).toBe(2);
    expect(s.features).toBe(2);
    expect([...s.x]).toEqual([0.5, -1, 3, 0.04]);
    expect([...s.y]).toEqual([2, 0]);
    expect(s.header).toBeUndefined();
    expect(s.x).toBeInstanceOf(Float64Array);
  });

  it("detects a header row by a non-numeric field", () => {
    const s = parseCsv("x1,x2,label\n1,2,1\n", "a.csv");
    expect(s.header).toEqual(["x1", "x2", "label"]);
    expect(s.n).toBe(1);
    expect(parseCsv("0,1,label\n1,2,1\n", "a.csv").header).toEqual(["0", "1", "label"]);
  });

  it("tolerates \\r\\n, blank lines, a missing trailing newline, spaces around numbers and a BOM", () => {
    const s = parseCsv("\uFEFFa,b,y\r\n\r\n 1 , 2,0\r\n\r\n3,4, 1\r\n   \r\n5,6,1", "a.csv");
    expect([...s.x]).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...s.y]).toEqual([0, 1, 1]);
  });

  it("accepts integral labels written as decimals (1.0) and exponents", () => {
    expect([...parseCsv("1,1.0\n2,2e0\n", "a.csv").y]).toEqual([1, 2]);
  });

  it("round-trips any table of finite numbers and labels", () => {
    const table = fc
      .integer({ min: 1, max: 5 })
      .chain((f) =>
        fc.array(
          fc.tuple(
            fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: f, maxLength: f }),
            fc.integer({ min: 0, max: MAX_LABEL }),
          ),
          { minLength: 1, maxLength: 30 },
        ),
      );
    fc.assert(
      fc.property(table, fc.boolean(), fc.constantFrom("\n", "\r\n"), (rows, withHeader, eol) => {
        const f = rows[0][0].length;
        const lines = rows.map(([xs, y]) => [...xs.map(String), String(y)].join(","));
        if (withHeader) lines.unshift([...Array.from({ length: f }, (_, j) => `f${j}`), "label"].join(","));
        const s = parseCsv(lines.join(eol) + eol, "t.csv");
        expect(s.n).toBe(rows.length);
        expect(s.features).toBe(f);
        expect([...s.x]).toEqual(
          rows.flatMap(([xs]) => xs.map((v) => (v === 0 ? 0 : v)) /* String(-0) is "0" */),
        );
        expect([...s.y]).toEqual(rows.map(([, y]) => y));
        expect(s.header !== undefined).toBe(withHeader);
      }),
    );
  });

  it("reports ragged rows with the line and both column counts", () => {
    const e = csvError("x1,x2,label\n1,2,0\n\n1,2\n", "moons.csv");
    expect(e.message).toBe("moons.csv: line 4 has 2 columns, expected 3 (as in line 1, the header)");
    expect(csvError("1,2,0\n1,2,0,5\n").message).toContain("line 2 has 4 columns, expected 3 (as in line 1)");
  });

  it("reports a non-number feature with line, column, value and what is allowed", () => {
    const e = csvError("x1,x2,label\n1,2,0\n1,abc,1\n", "f.csv");
    expect(e.message).toBe(
      'f.csv: line 3, column 2 "x2": the value is "abc", not a number; features must be finite decimal numbers',
    );
    expect(csvError("1,2,0\n1,0x1F,1\n").message).toContain(
      'line 2, column 2: the value is "0x1F", not a number',
    );
    expect(csvError("1,2,0\n1,,1\n").message).toContain("line 2, column 2: the value is empty");
    expect(csvError("1,2,0\n1, ,1\n").message).toContain("line 2, column 2: the value is empty");
  });

  it("rejects NaN and infinities in features", () => {
    for (const bad of ["NaN", "nan", "Infinity", "-Infinity", "inf"]) {
      const e = csvError(`1,2,0\n1,${bad},1\n`);
      expect(e.message).toContain(
        `line 2, column 2: the value is "${bad}", not a finite number (NaN and infinities are not allowed)`,
      );
    }
    expect(csvError("1e999,2,0\n").message).toContain(
      'line 1, column 1: the value is "1e999", not a finite number',
    );
  });

  it("reports bad labels: negative, non-integer, non-numeric, empty, too large", () => {
    const cases: [string, string][] = [
      ["-1", 'the value is "-1", which is negative'],
      ["1.5", 'the value is "1.5", not an integer'],
      ["cat", 'the value is "cat", not a number'],
      ["", "the value is empty"],
      ["NaN", 'the value is "NaN", not a number'],
      ["Infinity", 'the value is "Infinity", not an integer'],
      [String(MAX_LABEL + 1), `the value is "${MAX_LABEL + 1}", larger than ${MAX_LABEL}`],
    ];
    for (const [label, why] of cases) {
      const e = csvError(`x,y\n1,0\n2,${label}\n`, "l.csv");
      expect(e.message).toBe(
        `l.csv: line 3, column 2 "y" (the label): ${why}; labels must be integers 0..${MAX_LABEL} (class indices)`,
      );
    }
  });

  it("rejects an empty file, a blank file and a header-only file", () => {
    expect(csvError("", "e.csv").message).toBe(
      "e.csv: no data rows: the file is empty; expected comma-separated rows of features, then a label",
    );
    expect(csvError("\n\r\n  \n").message).toContain("the file is empty");
    expect(csvError("\nx1,x2,label\n\n", "h.csv").message).toBe(
      "h.csv: no data rows: only a header line (line 2); expected rows of features, then a label",
    );
  });

  it("rejects a single column (no features, or a non-comma separator)", () => {
    expect(csvError("1;2;0\n").message).toContain("line 1 has 1 column, expected at least 2");
  });

  it("parses the 50000-row moons file size quickly", () => {
    const lines = ["x1,x2,label"];
    for (let i = 0; i < 50000; i++)
      lines.push(`${Math.sin(i).toFixed(9)},${Math.cos(i * 1.3).toFixed(9)},${i % 2}`);
    const text = lines.join("\n");
    const t = performance.now();
    const s = parseCsv(text, "big.csv");
    expect(performance.now() - t).toBeLessThan(500);
    expect(s.n).toBe(50000);
  });
});

describe("datasetFromCsv", () => {
  const train = parseCsv("a,b,y\n0,10,0\n5,20,2\n", "train.csv");
  const test = parseCsv("a,b,y\n1,15,3\n", "test.csv");

  it("takes classes = largest label + 1 over both files and records the files", () => {
    const d = datasetFromCsv(train, test);
    expect(d.classes).toBe(4);
    expect(d.features).toBe(2);
    expect(d.description).toEqual({
      name: "csv",
      scale: "none",
      trainFile: "train.csv",
      testFile: "test.csv",
    });
    expect([...d.train.x]).toEqual([0, 10, 5, 20]);
    expect(d.train.x).toBeInstanceOf(Float32Array);
  });

  it("scales as asked", () => {
    const d = datasetFromCsv(train, test, { scale: "paper", trainFile: "tr", testFile: "te" });
    expect([...d.train.x]).toEqual([-0.7, 0, -0.35, 0.7].map(Math.fround));
    expect([...d.test.x]).toEqual([-0.7, 0.7].map(Math.fround));
    expect(d.description.scale).toBe("paper");
    expect(d.description.trainFile).toBe("tr");
    const s = datasetFromCsv(train, test, { scale: "standard" });
    expect([...s.test.x]).toEqual([-0.6, 0].map(Math.fround));
  });

  it("rejects files whose feature counts differ", () => {
    const other = parseCsv("1,2,3,0\n", "wide.csv");
    expect(() => datasetFromCsv(train, other)).toThrow(
      "train.csv has 2 feature columns but wide.csv has 3; the training and test files must have the same columns",
    );
  });

  it("rejects data with a single class", () => {
    const zero = parseCsv("1,0\n2,0\n", "z.csv");
    expect(() => datasetFromCsv(zero, zero)).toThrow(/every label in z.csv and z.csv is 0/);
  });

  it("rejects a training file whose labels are all one class, even one other than 0", () => {
    const ones = parseCsv("1,1\n2,1\n3,1\n", "ones.csv");
    const mixed = parseCsv("1,0\n2,1\n", "mixed.csv");
    expect(() => datasetFromCsv(ones, mixed)).toThrow(
      "every label in ones.csv is 1: the training file has 1 class; a classification dataset needs at least 2 classes in its training rows",
    );
    // a test file of one class is fine: small test splits may hold only one
    expect(datasetFromCsv(mixed, ones).classes).toBe(2);
  });
});

describe("parseCsv limits", () => {
  it("refuses a row of more than MAX_CSV_COLUMNS columns, even among 10⁶ blank lines, at once", () => {
    const wide = `${"0,".repeat(100_000 - 1)}0\n`;
    const started = performance.now();
    const e = csvError(`${"\n".repeat(1_000_000)}${wide}`, "wide.csv");
    expect(e.message).toBe(
      `wide.csv: line 1000001 has 100000 columns, more than the ${MAX_CSV_COLUMNS} allowed`,
    );
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it("10⁶ blank lines around a few rows cost memory for the rows only", () => {
    const blank = "\n".repeat(1_000_000);
    const p = parseCsv(`${blank}1,2,0\n${blank}3,4,1\n${blank}`, "sparse.csv");
    expect(p.n).toBe(2);
    expect(p.x.length).toBe(4);
    expect([...p.y]).toEqual([0, 1]);
  });
});
