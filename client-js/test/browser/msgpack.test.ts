// The MessagePack encoding in Chromium, from the bundle, against a real Host: over WebSocket
// (binary messages on pubsub.msgpack) and over long-polling (application/vnd.msgpack bodies).

import { describe, expect, it } from "vitest";
import { pageState, startPageClient, waitForMessages } from "./page.js";
import { hostAndBrowser, openBundlePage } from "./support.js";

const env = hostAndBrowser();

describe.each(["websocket", "long-polling"])("msgpack over %s", (transport) => {
  it("subscribes, publishes JSON and bytes, and reads history", async () => {
    const page = await openBundlePage(env.browser, env.host.url);
    const requests: { url: string; type: string | undefined }[] = [];
    page.on("request", (request) => requests.push({ url: request.url(), type: request.headers()["content-type"] }));
    try {
      const channel = `chat/browser-msgpack-${transport}`;
      expect(await startPageClient(page, { url: "/pubsub", transports: [transport], channel, encoding: "msgpack" })).toEqual({ transport });

      await page.evaluate(async (name) => {
        const client = (window as any).t.client;
        await client.publish(name, { text: "été", n: 1 });
        await client.publish(name, new Uint8Array([0, 1, 255]));
      }, channel);
      await env.host.publish(channel, { from: "api" });
      await waitForMessages(page, 3);
      const history = await page.evaluate(async (name) => {
        const page = await (window as any).t.client.history(name);
        return page.publications.map((p: any) => (p.data instanceof Uint8Array ? Array.from(p.data) : p.data));
      }, channel);

      const state = await pageState(page);
      expect(state.received).toEqual([{ text: "été", n: 1 }, [0, 1, 255], { from: "api" }]);
      expect(history).toEqual(state.received);
      expect(state.errors).toEqual([]);
      if (transport === "long-polling") {
        expect(requests.some((r) => r.url.includes("/pubsub/poll?encoding=msgpack"))).toBe(true);
        expect(requests.some((r) => r.url.includes("/pubsub/send") && r.type === "application/vnd.msgpack")).toBe(true);
      } else {
        expect(await page.evaluate(() => (window as any).t.client.supervisor.current().transport.socket.protocol)).toBe("pubsub.msgpack");
      }
    } finally {
      await page.close();
    }
  });
});
