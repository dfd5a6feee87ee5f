// The HTML shell both pages share (the live dashboard and `slt report`'s file): the view's stylesheet,
// a root element the view draws into, and the bootstrap that creates the view as window.sltView. The
// dashboard links its scripts from its server; a report inlines them (inlineScript), so it needs nothing.

/** Text as HTML element content or attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
  );
}

const VIEW_CSS = `
body { font: 14px system-ui, sans-serif; margin: 1em 2em; color: #222; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.5em; } h3 { font-size: 1em; margin: 0.3em 0; }
.slt-charts { display: flex; flex-wrap: wrap; gap: 8px; }
.slt-chart { border: 1px solid #ddd; padding: 4px; }
table { border-collapse: collapse; margin: 0.5em 0; }
td, th { border: 1px solid #ddd; padding: 2px 8px; text-align: left; }
tr[data-state="lost"] td { color: #b00; } tr[data-state="restarted"] td { color: #b60; }
tr[data-state="at cap"] td, tr[data-state="done"] td { color: #555; }
.edge { stroke: #888; stroke-width: 1.5; } .edge-label { font-size: 10px; fill: #444; text-anchor: middle; }
.node { fill: #1f77b4; stroke: #fff; stroke-width: 2; } .node-label { fill: #fff; font-size: 12px; text-anchor: middle; }
.node.state-lost { fill: #b00; } .node.state-restarted { fill: #e90; } .node.state-at-cap, .node.state-done { fill: #777; }
summary h2 { display: inline; }
pre { background: #f6f6f6; padding: 0.5em; overflow: auto; max-height: 30em; }
`;

export interface PageParts {
  readonly title: string;
  /** elements for <head> after our stylesheet: uPlot's stylesheet, its script and the view's */
  readonly head: string;
  /** HTML before the view (a report's ticket) and after it (its configuration) */
  readonly before?: string;
  readonly after?: string;
  /** module script run once the view exists as `view` */
  readonly start: string;
  /** the Content-Security-Policy of a file opened from disk (the dashboard's server sends its own) */
  readonly csp?: string;
}

export function pageHtml(p: PageParts): string {
  const csp = p.csp ? `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(p.csp)}">\n` : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<link rel="icon" href="data:,">
${csp}<title>${escapeHtml(p.title)}</title>
<style>${VIEW_CSS}</style>
${p.head}
</head>
<body>
<h1>${escapeHtml(p.title)}</h1>
${p.before ?? ""}
<div id="slt-view"></div>
${p.after ?? ""}
<script type="module">
const view = window.SltView.create(document.getElementById("slt-view"));
window.sltView = view;
${p.start}
</script>
</body>
</html>
`;
}
