// Presence, join/leave, server-made subscriptions, the server's reasons and idempotent publish
// retries against a real PubSub.Host: chat/{room} keeps presence and announces joins and leaves
// (the Host's appsettings.json), news/{topic} keeps no presence, and private/{id} (configured
// here) is for signed-in users only. Host:DemoNames turns a `name` query parameter into `info`.

import { WebSocket } from "ws";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { PubSubClient } from "../../src/PubSubClient.js";
import type { PubSubError } from "../../src/PubSubError.js";
import type { Subscription } from "../../src/Subscription.js";
import type { DisconnectedEvent, JoinLeaveEvent, SubscribedEvent, TransportName, UnsubscribedEvent, WebSocketConstructor, WebSocketLike } from "../../src/types.js";
import { HostProcess } from "../support/HostProcess.js";
import { TestProxy } from "../support/TestProxy.js";
import { ALL, connectSubscribed, eventually, nodeClient, range, received } from "./support.js";

let host: HostProcess;
let proxy: TestProxy;
const clients: PubSubClient[] = [];

beforeAll(async () => {
  host = await HostProcess.start({
    env: {
      PubSub__Channels__2__Template: "private/{id}",
      PubSub__Channels__2__RequireAuthenticatedUser: "true",
      PubSub__Channels__2__Presence: "true",
    },
  });
  proxy = await TestProxy.start(host.url);
});
afterEach(() => {
  proxy.webSocket = "pass";
  clients.splice(0).forEach((client) => client.close());
});
afterAll(async () => {
  await proxy?.close();
  await host?.stop();
});

function client(name: string, options: Parameters<typeof nodeClient>[1] = {}, base = host.pubsub): PubSubClient {
  const made = nodeClient(`${base}?name=${name}`, options);
  clients.push(made);
  return made;
}

/** A connected client whose server-made subscriptions `announced` collects. */
async function announcingClient(name: string, base = host.pubsub, transport: TransportName = "websocket"): Promise<{ client: PubSubClient; announced: Subscription[] }> {
  const made = client(name, { transports: [transport] }, base);
  const announced: Subscription[] = [];
  made.on("subscribed", (subscription) => announced.push(subscription));
  await made.connect();
  return { client: made, announced };
}

describe("presence", () => {
  it("lists this client and another with their info, and counts them", async () => {
    const channel = "chat/presence-list";
    const ann = client("ann");
    const bob = client("bob", { transports: ["long-polling"] });
    await connectSubscribed(ann, channel);
    await connectSubscribed(bob, channel);

    const presence = await ann.presence(channel);
    const stats = await bob.presenceStats(channel);

    const members = [...presence.members].sort((a, b) => String((a.info as { name: string }).name).localeCompare((b.info as { name: string }).name));
    // Anonymous sessions: no `user`, and `users` counts signed-in users only.
    expect(members).toStrictEqual([{ session: ann.session, info: { name: "ann" } }, { session: bob.session, info: { name: "bob" } }]);
    expect(presence.truncated).toBe(false);
    expect(stats).toEqual({ clients: 2, users: 0 });
  });

  it("carries a demo name of at most 32 characters (Host:DemoNames)", async () => {
    const channel = "chat/presence-long-name";
    const long = client("n".repeat(40));
    await connectSubscribed(long, channel);

    const presence = await long.presence(channel);

    expect(presence.members).toStrictEqual([{ session: long.session, info: { name: "n".repeat(32) } }]);
  });

  it("refuses a channel whose template keeps no presence with presence_disabled, and one the client may not subscribe to with forbidden", async () => {
    const ann = client("ann");
    await ann.connect();

    const refusals = await Promise.all([
      ann.presence("news/today"),
      ann.presenceStats("news/today"),
      ann.presence("private/7"),
      ann.presence("nope/x"),
    ].map((request) => request.then(() => null, (error: PubSubError) => error.code)));

    expect(refusals).toEqual(["presence_disabled", "presence_disabled", "forbidden", "unknown_channel"]);
  });
});

describe("presence over MessagePack", () => {
  it("reads presence and hears joins with the frames in MessagePack", async () => {
    const channel = "chat/presence-msgpack";
    const ann = client("ann", { transports: ["websocket"], encoding: "msgpack" });
    const { sub } = await connectSubscribed(ann, channel);
    const joins: JoinLeaveEvent[] = [];
    sub.on("join", (event) => joins.push(event));
    const bob = client("bob", { transports: ["long-polling"], encoding: "msgpack" });
    await connectSubscribed(bob, channel);
    await eventually(() => joins.length === 1, "ann hears bob join");

    const presence = await bob.presence(channel);

    expect(joins[0]).toStrictEqual({ channel, session: bob.session, info: { name: "bob" } });
    expect(presence.members.map((member) => member.session).sort()).toEqual([ann.session, bob.session].sort());
    expect(await ann.publish(channel, "keyed", { idempotencyKey: "msgpack-key" })).toEqual(await bob.publish(channel, "keyed again", { idempotencyKey: "msgpack-key" }));
  });
});

