// The Host's demo chat (wwwroot/index.html, built on the bundle) between two browser pages on
// different transports. Screenshots go to test-results/.

import { afterAll, beforeAll, expect, it } from "vitest";
import type { Page } from "playwright-core";
import type { TransportName } from "../../src/types.js";
import { HostProcess } from "../support/HostProcess.js";
import { negotiates, offeredBy } from "../node/support.js";
import { launchBrowser, screenshot } from "./support.js";
import type { Browser } from "./support.js";

let host: HostProcess;
let browser: Browser;
let offered: TransportName[];
let negotiate: boolean;

beforeAll(async () => {
  [host, browser] = await Promise.all([HostProcess.start(), launchBrowser()]);
  offered = await offeredBy(host.pubsub);
  negotiate = await negotiates(host.pubsub);
});
afterAll(async () => {
  await browser?.close();
  await host?.stop();
});

async function openChat(name: string, transport: string): Promise<Page> {
  const page = await browser.context.newPage();
  if (!negotiate) {
    // Only with DEMO_FAKE_NEGOTIATE=1, to try the page before the Host has negotiate (section 3.1).
    await page.route(`${host.url}/pubsub/negotiate`, (route) => route.fulfill({
      contentType: "application/json",
      body: JSON.stringify({ version: 1, node: "n", transports: ["websocket"], encodings: ["json"], ping: 25, pollTimeout: 25, maxMessageSize: 65536 }),
    }));
  }
  await page.goto(`${host.url}/?room=demo&name=${name}&transport=${transport}`);
  await page.waitForSelector(`#status[data-state=connected][data-transport="${transport}"]`, { timeout: 30_000 });
  return page;
}

async function say(page: Page, text: string): Promise<void> {
  await page.fill("input[name=text]", text);
  await page.press("input[name=text]", "Enter");
}

async function waitForLine(page: Page, text: string): Promise<void> {
  await page.waitForFunction((t) => document.getElementById("log")!.textContent!.includes(t), text, { timeout: 30_000 });
}

it("two pages chat across different transports, and a late joiner sees the history", async (context) => {
  context.skip(!negotiate && process.env.DEMO_FAKE_NEGOTIATE !== "1", "the Host has no negotiate endpoint yet, which the demo page uses");
  const second = offered.includes("long-polling") ? "long-polling" : "websocket";
  const third = offered.includes("sse") ? "sse" : "websocket";
  const ann = await openChat("ann", "websocket");
  const bob = await openChat("bob", second);
  try {
    expect(await ann.textContent("#status")).toBe("live · websocket");
    expect(await bob.textContent("#status")).toBe(`live · ${second}`);

    await say(ann, "hello from websocket");
    await waitForLine(bob, "ann: hello from websocket");
    await say(bob, `hi from ${second}`);
    await waitForLine(ann, `bob: hi from ${second}`);

    const cat = await openChat("cat", third);
    await waitForLine(cat, "ann: hello from websocket");
    await waitForLine(cat, `bob: hi from ${second}`);

    await screenshot(ann, "demo-chat-ann-websocket.png");
    await screenshot(bob, `demo-chat-bob-${second}.png`);
    await screenshot(cat, `demo-chat-cat-${third}.png`);
    const annLines = await ann.locator("#log p").allTextContents();
    expect(annLines.map((line) => line.replace(/\s+#\d+$/, ""))).toEqual(["ann: hello from websocket", `bob: hi from ${second}`]);
    await cat.close();
  } finally {
    await ann.close();
    await bob.close();
  }
});
