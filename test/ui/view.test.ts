// The view (src/ui/view.js) in headless Chromium, fed made-up events through a report page: island
// states (at cap, lost, restarted, done), per-edge migrant labels, and reports that a forger would write
// (wrong types, huge edge lists, ids out of range) taken without an error or growth.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeRunReport } from "../../src/ui/run-report.ts";
import { scratchDir } from "../cli/helpers.ts";
import { noBrowser, openBrowser, type WatchedPage } from "./browser.ts";

const work = scratchDir("slt-view-");

const ring = [
  { from: 0, to: 1, weight: 2 },
  { from: 1, to: 2, weight: 2 },
  { from: 2, to: 0, weight: 2 },
];

function report(island: number, t: number, sent: number): Record<string, unknown> {
  return {
    type: "report",
    island,
    t,
    generation: t * 5,
    evaluations: t * 500,
    evaluationsPerSecond: 100,
    bestFitness: 0.5 + t / 100,
    bestAccuracy: 0.5 + t / 100,
    sparsity: 0.5,
    diversity: 10,
    verdict: null,
    host: { cpuPercent: 50, memoryUsedBytes: 1e9, memoryTotalBytes: 4e9, rssBytes: 2 ** 28 },
    edges: {
      out: [{ island: (island + 1) % 3, sent }],
      in: [{ island: (island + 2) % 3, accepted: 3, rejected: 1 }],
    },
  };
}

const forged = [
  { type: "report", island: 0, t: "x", bestFitness: "high", host: null, edges: { out: "no", in: [null, 7] } },
  {
    type: "report",
    island: 1,
    t: 9,
    edges: { out: Array.from({ length: 50_000 }, (_, k) => ({ island: k, sent: 1 })), in: {} },
  },
  { type: "report", island: 1e9, t: 9, bestFitness: 1 },
  { type: "report", island: "0", t: 9, bestFitness: 1 },
  { type: "__proto__", island: 0 },
];

function runDir(name: string, events: Record<string, unknown>[]): string {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, "events.jsonl"), events.map((e) => `${JSON.stringify(e)}\n`).join(""));
  return dir;
}

describe.skipIf(noBrowser !== null)("the view, fed made-up events", () => {
  let browser: WatchedPage;
  beforeAll(async () => {
    browser = await openBrowser();
  });
  afterAll(async () => {
    await browser?.browser.close();
  });

  const state = (id: number) => browser.page.locator(`tr[data-island="${id}"]`).getAttribute("data-state");

  it("shows each island's state, the migrants per edge, and shrugs off forged reports", async () => {
    const events = [
      { type: "start", name: "made-up", seed: 1, islands: 3, topology: "ring", mode: "async", t: 0 },
      { type: "topology", spec: "ring", n: 3, edges: ring, removed: [], t: 0.1 },
      ...[0, 1, 2].map((island) => ({
        type: "assigned",
        island,
        index: island,
        host: "h",
        pid: 100 + island,
      })),
      ...[1, 2, 3].flatMap((t) => [0, 1, 2].map((island) => report(island, t, 4 * t))),
      ...forged,
      { type: "ticket", island: 0, generation: 15, afterStop: false, t: 4 },
      { type: "lost", island: 1, reason: "process exited", t: 5 },
      { type: "island-restarted", island: 2, attempt: 1, fromGeneration: 10, pid: 200, t: 6 },
    ];
    const dir = runDir("states", events);
    await browser.page.goto(pathToFileURL(writeRunReport(dir)).href);
    await browser.page.waitForFunction(() => (globalThis as never as SltWindow).sltView?.pointCount() > 0);
    expect(await browser.page.evaluate(() => (globalThis as never as SltWindow).sltView.pointCount())).toBe(
      9,
    );
    expect([await state(0), await state(1), await state(2)]).toEqual(["at cap", "lost", "restarted"]);
    expect(await browser.page.locator("tr[data-island]").count()).toBe(3);
    // a label's own text (its tooltip, a <title> child, spells the same counts out)
    const labels = await browser.page.evaluate(() =>
      [...(globalThis as never as LabelDocument).document.querySelectorAll(".edge-label")].map(
        (n) => n.firstChild?.textContent,
      ),
    );
    expect(labels).toEqual(["12/3/1", "12/3/1", "12/3/1"]);
    expect(await browser.page.locator(".slt-topology .node.state-lost").count()).toBe(1);
    expect(browser.errors).toEqual([]);
  });

  it("at the run's end every island not lost is done", async () => {
    const events = [
      { type: "topology", spec: "ring", n: 3, edges: ring, removed: [] },
      ...[0, 1, 2].map((island) => report(island, 1, 2)),
      { type: "lost", island: 1, reason: "x" },
      { type: "end", stopReason: "max-generations", evaluations: 1500 },
    ];
    await browser.page.goto(pathToFileURL(writeRunReport(runDir("end", events))).href);
    await browser.page.waitForFunction(() => (globalThis as never as SltWindow).sltView?.pointCount() > 0);
    expect([await state(0), await state(1), await state(2)]).toEqual(["done", "lost", "done"]);
    expect(await browser.page.locator(".slt-header").textContent()).toMatch(/ended: max-generations/);
    expect(browser.errors).toEqual([]);
  });
});

interface LabelDocument {
  document: { querySelectorAll(s: string): Iterable<{ firstChild: { textContent: string | null } | null }> };
}

interface SltWindow {
  sltView: { pointCount(): number };
}