describe.each(ALL)("join and leave over %s", (transport) => {
  it("each client hears the other come and go, and its position does not move", async () => {
    const channel = `chat/joins-${transport}`;
    const ann = client("ann", { transports: [transport] });
    const { sub: annSub, seen } = await connectSubscribed(ann, channel);
    const heard: string[] = [];
    const events: JoinLeaveEvent[] = [];
    annSub.on("join", (event) => (heard.push(`join ${event.session}`), events.push(event)));
    annSub.on("leave", (event) => heard.push(`leave ${event.session}`));
    await host.publish(channel, 1);
    await eventually(() => seen.length === 1, "the first message");

    const bob = client("bob", { transports: [transport] });
    const { sub: bobSub } = await connectSubscribed(bob, channel);
    await eventually(() => heard.length === 1, "ann hears bob join");
    await bobSub.unsubscribe();
    await eventually(() => heard.length === 2, "ann hears bob leave");

    expect(heard).toEqual([`join ${bob.session}`, `leave ${bob.session}`]);
    expect(events[0]).toStrictEqual({ channel, session: bob.session, info: { name: "bob" } });
    expect(annSub.position!.offset).toBe(1);
  });
});

describe("server-made subscriptions", () => {
  it.each(ALL)("one the server API makes is announced and gets its channel's messages over %s", async (transport) => {
    const channel = `chat/api-made-${transport}`;
    const { client: ann, announced } = await announcingClient("ann", host.pubsub, transport);

    const answer = await host.control("subscribe", { session: ann.session, channel });
    await eventually(() => announced.length === 1, "the subscribed event");
    const seen = received(announced[0]!);
    await host.publish(channel, 1);
    await host.publish(channel, 2);
    await eventually(() => seen.length === 2, "two messages");

    expect(answer.sessions).toBe(1);
    expect(announced[0]!.origin).toBe("server");
    expect(ann.getSubscription(channel)).toBe(announced[0]);
    expect(seen).toEqual([1, 2]);
  });

  it("loses nothing across a reconnect: the client subscribes it again from its position, and what was published meanwhile is recovered in order and once", async () => {
    const channel = "chat/api-made-reconnect";
    const { client: ann, announced } = await announcingClient("ann", proxy.pubsub);
    await host.control("subscribe", { session: ann.session, channel });
    await eventually(() => announced.length === 1, "the subscribed event");
    const sub = announced[0]!;
    const seen = received(sub);
    const resubscribed: SubscribedEvent[] = [];
    sub.on("subscribed", (event) => resubscribed.push(event));
    await host.publish(channel, 1);
    await host.publish(channel, 2);
    await eventually(() => seen.length === 2, "two messages");

    // The network goes, and stays away (WebSocket upgrades refused) while the channel goes on.
    proxy.webSocket = "refuse";
    const first = ann.session;
    proxy.dropAll();
    await eventually(() => ann.state === "reconnecting", "reconnecting");
    for (const n of range(3, 6)) {
      await host.publish(channel, n);
    }
    proxy.webSocket = "pass";
    await eventually(() => ann.state === "connected", "connected again");
    // The server does not repeat what its API made on the new session: the client's own subscribe recovers it.
    await eventually(() => seen.length === 6, `six messages (have ${seen.length})`);
    await host.publish(channel, 7);
    await eventually(() => seen.length === 7, "the seventh message");

    expect(ann.session).not.toBe(first);
    expect(seen).toEqual(range(1, 7));
    expect(resubscribed).toEqual([expect.objectContaining({ channel, resubscribed: true, recovered: true })]);
    expect(sub.state).toBe("subscribed");
    expect(announced).toEqual([sub]);
    expect(ann.getSubscription(channel)).toBe(sub);
  });

  it("the server API's unsubscribe ends it with its code and reason", async () => {
    const channel = "chat/api-unsubscribed";
    const { client: ann, announced } = await announcingClient("ann");
    await host.control("subscribe", { session: ann.session, channel });
    await eventually(() => announced.length === 1, "the subscribed event");
    const ended: UnsubscribedEvent[] = [];
    announced[0]!.on("unsubscribed", (event) => ended.push(event));
    announced[0]!.on("error", () => undefined);

    await host.control("unsubscribe", { session: ann.session, channel, code: "moderated", reason: "Removed by a moderator." });
    await eventually(() => ended.length === 1, "the unsubscribed event");

    expect(ended[0]).toMatchObject({ channel, by: "server", code: "moderated", reason: "Removed by a moderator." });
    expect(announced[0]!.state).toBe("unsubscribed");
    expect(announced[0]!.ended).toMatchObject({ by: "server", code: "moderated" });
    expect(ann.getSubscription(channel)).toBeUndefined();
  });
});

