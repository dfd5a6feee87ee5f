// Headless Chromium for the pages' tests (Debian's `chromium` driven by playwright-core): its path, and a
// page that records console errors, failed requests and every address it asked for.
import { existsSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
/** Why the browser tests cannot run here (they report themselves skipped, never passed), or null. */
export const noBrowser: string | null = existsSync(CHROMIUM) ? null : `${CHROMIUM} is not installed`;

export interface WatchedPage {
  readonly browser: Browser;
  readonly page: Page;
  readonly errors: string[];
  readonly failed: string[];
  readonly requests: string[];
}

export async function openBrowser(): Promise<WatchedPage> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  const page = await browser.newPage();
  const watched = { browser, page, errors: [] as string[], failed: [] as string[], requests: [] as string[] };
  page.on("console", (m) => {
    if (m.type() === "error") watched.errors.push(m.text());
  });
  page.on("pageerror", (e) => watched.errors.push(String(e)));
  page.on("requestfailed", (r) => watched.failed.push(`${r.url()}: ${r.failure()?.errorText}`));
  page.on("request", (r) => watched.requests.push(r.url()));
  return watched;
}
