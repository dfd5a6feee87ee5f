import { describe, expect, it } from "vitest";
import { compareRuns } from "../../src/report/compare.ts";
import { chartData, compareHtml, testAccuracySvg } from "../../src/report/compare-html.ts";
import { fakeRecord } from "./fixtures.ts";

const c = compareRuns([
  fakeRecord({
    seed: 1,
    islands: 1,
    testAccuracy: 0.8,
    points: [
      [100, 0.5],
      [200, 0.6],
    ],
  }),
  fakeRecord({
    seed: 2,
    islands: 1,
    testAccuracy: 0.82,
    points: [
      [100, 0.55],
      [200, 0.65],
    ],
  }),
  fakeRecord({
    seed: 1,
    islands: 4,
    testAccuracy: 0.9,
    points: [
      [100, 0.5],
      [400, 0.7],
    ],
  }),
  fakeRecord({
    seed: 2,
    islands: 4,
    testAccuracy: 0.91,
    points: [
      [100, 0.5],
      [400, 0.75],
    ],
  }),
  fakeRecord({
    seed: 1,
    islands: 2,
    fitness: "loss",
    testAccuracy: 0.7,
    points: [
      [100, 0.9],
      [200, 0.8],
    ],
  }),
]);

/** Every src= and href= value in the page. */
const links = (html: string) =>
  [...html.matchAll(/\b(?:src|href)\s*=\s*["']?([^"'\s>]+)/gi)].map((m) => m[1]);

describe("compare-html", () => {
  it("one chart per fitness kind, every setting's mean and bounds on the union of their grids", () => {
    const charts = chartData(c);
    expect(charts.map((ch) => [ch.fitness, ch.settings.map((s) => s.label)])).toEqual([
      ["accuracy", ["fitness=accuracy, islands=1", "fitness=accuracy, islands=4"]],
      ["loss", ["fitness=loss, islands=2"]],
    ]);
    const [accuracy] = charts;
    const xs = accuracy.data[0] as number[];
    expect(xs).toEqual(
      [...new Set([...c.settings[0].curve.evaluations, ...c.settings[1].curve.evaluations])].sort(
        (a, b) => a - b,
      ),
    );
    // x, then mean, lower and upper per setting
    expect(accuracy.data.length).toBe(1 + 2 * 3);
    expect(accuracy.data.every((col) => col.length === xs.length)).toBe(true);
    // islands=1's mean at 200 evaluations: (0.6 + 0.65) / 2; islands=1 has no point at 400
    expect(accuracy.data[1][xs.indexOf(200)]).toBeCloseTo(0.625, 12);
    expect(accuracy.data[1][xs.indexOf(400)]).toBeNull();
    expect(charts[1].yLabel).toMatch(/loss.*lower is better/);
  });

  it("draws test accuracy per setting with its interval as an error bar", () => {
    const svg = testAccuracySvg(c);
    expect(svg.match(/<circle/g)?.length).toBe(3);
    // two settings with 2 runs have an interval; the one-run setting has none
    expect(svg.match(/<path/g)?.length).toBe(2);
    expect(svg).toContain('class="base"');
  });

  it("the page loads nothing from the network and holds the data, the table and every setting", () => {
    const html = compareHtml(c);
    for (const link of links(html)) expect(link).not.toMatch(/^(https?:)?\/\//i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;;`);
    expect(html).toContain('<script type="application/json" id="slt-data">');
    expect(html).toContain("uPlot");
    for (const s of c.settings) expect(html).toContain(`></span>${s.label}`);
    expect(html).toContain("<details><summary>full configuration</summary>");
    expect(html).toMatch(/test accuracy is measured once, at the end of a run/i);
    const data = JSON.parse(/id="slt-data">([^<]*)<\/script>/.exec(html)?.[1] ?? "null");
    expect(data.charts.length).toBe(2);
  });
});
