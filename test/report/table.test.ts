import { describe, expect, it } from "vitest";
import { compareRuns } from "../../src/report/compare.ts";
import { formatTable, meanCiText } from "../../src/report/table.ts";
import { fakeRecord } from "./fixtures.ts";

const runs = [
  ...[0.8, 0.82].map((t, k) => fakeRecord({ seed: k + 1, islands: 1, testAccuracy: t })),
  ...[0.9, 0.92].map((t, k) => fakeRecord({ seed: k + 1, islands: 4, topology: "ring", testAccuracy: t })),
  ...[0.7, 0.72].map((t, k) => fakeRecord({ seed: k + 1, islands: 4, topology: "full", testAccuracy: t })),
];
const c = compareRuns(runs);

describe("formatTable", () => {
  it("md: a settings table (one row per setting) and a runs table (one row per run)", () => {
    const md = formatTable(c, "md");
    const rows = md.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| ---"));
    // two headers, 3 settings, 6 runs
    expect(rows.length).toBe(2 + 3 + 6);
    expect(md).toContain("| islands=1 | 2 | 0 |");
    expect(md).toContain("Baseline: islands=1.");
    expect(md).toContain(
      '2 settings are each compared with the baseline at 95%: about 0.1 "better" or "worse"',
    );
    const ring = rows.find((r) => r.startsWith("| islands=4, topology=ring | 2 |")) as string;
    // test accuracy against the baseline, then best training fitness against it (the fixtures' curves
    // are equal: a difference of exactly 0, a tie)
    expect(ring).toMatch(
      /\| \+0\.1000 \[\+0\.\d{4}, \+0\.\d{4}\] \| better \| \+0\.0000 \[[^\]]+\] \| tie \|$/,
    );
    expect(rows.find((r) => r.startsWith("| islands=4, topology=full | 2 |"))).toMatch(
      /\| worse \| [^|]+ \| tie \|$/,
    );
    expect(rows[0]).toContain("best training accuracy");
  });

  it("csv: a header and one row per setting, every interval as two bounds", () => {
    const lines = formatTable(c, "csv").trimEnd().split("\n");
    expect(lines.length).toBe(1 + 3);
    const header = lines[0].split(",");
    expect(header).toContain("test_accuracy_lower");
    expect(header.slice(-5)).toEqual([
      "verdict",
      "training_fitness_vs_baseline",
      "training_fitness_vs_baseline_lower",
      "training_fitness_vs_baseline_upper",
      "training_verdict",
    ]);
    // the label holds a comma: quoted
    expect(lines[2]).toMatch(/^"islands=4, topology=ring",no,2,0,/);
    expect(lines[2]).toMatch(/,better,0,0,0,tie$/);
    expect(lines[1]).toMatch(/^islands=1,yes,2,0,/);
  });

  it("json: the comparison record, with per-setting figures, curves and runs", () => {
    const doc = JSON.parse(formatTable(c, "json"));
    expect(doc.format).toBe("slt-report/1");
    expect(doc.baseline).toBe("islands=1");
    expect(doc.settings.length).toBe(3);
    expect(doc.settings.map((s: { runList: unknown[] }) => s.runList.length)).toEqual([2, 2, 2]);
    const s = doc.settings[1];
    expect(Object.keys(s.testAccuracy)).toEqual(["n", "mean", "lower", "upper"]);
    expect(Object.keys(s.curve)).toEqual(["evaluations", "mean", "lower", "upper", "n"]);
    expect(s.testAccuracyVsBaseline.verdict).toBe("better");
    expect(s.config.cluster.topology).toBe("ring");
  });

  it("names the fitness when settings mix accuracy and loss", () => {
    const mixed = compareRuns([
      fakeRecord({ fitness: "loss" }),
      fakeRecord({ fitness: "accuracy", seed: 2 }),
    ]);
    const md = formatTable(mixed, "md");
    expect(md).toContain("best training fitness");
    expect(md).toMatch(/\(loss\)/);
    const loss = compareRuns([fakeRecord({ fitness: "loss" })]);
    expect(formatTable(loss, "md")).toContain("best training loss (lower is better)");
  });

  it("a mean's cell: ± the half width, the mean alone below 2 runs", () => {
    expect(meanCiText({ n: 3, mean: 0.5, lower: 0.4, upper: 0.6 })).toBe("0.5000 ± 0.1000");
    expect(meanCiText({ n: 1, mean: 0.5, lower: null, upper: null })).toBe("0.5000");
    expect(meanCiText({ n: 0, mean: null, lower: null, upper: null })).toBe("–");
  });
});
