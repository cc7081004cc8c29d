// Helpers of the Node suite: clients with Node's WebSocket and EventSource, and waiting with a deadline.

import { EventSource } from "eventsource";
import { WebSocket } from "ws";
import { PubSubClient } from "../../src/PubSubClient.js";
import type { Subscription } from "../../src/Subscription.js";
import type { EventSourceConstructor, PubSubClientOptions, TransportName, WebSocketConstructor } from "../../src/types.js";

/** A client for Node: the `ws` and `eventsource` packages stand in for the browser's WebSocket and EventSource. */
export function nodeClient(url: string, options: PubSubClientOptions = {}): PubSubClient {
  return new PubSubClient(url, {
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    EventSource: EventSource as unknown as EventSourceConstructor,
    storage: null,
    reconnect: { initialDelay: 200, maxDelay: 1000 },
    ...options,
  });
}

/** Waits until `condition` holds, checking every 10 ms; fails with `what` after `timeout` ms. */
export async function eventually(condition: () => boolean, what: string, timeout = 20_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeout} ms waiting for: ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Collects a subscription's message data. */
export function received(subscription: Subscription): unknown[] {
  const seen: unknown[] = [];
  subscription.on("message", (message) => seen.push(message.data));
  return seen;
}

export const ALL: TransportName[] = ["websocket", "sse", "long-polling"];

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** Subscribes to `channel`, connects, and waits until the subscription is live; `seen` collects its messages' data. */
export async function connectSubscribed(client: PubSubClient, channel: string): Promise<{ sub: Subscription; seen: unknown[] }> {
  const sub = client.subscribe(channel);
  const seen = received(sub);
  await client.connect();
  await sub.ready();
  return { sub, seen };
}
