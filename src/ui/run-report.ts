// `slt report RUN_DIR`: one run as one self-contained HTML file. The same view as the live dashboard
// (view.js, fed the run's events.jsonl at load), uPlot and both inlined, the events embedded as JSON, the
// configuration (config.json) and the ticket's metrics (ticket.json) as tables. Its Content-Security-
// Policy allows no request at all, so the file shows the same with no network.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { E_CONFIG, SltError } from "../core/errors.ts";
import { parseEvents, type RunEvent } from "../io/run-dir.ts";
import { chartAssets, inlineScript, viewScript } from "./assets.ts";
import { embeddedJson, escapeHtml, pageHtml } from "./page.ts";

/** No network, scripts and styles only from the file itself. */
/** A self-contained page's policy: it may run and style what it holds, and request nothing at all. */
export const REPORT_CSP =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:";

/** The events of a run directory's events.jsonl (a torn last line of a run still writing is left out). */
export function readRunEvents(runDir: string): RunEvent[] {
  const file = join(runDir, "events.jsonl");
  if (!existsSync(file))
    throw new SltError(
      E_CONFIG,
      `${runDir} is not a run directory: it has no events.jsonl (give runs/<name>)`,
    );
  return parseEvents(readFileSync(file, "utf8"), file);
}

function readJson(file: string): unknown {
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return null;
  }
}

/** Nested objects as dotted keys; arrays and values as compact JSON. */
function flatten(value: unknown, prefix = "", out: [string, string][] = []): [string, string][] {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out.push([prefix, typeof value === "string" ? value : JSON.stringify(value)]);
  return out;
}

function table(rows: readonly [string, string][], cls: string): string {
  const body = rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join("\n");
  return `<table class="${cls}">\n${body}\n</table>`;
}

function ticketSection(ticket: unknown): string {
  if (ticket === null || typeof ticket !== "object")
    return "<h2>Ticket</h2>\n<p>no ticket.json: the run has not finished</p>";
  const t = ticket as Record<string, unknown>;
  const rows = flatten(t.metrics ?? {});
  if (typeof t.pruneMode === "string") rows.push(["pruneMode", t.pruneMode]);
  return `<h2>Ticket (ticket.json)</h2>\n${table(rows, "slt-ticket")}`;
}

/** The HTML file of one run directory. */
export function runReportHtml(runDir: string): string {
  const dir = resolve(runDir);
  const events = readRunEvents(dir);
  const config = readJson(join(dir, "config.json"));
  const assets = chartAssets();
  const name = (config as { name?: unknown } | null)?.name;
  const after = [
    "<details open><summary><h2>Configuration (config.json)</h2></summary>",
    config === null ? "<p>no config.json</p>" : table(flatten(config), "slt-config"),
    "</details>",
  ].join("\n");
  return pageHtml({
    title: `slt report: ${typeof name === "string" ? name : dir}`,
    csp: REPORT_CSP,
    head: [
      `<style>${assets.css}</style>`,
      `<script>${inlineScript(assets.script)}</script>`,
      `<script type="module">${inlineScript(viewScript())}</script>`,
      `<script type="application/json" id="slt-events">${embeddedJson(events)}</script>`,
    ].join("\n"),
    before: `${ticketSection(readJson(join(dir, "ticket.json")))}\n<h2>Run</h2>`,
    after,
    start: `view.add(JSON.parse(document.getElementById("slt-events").textContent));
view.render();`,
  });
}

/** Writes the run's report to `output` (default RUN_DIR/report.html) and returns its path. */
export function writeRunReport(runDir: string, output?: string): string {
  const html = runReportHtml(runDir);
  const path = resolve(output ?? join(runDir, "report.html"));
  try {
    writeFileSync(path, html);
  } catch (e) {
    throw new SltError(E_CONFIG, `cannot write the report to ${path}: ${(e as Error).message}`);
  }
  return path;
}
