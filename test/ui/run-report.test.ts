// `slt report RUN_DIR`: from real small runs (islands and one population), one HTML file that opens in
// headless Chromium with every request blocked and recorded: none is made, no console error, the charts
// have points, the topology and the ticket are there; a hostile string in an event stays text.
import { appendFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { embeddedJson, runReportHtml } from "../../src/ui/run-report.ts";
import { runCli, scratchDir } from "../cli/helpers.ts";
import { noBrowser, openBrowser, type WatchedPage } from "./browser.ts";

const work = scratchDir("slt-report-");

function smallRun(name: string, islands: number): string {
  const args = ["run", "--islands", String(islands), "--dataset", "moons", "--generations", "20"];
  const r = runCli(work, [...args, "--out", work, "--name", name, "--quiet", "--prune", "none"]);
  expect(r.code, r.stderr).toBe(0);
  return join(work, name);
}

describe("embeddedJson", () => {
  it("leaves nothing that can end a script element or a JavaScript string", () => {
    const text = embeddedJson([{ s: "</script><!-- & \u2028" }]);
    expect(text).not.toMatch(/[<>&\u2028]/);
    expect(JSON.parse(text)).toEqual([{ s: "</script><!-- & \u2028" }]);
  });
});

describe("runReportHtml", () => {
  it("refuses a folder that is not a run directory in one line", () => {
    expect(() => runReportHtml(work)).toThrow(/is not a run directory: it has no events\.jsonl/);
  });
});

describe.skipIf(noBrowser !== null)("slt report in headless Chromium with no network", () => {
  let browser: WatchedPage;
  let blocked: string[];
  beforeAll(async () => {
    browser = await openBrowser();
    blocked = [];
    // every request but the report file itself is recorded and refused
    await browser.page.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith("file:") && url.endsWith(".html")) return route.continue();
      blocked.push(url);
      return route.abort();
    });
  });
  afterAll(async () => {
    await browser?.browser.close();
  });

  async function open(file: string): Promise<number> {
    await browser.page.goto(pathToFileURL(file).href);
    await browser.page.waitForFunction(() => (globalThis as never as SltWindow).sltView?.pointCount() > 0);
    return browser.page.evaluate(() => (globalThis as never as SltWindow).sltView.pointCount());
  }

  it("an island run: charts with points, the topology, the ticket and the configuration", async () => {
    const dir = smallRun("islands", 2);
    appendFileSync(
      join(dir, "events.jsonl"),
      `${JSON.stringify({ type: "note", text: "</script><script>globalThis.pwned = 1</script>" })}\n`,
    );
    const r = runCli(work, ["report", dir, "-o", join(work, "islands.html")]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(join(work, "islands.html"));
    expect(readFileSync(join(work, "islands.html"), "utf8")).not.toMatch(
      /<script[^>]+src=|<link[^>]+href="(?!data:)/,
    );
    const points = await open(join(work, "islands.html"));
    expect(points).toBeGreaterThan(10);
    const page = browser.page;
    expect(await page.locator(".slt-topology svg circle").count()).toBe(2);
    expect(await page.locator('tr[data-island][data-state="done"]').count()).toBe(2);
    expect(await page.locator(".slt-ticket").textContent()).toMatch(/testAccuracy/);
    expect(await page.locator(".slt-config").textContent()).toMatch(/cluster\.topology/);
    expect(await page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined();
    expect(blocked).toEqual([]);
    expect(browser.errors).toEqual([]);
  });

  it("one population, written to RUN_DIR/report.html by default", async () => {
    const dir = smallRun("single", 1);
    const r = runCli(work, ["report", dir]);
    expect(r.code, r.stderr).toBe(0);
    const points = await open(join(dir, "report.html"));
    expect(points).toBe(21); // generations 0..20
    expect(await browser.page.locator(".slt-topology svg").count()).toBe(0);
    expect(blocked).toEqual([]);
    expect(browser.errors).toEqual([]);
  });
});

interface SltWindow {
  sltView: { pointCount(): number };
}