describe("the server API's disconnect", () => {
  it.each([
    [4600, false, "closed"],
    [4100, true, "reconnecting"],
  ])("%s surfaces its code and reason and whether the client reconnects", async (code, reconnect, state) => {
    const ann = client("ann", { transports: ["websocket"] });
    const disconnected: DisconnectedEvent[] = [];
    const states: string[] = [];
    ann.on("disconnected", (event) => disconnected.push(event));
    ann.on("state", (change) => states.push(change.state));
    ann.on("error", () => undefined);
    await ann.connect();

    await host.control("disconnect", { session: ann.session, code, reason: "Go away for a bit." });
    await eventually(() => disconnected.length === 1, "the disconnected event");

    expect(disconnected[0]).toMatchObject({ code, reason: "Go away for a bit.", reconnect });
    expect(states).toContain(state);
  });
});

/**
 * A `ws` WebSocket that, once armed, swallows the next publish reply and kills the socket, as a
 * network that fails after the server stored the publication but before its reply arrived.
 */
class ReplyLosingWebSocket implements WebSocketLike {
  static armed = false;
  onopen: WebSocketLike["onopen"] = null;
  onmessage: WebSocketLike["onmessage"] = null;
  onclose: WebSocketLike["onclose"] = null;
  onerror: WebSocketLike["onerror"] = null;
  private readonly socket: WebSocket;

  constructor(url: string, protocols?: string | string[]) {
    this.socket = new WebSocket(url, protocols);
    this.socket.onopen = (event) => this.onopen?.(event);
    this.socket.onclose = (event) => this.onclose?.(event);
    this.socket.onerror = (event) => this.onerror?.(event);
    this.socket.onmessage = (event) => {
      const text = typeof event.data === "string" ? event.data : "";
      if (ReplyLosingWebSocket.armed && text.includes('"type":"reply"') && text.includes('"offset"')) {
        ReplyLosingWebSocket.armed = false;
        this.socket.terminate();
        return;
      }
      this.onmessage?.(event);
    };
  }

  get readyState(): number {
    return this.socket.readyState;
  }
  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }
  get protocol(): string {
    return this.socket.protocol;
  }
  get binaryType(): string {
    return this.socket.binaryType;
  }
  set binaryType(value: string) {
    this.socket.binaryType = value as WebSocket["binaryType"];
  }
  send(data: string | Uint8Array): void {
    this.socket.send(data);
  }
  close(code?: number, reason?: string): void {
    this.socket.close(code, reason);
  }
}

describe("publish retries", () => {
  it("a publish whose connection died before the reply is sent again with its key, and the channel holds it once", async () => {
    const channel = "chat/idempotent-retry";
    const ann = client("ann", { transports: ["websocket"], WebSocket: ReplyLosingWebSocket as unknown as WebSocketConstructor });
    const disconnected: DisconnectedEvent[] = [];
    ann.on("disconnected", (event) => disconnected.push(event));
    ann.on("error", () => undefined);
    await ann.connect();
    const first = ann.session;

    ReplyLosingWebSocket.armed = true;
    const position = await ann.publish(channel, "exactly once");

    expect(disconnected).toHaveLength(1);
    expect(ann.session).not.toBe(first);
    expect(position.offset).toBe(1);
    expect(await host.historyData(channel)).toEqual(["exactly once"]);
  });

  it("without retries, the same failure rejects with connection_lost", async () => {
    const channel = "chat/no-retry";
    const ann = client("ann", { transports: ["websocket"], publishRetries: 0, WebSocket: ReplyLosingWebSocket as unknown as WebSocketConstructor });
    ann.on("error", () => undefined);
    await ann.connect();

    ReplyLosingWebSocket.armed = true;
    const error = (await ann.publish(channel, "maybe").catch((e: unknown) => e)) as PubSubError;

    expect(error.code).toBe("connection_lost");
    expect(await host.historyData(channel)).toEqual(["maybe"]);
  });

  it("an idempotency key that is too long is refused before anything is sent", async () => {
    const channel = "chat/bad-key";
    const ann = client("ann");
    await ann.connect();

    const error = (await ann.publish(channel, 1, { idempotencyKey: "k".repeat(129) }).catch((e: unknown) => e)) as PubSubError;

    expect(error.code).toBe("bad_request");
    expect(await host.historyData(channel)).toEqual([]);
  });
});
