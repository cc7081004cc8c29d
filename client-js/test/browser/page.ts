// What the test pages run: a client from the bundle's global `PubSub`, driven through page.evaluate.
// Everything here is serialized into the page, so it may use only what the page has.

import type { Page } from "playwright-core";

export interface PageClientOptions {
  url: string;
  transports?: string[];
  channel: string;
  probeInterval?: number;
  encoding?: "json" | "msgpack";
}

/** State the page keeps on `window.t` for the test to read. */
export interface PageState {
  received: unknown[];
  states: { state: string; transport: string | null }[];
  missed: number;
  errors: string[];
}

/** Creates a client in the page (window.t.client), subscribes to `channel`, connects, and waits until subscribed. */
export async function startPageClient(page: Page, options: PageClientOptions): Promise<{ transport: string }> {
  return page.evaluate(async ({ url, transports, channel, probeInterval, encoding }) => {
    const lib = (window as unknown as { PubSub: any }).PubSub;
    const state: any = { received: [], states: [], missed: 0, errors: [] };
    (window as any).t = state;
    const clientOptions: any = { reconnect: { initialDelay: 200, maxDelay: 1000 } };
    if (transports) clientOptions.transports = transports;
    if (probeInterval !== undefined) clientOptions.probeInterval = probeInterval;
    if (encoding !== undefined) {
      clientOptions.encoding = encoding;
      // A fall back to JSON (the server did not offer the encoding) shows as an error line.
      clientOptions.logger = { warn: (line: string) => state.errors.push("logger: " + line) };
    }
    const client = new lib.PubSubClient(url, clientOptions);
    state.client = client;
    client.on("state", (change: any) => state.states.push({ state: change.state, transport: change.transport }));
    client.on("error", (error: any) => state.errors.push(error.code + ": " + error.message));
    const sub = client.subscribe(channel);
    state.sub = sub;
    sub.on("message", (m: any) => state.received.push(m.data instanceof Uint8Array ? Array.from(m.data) : m.data));
    sub.on("missed", () => state.missed++);
    await client.connect();
    await sub.ready();
    return { transport: client.transport };
  }, options);
}

/** Reads the page's state (without the client objects). */
export async function pageState(page: Page): Promise<PageState> {
  return page.evaluate(() => {
    const t = (window as any).t;
    return { received: t.received, states: t.states, missed: t.missed, errors: t.errors };
  });
}

/** Waits until the page has received at least `count` messages. */
export async function waitForMessages(page: Page, count: number, timeout = 30_000): Promise<void> {
  await page.waitForFunction((n) => (window as any).t.received.length >= n, count, { timeout, polling: 20 });
}
