// The comparison as one self-contained HTML page: no network request (uPlot inlined from the installed
// package, src/ui/assets.ts; the data embedded as JSON in the page). It shows, per fitness kind, the mean
// best-so-far training fitness of every setting against search evaluations with its 95% band (uPlot
// bands between the dashed bound series); test accuracy per setting with its 95% interval as an error
// bar (SVG, drawn here: test accuracy is measured once, at the end of a run, so it is a final figure, not
// a curve); the final table (table.ts); and each setting's differing fields and full configuration.
import { chartAssets, inlineScript } from "../ui/assets.ts";
import { embeddedJson, escapeHtml } from "../ui/page.ts";
import { REPORT_CSP } from "../ui/run-report.ts";
import type { Comparison, SettingSummary } from "./compare.ts";
import { fitnessColumn, multiplicityNote, runsRows, settingsRows } from "./table.ts";

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"];
const colour = (k: number) => PALETTE[k % PALETTE.length];

/** One chart: every setting of one fitness kind on the union of their evaluation grids (null elsewhere). */
export interface ChartData {
  readonly fitness: string;
  readonly yLabel: string;
  /** x, then per setting: mean, lower, upper */
  readonly data: (number | null)[][];
  readonly settings: { readonly label: string; readonly colour: string }[];
}

const Y_LABEL = {
  accuracy: "best training accuracy so far (higher is better)",
  loss: "best training loss so far (cross-entropy, lower is better)",
} as const;

/** The charts' data, one chart per fitness kind, settings in their order and colours. */
export function chartData(c: Comparison): ChartData[] {
  const charts: ChartData[] = [];
  for (const fitness of ["accuracy", "loss"] as const) {
    const members = c.settings
      .map((s, k) => ({ s, k }))
      .filter(({ s }) => s.fitness === fitness && s.curve.evaluations.length > 0);
    if (members.length === 0) continue;
    const xs = [...new Set(members.flatMap(({ s }) => s.curve.evaluations))].sort((a, b) => a - b);
    const at = new Map(xs.map((x, i) => [x, i]));
    const data: (number | null)[][] = [xs];
    for (const { s } of members) {
      for (const ys of [s.curve.mean, s.curve.lower, s.curve.upper]) {
        const column: (number | null)[] = xs.map(() => null);
        s.curve.evaluations.forEach((x, i) => {
          column[at.get(x) as number] = ys[i];
        });
        data.push(column);
      }
    }
    const settings = members.map(({ s, k }) => ({ label: s.label, colour: colour(k) }));
    charts.push({ fitness, yLabel: Y_LABEL[fitness], data, settings });
  }
  return charts;
}

/** Test accuracy per setting: a dot at the mean, a bar over the 95% interval, the baseline's mean dashed. */
export function testAccuracySvg(c: Comparison): string {
  const rows = c.settings.filter((s) => s.testAccuracy.mean !== null);
  if (rows.length === 0) return "<p>No run ended with a test accuracy.</p>";
  const all = rows.flatMap((s) => [s.testAccuracy.lower, s.testAccuracy.mean, s.testAccuracy.upper]);
  const known = all.filter((v): v is number => v !== null);
  let lo = Math.min(...known);
  let hi = Math.max(...known);
  const pad = Math.max((hi - lo) * 0.08, 0.002);
  lo -= pad;
  hi += pad;
  const left = 260;
  const width = 860;
  const rowH = 28;
  const height = rows.length * rowH + 40;
  const x = (v: number) => left + ((v - lo) / (hi - lo)) * (width - left - 20);
  const parts = [`<svg class="forest" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">`];
  const base = c.settings.find((s) => s.baseline);
  if (base?.testAccuracy.mean != null) {
    const bx = x(base.testAccuracy.mean).toFixed(1);
    parts.push(`<line x1="${bx}" x2="${bx}" y1="4" y2="${height - 30}" class="base"/>`);
  }
  rows.forEach((s, i) => {
    const y = 16 + i * rowH;
    const k = c.settings.indexOf(s);
    const m = s.testAccuracy.mean as number;
    parts.push(`<text x="${left - 10}" y="${y + 4}" text-anchor="end">${escapeHtml(s.label)}</text>`);
    if (s.testAccuracy.lower !== null && s.testAccuracy.upper !== null) {
      const [a, b] = [x(s.testAccuracy.lower), x(s.testAccuracy.upper)];
      parts.push(
        `<path d="M${a.toFixed(1)} ${y}H${b.toFixed(1)}M${a.toFixed(1)} ${y - 6}v12M${b.toFixed(1)} ${y - 6}v12" stroke="${colour(k)}" stroke-width="2" fill="none"/>`,
      );
    }
    parts.push(
      `<circle cx="${x(m).toFixed(1)}" cy="${y}" r="5" fill="${colour(k)}"><title>${escapeHtml(
        `${s.label}: ${m.toFixed(4)} (${s.testAccuracy.n} runs)`,
      )}</title></circle>`,
    );
  });
  const axisY = height - 24;
  parts.push(`<line x1="${left}" x2="${width - 20}" y1="${axisY}" y2="${axisY}" stroke="#888"/>`);
  for (let t = 0; t <= 4; t++) {
    const v = lo + ((hi - lo) * t) / 4;
    parts.push(`<text x="${x(v).toFixed(1)}" y="${axisY + 16}" text-anchor="middle">${v.toFixed(4)}</text>`);
  }
  parts.push("</svg>");
  return parts.join("");
}

