// Presence and join/leave in headless Chromium, from the bundle the Host serves: two pages on
// different transports in one room (chat/{room} keeps presence and announces joins and leaves).

import { expect, it } from "vitest";
import type { Page } from "playwright-core";
import { startPageClient } from "./page.js";
import { hostAndBrowser, openBundlePage } from "./support.js";

const env = hostAndBrowser();

/** A page whose client (named by the Host's demo names) is subscribed to `channel`; its joins and leaves go to `t.heard`. */
async function member(name: string, transport: string, channel: string): Promise<Page> {
  const page = await openBundlePage(env.browser, env.host.url);
  await startPageClient(page, { url: `/pubsub?name=${name}`, transports: [transport], channel, probeInterval: 0 });
  await page.evaluate(() => {
    const t = (window as any).t;
    t.heard = [];
    t.sub.on("join", (e: any) => t.heard.push(`join ${e.info?.name} ${e.session === undefined ? "" : "with session"}`));
    t.sub.on("leave", (e: any) => t.heard.push(`leave ${e.info?.name}`));
  });
  return page;
}

async function heard(page: Page, count: number): Promise<string[]> {
  await page.waitForFunction((n) => (window as any).t.heard.length >= n, count, { timeout: 30_000, polling: 20 });
  return page.evaluate(() => (window as any).t.heard);
}

it("lists the room's members, counts them, and hears another page join and leave", async () => {
  const channel = "chat/browser-presence";
  const ann = await member("ann", "websocket", channel);
  const bob = await member("bob", "sse", channel);
  try {
    expect(await heard(ann, 1)).toEqual(["join bob with session"]);

    const presence = await ann.evaluate(async (c) => {
      const t = (window as any).t;
      const page = await t.client.presence(c);
      return { names: page.members.map((m: any) => m.info.name).sort(), truncated: page.truncated, stats: await t.client.presenceStats(c) };
    }, channel);
    expect(presence).toEqual({ names: ["ann", "bob"], truncated: false, stats: { clients: 2, users: 0 } });

    await bob.evaluate(() => (window as any).t.sub.unsubscribe());
    expect(await heard(ann, 2)).toEqual(["join bob with session", "leave bob"]);
    // Bob came after ann: he learnt of her from presence, not from a join.
    expect(await bob.evaluate(() => (window as any).t.heard)).toEqual([]);
  } finally {
    await ann.close();
    await bob.close();
  }
});
