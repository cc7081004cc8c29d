// Transport selection against real Hosts: what auto mode picks when the server offers less, or
// when a proxy breaks WebSocket, and the move back up to WebSocket once it works again.

import { afterAll, beforeAll, expect, it } from "vitest";
import type { PubSubClient } from "../../src/PubSubClient.js";
import type { PubSubError } from "../../src/PubSubError.js";
import { HostProcess } from "../support/HostProcess.js";
import { TestProxy } from "../support/TestProxy.js";
import { connectSubscribed, eventually, nodeClient, range, received } from "./support.js";

let host: HostProcess;

beforeAll(async () => {
  host = await HostProcess.start();
});
afterAll(async () => {
  await host?.stop();
});

async function withClient<T>(client: PubSubClient, body: (client: PubSubClient) => Promise<T>): Promise<T> {
  try {
    return await body(client);
  } finally {
    client.close();
  }
}

it("picks WebSocket when the server offers everything", async () => {
  await withClient(nodeClient(host.pubsub), async (client) => {
    await client.connect();
    expect(client.transport).toBe("websocket");
  });
});

it.for([
  ["ServerSentEvents,LongPolling", "sse"],
  ["LongPolling", "long-polling"],
])("picks what the server offers (PubSub__Transports=%s → %s), without trying the rest", async ([config, expected]) => {
  const limited = await HostProcess.start({ env: { PubSub__Transports: config! } });
  try {
    await withClient(nodeClient(limited.pubsub), async (client) => {
      const errors: PubSubError[] = [];
      client.on("error", (error) => errors.push(error));
      await client.connect();
      expect(client.transport).toBe(expected);
      // Negotiate said what is offered: nothing else was tried, so nothing failed.
      expect(errors).toEqual([]);
    });
  } finally {
    await limited.stop();
  }
});

it.for(["refuse", "blackhole"] as const)("falls back to SSE when a proxy breaks WebSocket (%s)", async (mode) => {
  const proxy = await TestProxy.start(host.url);
  proxy.webSocket = mode;
  try {
    await withClient(nodeClient(proxy.pubsub, { probeInterval: 0 }), async (client) => {
      const errors: PubSubError[] = [];
      client.on("error", (error) => errors.push(error));
      await client.connect();

      expect(client.transport).toBe("sse");
      expect(errors.map((e) => e.code)).toEqual([mode === "blackhole" ? "timeout" : "transport_failed"]);
      const sub = client.subscribe("chat/behind-proxy");
      const seen = received(sub);
      await sub.ready();
      await client.publish("chat/behind-proxy", "through the proxy");
      await eventually(() => seen.length === 1, "the message");
    });
  } finally {
    await proxy.close();
  }
});

it("moves up to WebSocket once it works, losing and doubling nothing", async () => {
  const proxy = await TestProxy.start(host.url);
  proxy.webSocket = "blackhole";
  try {
    await withClient(nodeClient(proxy.pubsub, { probeInterval: 300 }), async (client) => {
      const channel = "chat/upgrade";
      const { seen } = await connectSubscribed(client, channel);
      expect(client.transport).toBe("sse");

      let published = 0;
      const publishing = (async () => {
        while (client.transport !== "websocket" || published < 40) {
          await host.publish(channel, ++published);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })();
      await eventually(() => published >= 10, "some publications on SSE");
      proxy.webSocket = "pass";
      await publishing;
      await eventually(() => seen.length >= published, `all ${published} publications`);

      expect(client.transport).toBe("websocket");
      expect(seen).toEqual(range(1, published));
    });
  } finally {
    await proxy.close();
  }
});
