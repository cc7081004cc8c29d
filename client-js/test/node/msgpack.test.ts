// The MessagePack encoding against a real PubSub.Host (docs/protocol.md, section 6): each
// transport (SSE in JSON, which carries text only), recovery across network drops and across a
// fall back from WebSocket, and a MessagePack and a JSON subscriber of one channel side by side.

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { PubSubClient } from "../../src/PubSubClient.js";
import type { Message, TransportName } from "../../src/types.js";
import { HostProcess } from "../support/HostProcess.js";
import { TestProxy } from "../support/TestProxy.js";
import { ALL, connectSubscribed, eventually, nodeClient, range, received } from "./support.js";

let host: HostProcess;
let proxy: TestProxy;
const clients: PubSubClient[] = [];

beforeAll(async () => {
  host = await HostProcess.start();
  proxy = await TestProxy.start(host.url);
});
afterEach(() => {
  clients.splice(0).forEach((client) => client.close());
  proxy.webSocket = "pass";
});
afterAll(async () => {
  await proxy?.close();
  await host?.stop();
});

/** A MessagePack client; a warning means the server did not offer msgpack, which fails the test. */
function msgpackClient(url: string, transports: TransportName[]): PubSubClient {
  const client = nodeClient(url, { transports, encoding: "msgpack", logger: { warn: (line) => { throw new Error(line); } } });
  clients.push(client);
  return client;
}

/** The encoding of the session in use, as its transport has it. */
function sessionEncoding(client: PubSubClient): string | undefined {
  return (client as unknown as { supervisor: { current(): { codec: { encoding: string } } | null } }).supervisor.current()?.codec.encoding;
}

const expected = (transport: TransportName): string => (transport === "sse" ? "json" : "msgpack");

describe.each(ALL)("over %s", (transport) => {
  it("subscribes, publishes JSON and bytes, and reads history in MessagePack", async () => {
    const channel = `chat/msgpack-${transport}`;
    const client = msgpackClient(host.pubsub, [transport]);
    const sub = client.subscribe(channel);
    const messages: Message[] = [];
    sub.on("message", (m) => messages.push(m));
    await client.connect();
    await sub.ready();
    expect(sessionEncoding(client)).toBe(expected(transport));

    const first = await client.publish(channel, { text: "été", n: 1, big: 12345678901, f: 1.5, list: [true, null], skipped: undefined });
    await client.publish(channel, new Uint8Array([0, 1, 2, 250]));
    await host.publish(channel, { from: "api" });
    await eventually(() => messages.length === 3, "three messages");

    expect(messages.map((m) => m.offset)).toEqual([1, 2, 3]);
    expect(messages[0]!.data).toEqual({ text: "été", n: 1, big: 12345678901, f: 1.5, list: [true, null] });
    expect(messages[1]!.data).toEqual(new Uint8Array([0, 1, 2, 250]));
    expect(messages[2]!.data).toEqual({ from: "api" });

    const page = await client.history(channel, { since: { epoch: first.epoch, offset: 1 } });
    expect(page.publications.map((p) => p.offset)).toEqual([2, 3]);
    expect(page.publications[0]!.data).toEqual(new Uint8Array([0, 1, 2, 250]));
    expect(page.publications[1]!.data).toEqual({ from: "api" });
  });

  it("a MessagePack and a JSON subscriber get the same publications in the same order", async () => {
    const channel = `chat/msgpack-mixed-${transport}`;
    const packed = msgpackClient(host.pubsub, [transport]);
    const json = nodeClient(host.pubsub, { transports: ["websocket"] });
    clients.push(json);
    const fromPacked = await connectSubscribed(packed, channel);
    const fromJson = await connectSubscribed(json, channel);

    await packed.publish(channel, { n: 1 });
    await json.publish(channel, { n: 2 });
    await packed.publish(channel, new Uint8Array([3, 0]));
    await json.publish(channel, new Uint8Array([4, 0]));
    await host.publish(channel, { n: 5 });
    await eventually(() => fromPacked.seen.length === 5 && fromJson.seen.length === 5, "five messages each");

    const expectedData = [{ n: 1 }, { n: 2 }, new Uint8Array([3, 0]), new Uint8Array([4, 0]), { n: 5 }];
    expect(fromPacked.seen).toEqual(expectedData);
    expect(fromJson.seen).toEqual(expectedData);
  });
});

describe.each(["websocket", "long-polling"] as const)("over %s", (transport) => {
  it("gets every publication exactly once and in order across network drops", async () => {
    const channel = `chat/msgpack-drops-${transport}`;
    const client = msgpackClient(proxy.pubsub, [transport]);
    const { seen } = await connectSubscribed(client, channel);

    for (const n of range(1, 30)) {
      await host.publish(channel, n);
      if (n === 10 || n === 20) {
        proxy.dropAll();
      }
    }
    await eventually(() => seen.length >= 30, `30 messages (have ${seen.length})`);

    expect(seen).toEqual(range(1, 30));
    expect(sessionEncoding(client)).toBe("msgpack");
  });
});

describe.each(["long-polling", "sse"] as const)("falling back from WebSocket to %s", (fallback) => {
  it("recovers every publication, in the fallback's encoding", async () => {
    const channel = `chat/msgpack-fallback-${fallback}`;
    const client = msgpackClient(proxy.pubsub, ["websocket", fallback]);
    const { seen } = await connectSubscribed(client, channel);
    await client.publish(channel, 1);
    await eventually(() => seen.length === 1, "the first message");
    expect(sessionEncoding(client)).toBe("msgpack");

    // From now on a proxy that refuses upgrades: the reconnect falls back.
    proxy.webSocket = "refuse";
    proxy.dropAll();
    await host.publish(channel, 2);
    await eventually(() => client.transport === fallback, `the fall back to ${fallback}`);
    await client.publish(channel, new Uint8Array([3]));
    await eventually(() => seen.length === 3, `three messages (have ${seen.length})`);

    expect(seen).toEqual([1, 2, new Uint8Array([3])]);
    expect(sessionEncoding(client)).toBe(expected(fallback));
  });
});
