// Headless Chromium (Debian's, never a downloaded one) driven by playwright-core, and a test page
// that loads the bundle the Host serves.

import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { HostProcess } from "../support/HostProcess.js";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Where screenshots go (gitignored). */
export const RESULTS = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "test-results");

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * A Host and Chromium for the test file that calls this: started before its tests, stopped after.
 * Read `host` and `browser` inside the tests, not at the top level.
 */
export function hostAndBrowser(): { readonly host: HostProcess; readonly browser: Browser } {
  const env = {} as { host: HostProcess; browser: Browser };
  beforeAll(async () => {
    [env.host, env.browser] = await Promise.all([HostProcess.start(), launchBrowser()]);
  });
  afterAll(async () => {
    await env.browser?.close();
    await env.host?.stop();
  });
  return env;
}

/** Starts Chromium with a fresh profile; its background services stay off (this machine's network is closed). */
export async function launchBrowser(): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), "pubsub-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      // The test pages are fulfilled by Playwright, so they come from no address; Chromium's Local
      // Network Access checks would take them for public pages reaching into 127.0.0.1.
      "--disable-features=LocalNetworkAccessChecks",
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Opens a blank page on `origin` (the Host's, or a proxy's) that loads the bundle the Host serves
 * at /pubsub-client.js. The page itself is made up by the test, so no test page ships in the Host.
 */
export async function openBundlePage(browser: Browser, origin: string): Promise<Page> {
  const page = await browser.context.newPage();
  await page.route(`${origin}/client-test.html`, (route) =>
    route.fulfill({ contentType: "text/html", body: '<!doctype html><title>client-js test</title><script src="/pubsub-client.js"></script>' }));
  await page.goto(`${origin}/client-test.html`);
  await page.waitForFunction(() => typeof (window as unknown as { PubSub?: unknown }).PubSub === "object");
  return page;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(RESULTS, { recursive: true });
  const path = join(RESULTS, name);
  await page.screenshot({ path, fullPage: true });
  return path;
}
