// End to end: real runs (2 settings × 2 seeds, moons, a tiny budget) compared by `slt report` as a user
// runs it: the HTML page (checked for network addresses, and opened in headless Chromium when there is
// one), each --format, and the one-line errors.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { reportCommand, writeReport } from "../../src/report/report.ts";
import { runCli, scratchDir } from "../cli/helpers.ts";

const work = scratchDir("slt-report-");
const runs = join(work, "runs");
const dirs: string[] = [];

beforeAll(() => {
  for (const islands of [1, 2])
    for (const seed of [1, 2]) {
      const name = `i${islands}-s${seed}`;
      const args = ["run", "--dataset", "moons", "--islands", String(islands), "--seed", String(seed)];
      args.push("--max-evaluations", "300", "--prune", "none", "--out", runs, "--name", name);
      const r = runCli(work, [...args, "--log-level", "warn"]);
      expect(r.code, r.stderr).toBe(0);
      dirs.push(join(runs, name));
    }
}, 120_000);

const CHROMIUM = "/usr/bin/chromium";

/** Every src= and href= value in the page. */
const links = (html: string) =>
  [...html.matchAll(/\b(?:src|href)\s*=\s*["']?([^"'\s>]+)/gi)].map((m) => m[1]);

function pageData(html: string) {
  return JSON.parse(/id="slt-data">([^<]*)<\/script>/.exec(html)?.[1] ?? "null") as {
    charts: { settings: { label: string }[]; data: (number | null)[][] }[];
  };
}

describe("slt report", () => {
  it("writes one self-contained HTML page comparing the settings", () => {
    const out = join(work, "compare.html");
    const r = runCli(work, ["report", ...dirs, "-o", out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`report: ${out}\n`);
    const html = readFileSync(out, "utf8");
    for (const link of links(html)) expect(link).not.toMatch(/^(https?:)?\/\//i);
    const data = pageData(html);
    expect(data.charts.length).toBe(1);
    expect(data.charts[0].settings.map((s) => s.label)).toEqual(["islands=1", "islands=2"]);
    expect(data.charts[0].data[0].length).toBeGreaterThan(10);
    for (const label of ["islands=1 (baseline)", "islands=2"]) expect(html).toContain(label);
    for (const d of dirs) expect(html).toContain(d);
  });

  it("expands a directory of runs; one directory's page goes inside it, several dirs' into ./report.html", () => {
    const one = runCli(work, ["report", runs]);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toBe(`report: ${join(runs, "report.html")}\n`);
    expect(pageData(readFileSync(join(runs, "report.html"), "utf8")).charts[0].settings.length).toBe(2);
    const several = runCli(work, ["report", dirs[0], dirs[2]]);
    expect(several.code, several.stderr).toBe(0);
    expect(existsSync(join(work, "report.html"))).toBe(true);
    // the function slt sweep calls
    const path = writeReport({ runDirs: [runs], out: join(work, "sweep-report.html") });
    expect(pageData(readFileSync(path, "utf8")).charts[0].settings.length).toBe(2);
  });

  it("--format md, csv and json print the tables with 2 settings of 2 runs", () => {
    const md = runCli(work, ["report", runs, "--format", "md"]);
    expect(md.code, md.stderr).toBe(0);
    expect(md.stdout).toMatch(/^# Comparison: 4 runs in 2 settings/);
    expect(md.stdout).toMatch(/^\| islands=1 \| 2 \| 0 \|/m);
    expect(md.stdout).toMatch(/^\| islands=2 \| 2 \| 0 \|.*\| (better|worse|tie) \|$/m);
    const csv = runCli(work, ["report", runs, "--format", "csv"]).stdout.trimEnd().split("\n");
    expect(csv.length).toBe(3);
    expect(csv.slice(1).map((l) => l.split(",").slice(0, 4).join(","))).toEqual([
      "islands=1,yes,2,0",
      "islands=2,no,2,0",
    ]);
    const json = JSON.parse(runCli(work, ["report", ...dirs, "--format", "json"]).stdout);
    expect(json.format).toBe("slt-report/1");
    expect(json.settings.map((s: { runs: number }) => s.runs)).toEqual([2, 2]);
    expect(json.settings[1].testAccuracyVsBaseline.verdict).toMatch(/^(better|worse|tie)$/);
  });

  it("a directory it cannot read is one error line, exit 1, no stack trace", () => {
    const r = runCli(work, ["report", join(work, "nowhere")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^slt: error E_REPORT: .*nowhere is not a directory/);
    expect(r.stderr.trimEnd().split("\n").length).toBe(1);
    const bad = runCli(work, ["report", runs, "--format", "xml"]);
    expect(bad.code).toBe(2);
  });

  it.skipIf(!existsSync(CHROMIUM))(
    "the page draws its charts in headless Chromium with no request and no error",
    async () => {
      const { chromium } = await import("playwright-core");
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
      try {
        const page = await browser.newPage();
        const errors: string[] = [];
        const requests: string[] = [];
        page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
        page.on("pageerror", (e) => errors.push(String(e)));
        page.on("request", (q) => requests.push(q.url()));
        const file = join(work, "compare.html");
        await page.goto(`file://${file}`);
        // strings, evaluated in the page (this project's TypeScript has no DOM types)
        await page.waitForFunction("window.sltReport !== undefined");
        const drawn = (await page.evaluate(
          "({ charts: sltReport.charts, points: sltReport.points(), canvases: document.querySelectorAll('canvas').length })",
        )) as { charts: number; points: number[]; canvases: number };
        expect(errors).toEqual([]);
        expect(requests).toEqual([`file://${file}`]);
        expect(drawn.charts).toBe(1);
        expect(drawn.canvases).toBe(1);
        expect(drawn.points[0]).toBeGreaterThan(10);
      } finally {
        await browser.close();
      }
    },
  );
  it("--format with -o writes the table into the file; a file in a missing folder is one error line", () => {
    const out = join(work, "table.csv");
    expect(reportCommand([runs], { format: "csv", output: out })).toBe(`report: ${out}\n`);
    expect(readFileSync(out, "utf8").split("\n")[0]).toMatch(/^setting,baseline,runs,/);
    const r = runCli(work, ["report", runs, "-o", join(work, "no-such-folder", "r.html")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^slt: error E_REPORT: cannot write .*r\.html: its directory .*no-such-folder does not exist\n$/,
    );
  });

  it("labels settings with the names of a sweep.jsonl beside the runs", () => {
    const lines = dirs.map((d, k) =>
      JSON.stringify({ setting: k < 2 ? "one population" : "two islands", runDir: d }),
    );
    writeFileSync(join(runs, "sweep.jsonl"), `${lines.join("\n")}\n`);
    const json = JSON.parse(runCli(work, ["report", ...dirs, "--format", "json"]).stdout);
    expect(json.settings.map((s: { label: string }) => s.label)).toEqual(["one population", "two islands"]);
    expect(json.baseline).toBe("one population");
  });
});
