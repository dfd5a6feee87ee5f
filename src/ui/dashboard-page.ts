// The live dashboard's files: the page, uPlot's script and stylesheet, and the view, all from this
// machine (assets.ts), and the page's stream of events from /events (io/dashboard-server.ts).
import type { StaticFile } from "../io/dashboard-server.ts";
import { chartAssets, viewScript } from "./assets.ts";
import { escapeHtml, pageHtml } from "./page.ts";

const JS = "text/javascript; charset=utf-8";

/** The files by path; with a token, every link carries it (the server refuses requests without). */
export function dashboardFiles(token: string | null): Record<string, StaticFile> {
  const q = token === null ? "" : `?token=${encodeURIComponent(token)}`;
  const assets = chartAssets();
  const page = pageHtml({
    title: "slt run: live",
    head: [
      `<link rel="stylesheet" href="uplot.css${escapeHtml(q)}">`,
      `<script src="uplot.js${escapeHtml(q)}"></script>`,
      `<script type="module" src="view.js${escapeHtml(q)}"></script>`,
    ].join("\n"),
    // a reconnect sends Last-Event-ID and gets only what it missed; "end" is the run's end
    start: `const source = new EventSource("events" + location.search);
source.onmessage = (m) => view.add(JSON.parse(m.data));
source.addEventListener("end", () => { source.close(); view.render(); });`,
  });
  return {
    "/": { type: "text/html; charset=utf-8", body: page },
    "/uplot.js": { type: JS, body: assets.script },
    "/uplot.css": { type: "text/css; charset=utf-8", body: assets.css },
    "/view.js": { type: JS, body: viewScript() },
  };
}
