// The live dashboard in a real browser: a real `slt run --islands 3 --dashboard 127.0.0.1:0`, its page
// opened in headless Chromium; the page loads with no console error, no failed request and no request
// to anything but the run's server; its charts gain points as generations pass; an island whose
// process is killed shows as lost (no restarts allowed).
import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { CLI, runEvents, scratchDir } from "../cli/helpers.ts";
import { noBrowser, openBrowser, type WatchedPage } from "./browser.ts";

const work = scratchDir("slt-dash-");
const NAME = "dash";

/** Resolves with the dashboard's address once the run prints it on stderr. */
function startRun(): { child: ChildProcess; url: Promise<string>; stderr: () => string } {
  const child = spawn(
    process.execPath,
    [
      CLI,
      "run",
      "--islands",
      "3",
      "--dataset",
      "moons",
      "--generations",
      "100000",
      "--time-limit",
      "300",
      "--max-restarts",
      "0",
      "--dashboard",
      "127.0.0.1:0",
      "--out",
      work,
      "--name",
      NAME,
      "--quiet",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  const url = new Promise<string>((done, fail) => {
    child.stderr?.on("data", (d) => {
      stderr += d;
      const m = /^dashboard: (http:\/\/\S+)$/m.exec(stderr);
      if (m) done(m[1]);
    });
    child.on("close", (code) => fail(new Error(`slt run ended (${code}) before its dashboard: ${stderr}`)));
  });
  return { child, url, stderr: () => stderr };
}

describe.skipIf(noBrowser !== null)("the live dashboard in headless Chromium", () => {
  let run: ReturnType<typeof startRun> | null = null;
  let browser: WatchedPage | null = null;
  afterAll(async () => {
    await browser?.browser.close();
    if (run && run.child.exitCode === null) {
      const closed = new Promise((done) => run?.child.on("close", done));
      run.child.kill("SIGINT");
      await closed;
    }
  });

  it("loads cleanly, gains points as generations pass, and shows a killed island as lost", async () => {
    run = startRun();
    const url = await run.url;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    browser = await openBrowser();
    const { page } = browser;
    await page.goto(url);
    await page.waitForFunction(() => (globalThis as never as SltWindow).sltView?.pointCount() > 0, null, {
      timeout: 60_000,
    });
    const before = await page.evaluate(() => (globalThis as never as SltWindow).sltView.pointCount());
    await page.waitForFunction((n) => (globalThis as never as SltWindow).sltView.pointCount() > n, before, {
      timeout: 60_000,
    });
    // the topology graph and the status rows of the three islands are drawn
    expect(await page.locator(".slt-topology svg circle").count()).toBe(3);
    expect(await page.locator("tr[data-island]").count()).toBe(3);

    const assigned = runEvents(work, NAME).find((e) => e.type === "assigned" && e.island === 1);
    expect(assigned?.pid).toBeTypeOf("number");
    process.kill(assigned?.pid as number, "SIGKILL");
    await page.waitForSelector('tr[data-island="1"][data-state="lost"]', { timeout: 60_000 });
    expect(await page.evaluate(() => (globalThis as never as SltWindow).sltView.islandState(1))).toBe("lost");

    const origin = new URL(url).origin;
    expect(browser.errors).toEqual([]);
    expect(browser.failed).toEqual([]);
    expect(browser.requests.filter((r) => !r.startsWith(`${origin}/`))).toEqual([]);
  });
});

interface SltWindow {
  sltView: { pointCount(): number; islandState(id: number): string | null };
}
