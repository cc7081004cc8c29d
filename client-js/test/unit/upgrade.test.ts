import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { PubSubClient } from "../../src/PubSubClient.js";
import type { StateChange } from "../../src/types.js";
import type { FakeSession } from "../fakes/FakeServer.js";
import { FakeServer } from "../fakes/FakeServer.js";
import { MemoryStorage, clientFor, collect, pass, range, until, useFakeClock } from "./helpers.js";

beforeEach(useFakeClock);
afterEach(() => vi.useRealTimers());

type Frame = Record<string, unknown>;

/** A client that fell back to SSE because WebSocket was refused, subscribed to chat/a and caught up. */
async function onSseFallback(storage = new MemoryStorage()) {
  const server = new FakeServer();
  server.ws = "refuse";
  const client = clientFor(server, { probeInterval: 5_000, storage });
  const sub = client.subscribe("chat/a");
  const seen = collect(sub);
  await client.connect();
  await sub.ready();
  expect(client.transport).toBe("sse");
  for (const n of range(1, 3)) server.publish("chat/a", n);
  await until(() => seen.length === 3);
  return { server, client, sub, seen };
}

/** Holds the probe's (the WebSocket session's) frames of a type until `release()`. */
function holdOnWebSocket(server: FakeServer, type: string) {
  const held: [FakeSession, Frame][] = [];
  server.intercept = (session, frame) => {
    if (session.transport === "websocket" && frame.type === type) {
      held.push([session, frame]);
      return true;
    }
    return false;
  };
  return {
    held,
    release: () => {
      server.intercept = null;
      for (const [session, frame] of held.splice(0)) {
        server.process(session, frame);
      }
    },
  };
}

function transports(client: PubSubClient): (string | null)[] {
  const seen: (string | null)[] = [];
  client.on("state", (change: StateChange) => seen.push(change.transport));
  return seen;
}

describe("moving up to WebSocket", () => {
  it("probes WebSocket while on a fallback and moves to it without losing or doubling a publication", async () => {
    const storage = new MemoryStorage();
    const { server, client, sub, seen } = await onSseFallback(storage);
    const changes = transports(client);
    server.ws = "accept";
    const hold = holdOnWebSocket(server, "subscribe");

    await until(() => hold.held.length === 1);
    const probeSubscribe = hold.held[0]![1];
    expect(probeSubscribe.since).toEqual({ epoch: "epoch1", offset: 3 });
    // Published while the new session's subscribe is pending: the old session delivers them, and
    // the new one will replay them after its reply. Each must be seen once.
    for (const n of range(4, 6)) server.publish("chat/a", n);
    await until(() => seen.length === 6);
    hold.release();
    await until(() => client.transport === "websocket");
    for (const n of range(7, 9)) server.publish("chat/a", n);
    await until(() => seen.length >= 9);
    await pass(100);

    expect(seen).toEqual(range(1, 9));
    expect(sub.position).toEqual({ epoch: "epoch1", offset: 9 });
    expect(changes).toEqual(["websocket"]);
    expect(server.eventSources[0]!.closedByClient).toBe(true);
    expect([...storage.items.values()]).toEqual(["websocket"]);
    client.close();
  });

  it("abandons the move when the new session cannot recover a channel, and stays where it was", async () => {
    const { server, client, seen } = await onSseFallback();
    server.ws = "accept";
    const hold = holdOnWebSocket(server, "subscribe");
    await until(() => hold.held.length === 1);

    const [session, frame] = hold.held[0]!;
    session.subscriptions.add("chat/a");
    session.send({ type: "reply", id: frame.id, result: { epoch: "other", offset: 50, recovered: false } });
    await pass(10);

    expect(client.transport).toBe("sse");
    expect(server.sockets.at(-1)!.closedByClient).toBe(1000);
    server.publish("chat/a", 4);
    await until(() => seen.length === 4);
    expect(seen).toEqual(range(1, 4));
    client.close();
  });

  it("abandons the move when the subscriptions change meanwhile, and tries again later", async () => {
    const { server, client } = await onSseFallback();
    server.ws = "accept";
    const hold = holdOnWebSocket(server, "subscribe");
    await until(() => hold.held.length === 1);

    const other = client.subscribe("chat/b");
    await other.ready();
    hold.release();
    await pass(10);
    expect(client.transport).toBe("sse");

    await until(() => client.transport === "websocket");
    const subscribes = server.session("websocket").received.filter((f) => f.type === "subscribe").map((f) => f.channel);
    expect(subscribes.sort()).toEqual(["chat/a", "chat/b"]);
    client.close();
  });

  it("keeps the old session until its pending replies are in", async () => {
    const { server, client } = await onSseFallback();
    const old = server.session("sse");
    const heldPublishes: Frame[] = [];
    server.intercept = (session, frame) => {
      if (session === old && frame.type === "publish") {
        heldPublishes.push(frame);
        return true;
      }
      return false;
    };
    const publish = client.publish("chat/a", "in flight");
    await until(() => heldPublishes.length === 1);

    server.ws = "accept";
    await until(() => client.transport === "websocket");
    expect(server.eventSources[0]!.closedByClient).toBe(false);

    server.process(old, heldPublishes[0]!);
    await expect(publish).resolves.toMatchObject({ offset: 4 });
    await pass(10);
    expect(server.eventSources[0]!.closedByClient).toBe(true);
    client.close();
  });

  it("does not probe when WebSocket is not among the client's transports or the server's", async () => {
    const server = new FakeServer(["sse", "long-polling"]);
    const client = clientFor(server, { probeInterval: 1_000 });
    await client.connect();
    await pass(10_000);
    expect(server.sockets).toHaveLength(0);
    client.close();

    const second = new FakeServer();
    const other = clientFor(second, { probeInterval: 1_000, transports: ["sse"] });
    await other.connect();
    await pass(10_000);
    expect(second.sockets).toHaveLength(0);
    other.close();
  });

  it("asks for a fresh token for the probe", async () => {
    const server = new FakeServer();
    server.ws = "refuse";
    let calls = 0;
    const client = clientFor(server, { probeInterval: 5_000, token: () => `token${++calls}` });
    await client.connect();
    server.ws = "accept";

    await until(() => client.transport === "websocket");

    expect(new URL(server.sockets.at(-1)!.url).searchParams.get("access_token")).toBe("token2");
    client.close();
  });

  it("tries again later when the probe's connection drops while it subscribes, and keeps the old session meanwhile", async () => {
    const { server, client, seen } = await onSseFallback();
    server.ws = "accept";
    const errors: string[] = [];
    client.on("error", (error) => errors.push(error.code));
    const hold = holdOnWebSocket(server, "subscribe");
    await until(() => hold.held.length === 1);
    const probes = server.sockets.length;

    server.sockets.at(-1)!.drop(1006, "");
    await pass(10);
    expect(client.transport).toBe("sse");
    server.publish("chat/a", 4);
    await until(() => seen.length === 4);

    hold.release();
    await until(() => client.transport === "websocket");
    server.publish("chat/a", 5);
    await until(() => seen.length === 5);

    expect(server.sockets.length).toBe(probes + 1);
    expect(seen).toEqual(range(1, 5));
    // A probe that fails is no failure of the client's connection.
    expect(errors).toEqual([]);
    client.close();
  });

  it("keeps probing at the interval while WebSocket still fails", async () => {
    const { server, client } = await onSseFallback();
    const before = server.sockets.length;

    await pass(20_000);

    expect(server.sockets.length - before).toBe(4);
    expect(client.transport).toBe("sse");
    client.close();
  });
});

