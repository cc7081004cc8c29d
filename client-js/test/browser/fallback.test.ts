// Auto mode in the browser: WebSocket when the server offers it, SSE when WebSocket is disabled on
// the server, long-polling when SSE is disabled too, and SSE behind a proxy that breaks WebSocket.

import { expect, it } from "vitest";
import { HostProcess } from "../support/HostProcess.js";
import { TestProxy } from "../support/TestProxy.js";
import { pageState, startPageClient, waitForMessages } from "./page.js";
import { hostAndBrowser, openBundlePage } from "./support.js";

const env = hostAndBrowser();

/** Connects an auto-mode page client to `origin` and checks it works end to end; returns the transport it picked. */
async function autoTransport(origin: string, server: HostProcess): Promise<string> {
  const page = await openBundlePage(env.browser, origin);
  try {
    const channel = "chat/auto";
    const { transport } = await startPageClient(page, { url: "/pubsub", channel, probeInterval: 0 });
    await server.publish(channel, "delivered");
    await waitForMessages(page, 1);
    expect((await pageState(page)).received).toEqual(["delivered"]);
    return transport;
  } finally {
    await page.close();
  }
}

it("picks WebSocket when the server offers it", async () => {
  expect(await autoTransport(env.host.url, env.host)).toBe("websocket");
});

it.for([
  ["ServerSentEvents,LongPolling", "sse"],
  ["LongPolling", "long-polling"],
])("falls back when the server is configured with PubSub__Transports=%s (→ %s)", async ([config, expected]) => {
  const limited = await HostProcess.start({ env: { PubSub__Transports: config! } });
  try {
    expect(await autoTransport(limited.url, limited)).toBe(expected);
  } finally {
    await limited.stop();
  }
});

it("falls back to SSE when a proxy accepts the WebSocket upgrade and then passes nothing", async () => {
  const proxy = await TestProxy.start(env.host.url);
  proxy.webSocket = "blackhole";
  try {
    expect(await autoTransport(proxy.url, env.host)).toBe("sse");
  } finally {
    await proxy.close();
  }
});
