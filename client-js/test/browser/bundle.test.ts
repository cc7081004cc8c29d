// The bundle the Host serves, in headless Chromium against a real Host, on each transport.

import { describe, expect, it } from "vitest";
import { ALL } from "../node/support.js";
import { pageState, startPageClient, waitForMessages } from "./page.js";
import { hostAndBrowser, openBundlePage } from "./support.js";

const env = hostAndBrowser();

describe.each(ALL)("forced %s", (transport) => {
  it("connects, subscribes, publishes and receives", async () => {
    const page = await openBundlePage(env.browser, env.host.url);
    try {
      const channel = `chat/browser-${transport}`;
      const started = await startPageClient(page, {
        url: "/pubsub",
        transports: [transport],
        channel,
      });
      expect(started.transport).toBe(transport);

      const results = await page.evaluate(async (ch) => {
        const t = (window as any).t;
        const first = await t.client.publish(ch, { text: "from the page" });
        await t.client.publish(ch, new Uint8Array([1, 2, 3]));
        return { first, session: t.client.session };
      }, channel);
      await env.host.publish(channel, { text: "from the server API" });
      await waitForMessages(page, 3);

      const state = await pageState(page);
      expect(results.first.offset).toBe(1);
      expect(state.received).toEqual([{ text: "from the page" }, [1, 2, 3], { text: "from the server API" }]);
      expect(state.states.at(-1)).toEqual({ state: "connected", transport });
      expect(state.errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