function tableHtml(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const head = header.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((v) => `<td>${escapeHtml(v)}</td>`).join("")}</tr>`).join("\n");
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function settingSection(s: SettingSummary, k: number): string {
  const fields = Object.entries(s.fields)
    .map(([n, v]) => `<li><code>${escapeHtml(n)}</code> = <code>${escapeHtml(v)}</code></li>`)
    .join("");
  return `<section class="setting"><h3><span class="swatch" style="background:${colour(k)}"></span>${escapeHtml(
    s.label,
  )}${s.baseline ? " (baseline)" : ""}</h3>
<p>${s.runs} run(s), seeds ${escapeHtml(s.runList.map((r) => r.seed).join(", "))}.</p>
${fields ? `<ul>${fields}</ul>` : ""}
<details><summary>full configuration</summary><pre>${escapeHtml(JSON.stringify(s.config, null, 2))}</pre></details></section>`;
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
th{background:#f3f3f3}.forest text{font-size:12px}.forest .base{stroke:#888;stroke-dasharray:4 4}
.swatch{display:inline-block;width:12px;height:12px;margin-right:6px;border-radius:2px}
.chart{margin:1em 0}pre{background:#f7f7f7;padding:.5em;overflow:auto;max-height:30em}.note{color:#555}`;

// Draws each chart of the embedded data with uPlot: per setting its mean (solid), the 95% bounds
// (dashed) and the band between them filled.
const DRAW = `"use strict";
(() => {
  const report = JSON.parse(document.getElementById("slt-data").textContent);
  const charts = [];
  for (const chart of report.charts) {
    const el = document.getElementById("chart-" + chart.fitness);
    const series = [{ label: "evaluations" }];
    const bands = [];
    chart.settings.forEach((s, i) => {
      const base = 1 + i * 3;
      const line = { stroke: s.colour, spanGaps: true, points: { show: false } };
      series.push({ ...line, label: s.label, width: 2 });
      series.push({ ...line, label: s.label + " 95% lower", width: 1, dash: [4, 4] });
      series.push({ ...line, label: s.label + " 95% upper", width: 1, dash: [4, 4] });
      bands.push({ series: [base + 2, base + 1], fill: s.colour + "22" });
    });
    const opts = {
      width: Math.max(400, el.clientWidth || 900),
      height: 360,
      scales: { x: { time: false } },
      axes: [{ label: "search evaluations" }, { label: "best training " + chart.fitness, size: 70 }],
      series,
      bands,
    };
    const plot = new uPlot(opts, chart.data, el);
    // the legend lists the means; the bounds are the dashed lines of the same colour
    const rows = plot.root.querySelectorAll(".u-legend .u-series");
    rows.forEach((row, i) => {
      if (i > 0 && (i - 1) % 3 !== 0) row.style.display = "none";
    });
    charts.push(plot);
  }
  // read by tests: how many charts and points the page drew
  window.sltReport = { charts: charts.length, points: () => charts.map((c) => c.data[0].length) };
})();`;

/** The comparison page (see the file comment). */
export function compareHtml(c: Comparison): string {
  const assets = chartAssets();
  const runs = c.settings.reduce((a, s) => a + s.runs, 0);
  const title = `slt report: ${runs} runs in ${c.settings.length} setting${c.settings.length === 1 ? "" : "s"}`;
  const charts = chartData(c);
  const { header, rows } = settingsRows(c);
  const fitness = fitnessColumn(c);
  const runTable = runsRows(c);
  const chartDivs = charts
    .map((ch) => `<h3>${escapeHtml(ch.yLabel)}</h3><div class="chart" id="chart-${ch.fitness}"></div>`)
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(REPORT_CSP)}">
<title>${escapeHtml(title)}</title>
<style>${assets.css}</style><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="note">Each setting groups runs whose configurations differ only in the seed. Curves: the mean over a
setting's runs of the best training fitness found so far against search evaluations (pruning not counted),
with its 95% confidence band (Student t, n − 1 degrees of freedom), each run resampled on a common grid up to
the smallest final evaluation count among them. Only runs that ended count; failed or interrupted runs are listed.</p>
<h2>Best training fitness against evaluations</h2>
${chartDivs || "<p>No run has a curve.</p>"}
<h2>Test accuracy</h2>
<p class="note">Test accuracy is measured once, at the end of a run (the best-on-training individual, before any
pruning), so it is drawn per setting as a final figure: the mean with its 95% confidence interval${
    c.baseline !== null ? `; the dashed line is the baseline's (${escapeHtml(c.baseline)}) mean` : ""
  }.</p>
${testAccuracySvg(c)}
<h2>Final table</h2>
<p class="note">Means ± the half width of the 95% confidence interval. ${escapeHtml(fitness.header)}: the
best-so-far at each run's end.${
    c.baseline !== null
      ? ` Differences with the baseline: Welch's 95% interval; better or worse when it excludes 0 (for a loss, lower is better), tie when it contains 0. ${escapeHtml(multiplicityNote(c))}`
      : ""
  }</p>
${tableHtml(header, rows)}
<h2>Settings</h2>
${c.settings.map(settingSection).join("\n")}
<h2>Runs</h2>
${tableHtml(runTable.header, runTable.rows)}
<script type="application/json" id="slt-data">${embeddedJson({ charts })}</script>
<script>${inlineScript(assets.script)}</script>
<script>${inlineScript(DRAW)}</script>
</body></html>
`;
}
