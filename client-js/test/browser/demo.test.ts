// The Host's demo chat (wwwroot/index.html, built on the bundle) between browser pages on
// different transports: messages, history, and who is in the room (presence, joins and leaves).
// Screenshots go to test-results/.

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

/** Waits until the page's "here now" list shows exactly these entries, in its order (by name). */
async function waitForMembers(page: Page, expected: string[]): Promise<void> {
  await page.waitForFunction((names) => {
    const shown = Array.from(document.querySelectorAll("#members li"), (li) => li.textContent);
    return JSON.stringify(shown) === JSON.stringify(names);
  }, expected, { timeout: 30_000 });
}

it("three pages chat across the three transports, and a late joiner sees the history", async () => {
  const second = "long-polling";
  const third = "sse";
  const ann = await openChat("ann", "websocket");
  const bob = await openChat("bob", second);
  try {
    expect(await ann.textContent("#status")).toBe("live · websocket");
    expect(await bob.textContent("#status")).toBe(`live · ${second}`);
    // Bob read who was there (ann) when he came; ann heard him join.
    await waitForMembers(bob, ["ann", "bob (you)"]);
    await waitForMembers(ann, ["ann (you)", "bob"]);
    await waitForLine(ann, "bob joined");

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
    await waitForMembers(ann, ["ann (you)", "bob", "cat"]);
    expect(await ann.textContent("#count")).toBe("3");
    // The chat's lines, without the announcements of who came and went.
    const lines = async (page: Page) => (await page.locator("#log p:not(.system)").allTextContents()).map((line) => line.replace(/\s+#\d+$/, ""));
    expect(await lines(ann)).toEqual(["ann: hello from websocket", `bob: hi from ${second}`]);

    // The picker moves ann to long-polling; the room continues where it was, without repeats.
    await ann.selectOption("#transport", "long-polling");
    await ann.waitForSelector('#status[data-state=connected][data-transport="long-polling"]', { timeout: 30_000 });
    await say(cat, "welcome back");
    await waitForLine(ann, "cat: welcome back");
    expect(await lines(ann)).toEqual(["ann: hello from websocket", `bob: hi from ${second}`, "cat: welcome back"]);
    await cat.close();
    // A closed page's session ends (the client sends `close`, or its session expires): the others hear it leave.
    await waitForLine(bob, "cat left");
    await waitForMembers(bob, ["ann", "bob (you)"]);
  } finally {
    await ann.close();
    await bob.close();
  }
});