describe("moving up to WebSocket with a subscription the server made", () => {
  it("subscribes one the server API made on the new session from its position, once, and loses nothing", async () => {
    const server = new FakeServer();
    server.ws = "refuse";
    const client = clientFor(server, { probeInterval: 5_000 });
    const seen: unknown[] = [];
    client.on("subscribed", (sub) => sub.on("message", (m) => seen.push(m.data)));
    await client.connect();
    server.session().serverSubscribe("chat/api-made");
    await until(() => client.getSubscription("chat/api-made")?.state === "subscribed");
    for (const n of range(1, 3)) server.publish("chat/api-made", n);
    await until(() => seen.length === 3);

    server.ws = "accept";
    await until(() => client.transport === "websocket");
    for (const n of range(4, 5)) server.publish("chat/api-made", n);
    await until(() => seen.length === 5);

    const probe = server.session("websocket").received.filter((frame) => frame.type === "subscribe" || frame.type === "unsubscribe");
    expect(probe.map((frame) => [frame.type, frame.since])).toEqual([["subscribe", { epoch: "epoch1", offset: 3 }]]);
    expect(seen).toEqual(range(1, 5));
    expect(client.getSubscription("chat/api-made")!.origin).toBe("server");
    client.close();
  });

  it("replaces the connect hook's subscription on the new session by one that recovers, and loses nothing", async () => {
    const server = new FakeServer();
    server.ws = "refuse";
    server.connectChannels = ["chat/hooked"];
    const client = clientFor(server, { probeInterval: 5_000 });
    const seen: unknown[] = [];
    client.on("subscribed", (sub) => sub.on("message", (m) => seen.push(m.data)));
    await client.connect();
    await until(() => client.getSubscription("chat/hooked")?.state === "subscribed");
    for (const n of range(1, 3)) server.publish("chat/hooked", n);
    await until(() => seen.length === 3);

    server.ws = "accept";
    await until(() => client.transport === "websocket");
    for (const n of range(4, 5)) server.publish("chat/hooked", n);
    await until(() => seen.length >= 5);
    await pass(100);

    const probe = server.session("websocket").received.filter((frame) => frame.type === "subscribe" || frame.type === "unsubscribe");
    // The hook subscribed the probe's session already: the client unsubscribes there and subscribes again from its position.
    expect(probe.map((frame) => [frame.type, frame.since])).toEqual([
      ["subscribe", { epoch: "epoch1", offset: 3 }],
      ["unsubscribe", undefined],
      ["subscribe", { epoch: "epoch1", offset: 3 }],
    ]);
    expect(seen).toEqual(range(1, 5));
    expect(client.getSubscription("chat/hooked")!.origin).toBe("server");
    client.close();
  });
});
