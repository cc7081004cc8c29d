// Forced reconnects in the browser: the network drops (a proxy cuts every connection) and the
// node restarts; the page sees every publication once and in order, or is told what it missed.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostProcess } from "../support/HostProcess.js";
import { RedisProcess } from "../support/RedisProcess.js";
import { TestProxy } from "../support/TestProxy.js";
import { ALL, range } from "../node/support.js";
import { pageState, startPageClient, waitForMessages } from "./page.js";
import { launchBrowser, openBundlePage } from "./support.js";
import type { Browser } from "./support.js";

let host: HostProcess;
let proxy: TestProxy;
let browser: Browser;

beforeAll(async () => {
  [host, browser] = await Promise.all([HostProcess.start(), launchBrowser()]);
  proxy = await TestProxy.start(host.url);
});
afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await host?.stop();
});

describe.each(ALL)("forced %s", (transport) => {
  it("recovers every publication across network drops, once each and in order", async () => {
    const page = await openBundlePage(browser, proxy.url);
    try {
      const channel = `chat/browser-drops-${transport}`;
      await startPageClient(page, { url: "/pubsub", transports: [transport], channel });

      for (const n of range(1, 45)) {
        await host.publish(channel, n);
        if (n === 15 || n === 30) {
          proxy.dropAll();
        }
      }
      await waitForMessages(page, 45);
      await host.publish(channel, 46);
      await waitForMessages(page, 46);

      const state = await pageState(page);
      expect(state.received).toEqual(range(1, 46));
      expect(state.missed).toBe(0);
      expect(state.states.at(-1)).toEqual({ state: "connected", transport });
    } finally {
      await page.close();
    }
  });
});

it("reconnects after the node restarts; the in-memory node lost its history, which the page is told", async () => {
  const node = await HostProcess.start();
  let restarted: HostProcess | null = null;
  const page = await openBundlePage(browser, node.url);
  try {
    const channel = "chat/browser-restart";
    await startPageClient(page, { url: "/pubsub", channel });
    await node.publish(channel, "before");
    await waitForMessages(page, 1);

    restarted = await node.restart();
    await page.waitForFunction(() => (window as any).t.missed === 1, null, { timeout: 30_000 });
    await restarted.publish(channel, "after");
    await waitForMessages(page, 2);

    const state = await pageState(page);
    expect(state.received).toEqual(["before", "after"]);
    expect(state.states.map((s) => s.state)).toContain("reconnecting");
    expect(state.states.at(-1)!.state).toBe("connected");
  } finally {
    await page.close();
    await restarted?.stop();
    await node.stop();
  }
});

it("recovers every publication across a restart of its node when the nodes share history in Redis", async () => {
  const redis = await RedisProcess.start();
  const env = { PubSub__Redis__Configuration: redis.configuration };
  let [node, publisher] = await Promise.all([HostProcess.start({ env }), HostProcess.start({ env })]);
  const page = await openBundlePage(browser, node.url);
  try {
    const channel = "chat/browser-redis-restart";
    await startPageClient(page, { url: "/pubsub", channel });
    for (const n of range(1, 15)) await publisher.publish(channel, n);
    await waitForMessages(page, 15);

    const restart = node.restart();
    for (const n of range(16, 30)) {
      await publisher.publish(channel, n);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    node = await restart;
    for (const n of range(31, 45)) await publisher.publish(channel, n);
    await waitForMessages(page, 45);

    const state = await pageState(page);
    expect(state.received).toEqual(range(1, 45));
    expect(state.missed).toBe(0);
    expect(state.states.map((s) => s.state)).toContain("reconnecting");
  } finally {
    await page.close();
    await Promise.all([node.stop(), publisher.stop()]);
    await redis.stop();
  }
});
