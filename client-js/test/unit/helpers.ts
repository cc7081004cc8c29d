import { vi } from "vitest";
import { FakeServer } from "../fakes/FakeServer.js";
import { PubSubClient } from "../../src/PubSubClient.js";
import type { Subscription } from "../../src/Subscription.js";
import type { Message, PubSubClientOptions, TransportStorage } from "../../src/types.js";

export const URL_ = "http://fake.test/pubsub";

/** sessionStorage's behaviour, in memory. */
export class MemoryStorage implements TransportStorage {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}

/** A client wired to a fake server (all three transports go to it). */
export function clientFor(server: FakeServer, options: PubSubClientOptions = {}): PubSubClient {
  return new PubSubClient(URL_, {
    WebSocket: server.WebSocket,
    EventSource: server.EventSource,
    fetch: server.fetch,
    storage: new MemoryStorage(),
    ...options,
  });
}

/** A fake server and a client connected to it. */
export async function connected(options: PubSubClientOptions = {}) {
  const server = new FakeServer();
  const client = clientFor(server, options);
  await client.connect();
  return { server, client };
}

/** Fake timers for the clock and timeouts; microtasks (the fakes' "network") stay real. */
export function useFakeClock(): void {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] });
}

/** Lets time pass (and every microtask it unblocks run). */
export async function pass(ms = 0): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
}

/**
 * Advances the fake clock in small steps until `condition` holds; fails after `limit` ms of fake
 * time, so a client that never gets there fails the test instead of hanging it.
 */
export async function until(condition: () => boolean, limit = 120_000, step = 10): Promise<void> {
  for (let waited = 0; !condition(); waited += step) {
    if (waited >= limit) {
      throw new Error(`The condition did not hold within ${limit} ms of fake time: ${condition.toString()}`);
    }
    await vi.advanceTimersByTimeAsync(step);
  }
}

/** Collects a subscription's messages' data. */
export function collect(subscription: Subscription): unknown[] {
  const seen: unknown[] = [];
  subscription.on("message", (message: Message) => seen.push(message.data));
  return seen;
}

/** A fake server and a client connected to it with one ready subscription to `chat/lobby`, whose data `seen` collects. */
export async function subscribedToLobby(options: PubSubClientOptions = {}) {
  const server = new FakeServer();
  const client = clientFor(server, options);
  const sub = client.subscribe("chat/lobby");
  const seen = collect(sub);
  await client.connect();
  await sub.ready();
  return { server, client, sub, seen };
}

/** The numbers from..to, inclusive. */
export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
