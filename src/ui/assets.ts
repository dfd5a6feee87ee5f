// The browser assets every page of ours uses (the live dashboard and `slt report`'s HTML): the chart
// library uPlot, read from the installed npm package, never a CDN, so a page works with no internet.
// The dashboard serves these strings; a report inlines them, so its one HTML file needs nothing else.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);

export interface ChartAssets {
  /** uPlot's browser build (an IIFE defining the global `uPlot`), minified */
  readonly script: string;
  /** uPlot's stylesheet */
  readonly css: string;
}

let cached: ChartAssets | undefined;

/** uPlot's script and stylesheet, read once from node_modules/uplot/dist. */
export function chartAssets(): ChartAssets {
  if (cached) return cached;
  const dist = join(dirname(require.resolve("uplot/package.json")), "dist");
  cached = {
    script: readFileSync(join(dist, "uPlot.iife.min.js"), "utf8"),
    css: readFileSync(join(dist, "uPlot.min.css"), "utf8"),
  };
  return cached;
}

/** Text placed inside an inline <script>: a `</script` in it would end the element early. */
export function inlineScript(text: string): string {
  return text.replace(/<\/(script)/gi, "<\\/$1");
}

let view: string | undefined;

/** The view (src/ui/view.js): the one script both the dashboard and a report draw a run with. */
export function viewScript(): string {
  view ??= readFileSync(new URL("./view.js", import.meta.url), "utf8");
  return view;
}
