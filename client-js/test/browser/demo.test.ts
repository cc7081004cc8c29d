// The Host's demo chat (wwwroot/index.html, built on the bundle) between two browser pages on
// different transports. Screenshots go to test-results/.

import { expect, it } from "vitest";
import type { Page } from "playwright-core";
import { hostAndBrowser, screenshot } from "./support.js";

const env = hostAndBrowser();

async function openChat(name: string, transport: string): Promise<Page> {
  const page = await env.browser.context.newPage();
  await page.goto(`${env.host.url}/?room=demo&name=${name}&transport=${transport}`);
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

it("three pages chat across the three transports, and a late joiner sees the history", async () => {
  const second = "long-polling";
  const third = "sse";
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
    const lines = async (page: Page) => (await page.locator("#log p").allTextContents()).map((line) => line.replace(/\s+#\d+$/, ""));
    expect(await lines(ann)).toEqual(["ann: hello from websocket", `bob: hi from ${second}`]);

    // The picker moves ann to long-polling; the room continues where it was, without repeats.
    await ann.selectOption("#transport", "long-polling");
    await ann.waitForSelector('#status[data-state=connected][data-transport="long-polling"]', { timeout: 30_000 });
    await say(cat, "welcome back");
    await waitForLine(ann, "cat: welcome back");
    expect(await lines(ann)).toEqual(["ann: hello from websocket", `bob: hi from ${second}`, "cat: welcome back"]);
    await cat.close();
  } finally {
    await ann.close();
    await bob.close();
  }
});
