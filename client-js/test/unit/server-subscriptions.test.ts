// Subscriptions the server makes (its connect hook, the server API), their gap fill from history
// after a reconnect (docs/protocol.md, section 2.5), and the reasons the server gives when it
// ends a subscription or a session; against the fake server.

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { PubSubClient } from "../../src/PubSubClient.js";
import type { Subscription } from "../../src/Subscription.js";
import type { DisconnectedEvent, MissedEvent, SubscribedEvent, TransportName, UnsubscribedEvent } from "../../src/types.js";
import { FakeServer } from "../fakes/FakeServer.js";
import type { FakeSession } from "../fakes/FakeServer.js";
import type { Frame } from "../fakes/FakeChannels.js";
import { clientFor, collect, pass, range, subscribedToLobby, until, useFakeClock } from "./helpers.js";

beforeEach(useFakeClock);
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

const HOOKED = "chat/hooked";
const API_MADE = "chat/api-made";

/** A client of a fake server whose connect hook subscribes every session to HOOKED; `seen` collects that subscription's data. */
async function hookedClient(transport: TransportName = "websocket", configure: (server: FakeServer) => void = () => undefined) {
  const server = new FakeServer();
  server.connectChannels = [HOOKED];
  configure(server);
  const client = clientFor(server, { transports: [transport] });
  const announced: Subscription[] = [];
  const seen: unknown[] = [];
  const missed: MissedEvent[] = [];
  client.on("subscribed", (subscription) => {
    announced.push(subscription);
    subscription.on("message", (message) => seen.push(message.data));
    subscription.on("missed", (event) => missed.push(event));
  });
  await client.connect();
  await until(() => announced.length === 1);
  return { server, client, announced, seen, missed, sub: announced[0]! };
}

/** A client of a fake server with no connect hook, which the server API subscribed to API_MADE once connected. */
async function apiMadeClient(transport: TransportName) {
  const server = new FakeServer();
  const client = clientFor(server, { transports: [transport] });
  const announced: Subscription[] = [];
  client.on("subscribed", (subscription) => announced.push(subscription));
  await client.connect();
  server.session().serverSubscribe(API_MADE);
  await until(() => announced.length === 1);
  return { server, client, announced, sub: announced[0]! };
}

/** Drops the connection, lets `whileDown` publish, and waits until the client is connected again. */
async function reconnectAfter(server: FakeServer, client: PubSubClient, whileDown: () => void): Promise<void> {
  server.goDown();
  await until(() => client.state === "reconnecting");
  whileDown();
  server.up();
  await until(() => client.state === "connected");
}

function framesOf(server: FakeServer, type: string): Frame[] {
  return server.sessions.flatMap((session) => session.received.filter((frame) => frame.type === type));
}

describe.each(["websocket", "sse", "long-polling"] as TransportName[])("a server-made subscription over %s", (transport) => {
  it("is announced, subscribed, and delivers its channel's messages", async () => {
    const { server, client, sub, seen } = await hookedClient(transport);

    expect(sub.origin).toBe("server");
    expect(sub.state).toBe("subscribed");
    expect(sub.channel).toBe(HOOKED);
    expect(client.getSubscription(HOOKED)).toBe(sub);
    expect(client.getSubscriptions()).toEqual([sub]);
    server.publish(HOOKED, 1);
    server.publish(HOOKED, 2);
    await until(() => seen.length === 2);
    expect(seen).toEqual([1, 2]);
    expect(framesOf(server, "subscribe")).toEqual([]);
    client.close();
  });

  it("after a reconnect whose hook subscribed first, ignores the already_subscribed and fills the gap from history, in order and once", async () => {
    const { server, client, sub, seen, announced, missed } = await hookedClient(transport);
    const errors: unknown[] = [];
    sub.on("error", (error) => errors.push(error));
    server.publish(HOOKED, 1);
    await until(() => seen.length === 1);
    // Whether the session held the channel already when the client's subscribe arrived: the server's answer is already_subscribed.
    const heldAlready: boolean[] = [];
    server.intercept = (session, frame) => {
      if (frame.type === "subscribe") {
        heldAlready.push(session.subscriptions.has(frame.channel as string));
      }
      return false;
    };

    await reconnectAfter(server, client, () => range(2, 4).forEach((n) => server.publish(HOOKED, n)));
    await until(() => seen.length === 4);
    server.publish(HOOKED, 5);
    await until(() => seen.length === 5);

    expect(seen).toEqual(range(1, 5));
    expect(missed).toEqual([]);
    expect(errors).toEqual([]);
    expect(announced).toEqual([sub]);
    expect(sub.state).toBe("subscribed");
    expect(client.getSubscription(HOOKED)).toBe(sub);
    // It subscribes its position like its own; the hook's `subscribed` frame came first, so the gap is history's, read once.
    expect(framesOf(server, "subscribe").map((frame) => frame.since)).toEqual([{ epoch: "epoch1", offset: 1 }]);
    expect(heldAlready).toEqual([true]);
    expect(framesOf(server, "history").map((frame) => frame.since)).toEqual([{ epoch: "epoch1", offset: 1 }]);
    expect(sub.position).toEqual({ epoch: "epoch1", offset: 5 });
    client.close();
  });

  it("one the server API made is subscribed again from its position after a reconnect, and recovers", async () => {
    const { server, client, announced, sub } = await apiMadeClient(transport);
    const seen = collect(sub);
    const subscribed: SubscribedEvent[] = [];
    sub.on("subscribed", (event) => subscribed.push(event));
    server.publish(API_MADE, 1);
    await until(() => seen.length === 1);

    // The server does not repeat what its API made: without the client's subscribe it would stay `subscribing`.
    await reconnectAfter(server, client, () => range(2, 4).forEach((n) => server.publish(API_MADE, n)));
    await until(() => seen.length === 4);
    server.publish(API_MADE, 5);
    await until(() => seen.length === 5);

    expect(seen).toEqual(range(1, 5));
    expect(subscribed).toEqual([{ channel: API_MADE, position: { epoch: "epoch1", offset: 1 }, resubscribed: true, recovered: true }]);
    expect(framesOf(server, "subscribe").map((frame) => [frame.channel, frame.since])).toEqual([[API_MADE, { epoch: "epoch1", offset: 1 }]]);
    expect(framesOf(server, "history")).toEqual([]);
    expect(sub.state).toBe("subscribed");
    expect(sub.origin).toBe("server");
    expect(announced).toEqual([sub]);
    client.close();
  });

  it("an already_subscribed without the hook's `subscribed` frame before it is a refusal", async () => {
    const { server, client, announced, sub } = await apiMadeClient(transport);
    const ended: UnsubscribedEvent[] = [];
    sub.on("unsubscribed", (event) => ended.push(event));
    sub.on("error", () => undefined);
    server.intercept = (session, frame) => {
      if (frame.type !== "subscribe") {
        return false;
      }
      session.send({ type: "reply", id: frame.id, error: { code: "already_subscribed", message: "Already subscribed." } });
      return true;
    };

    await reconnectAfter(server, client, () => undefined);
    await until(() => ended.length === 1);

    expect(ended[0]).toMatchObject({ channel: API_MADE, by: "server", code: "already_subscribed" });
    expect(client.getSubscription(API_MADE)).toBeUndefined();
    client.close();
  });
});

describe("the gap fill", () => {
  it("pages through history while each page is full", async () => {
    const { server, client, seen } = await hookedClient("websocket", (s) => (s.historySize = 1000));
    server.publish(HOOKED, 0);
    await until(() => seen.length === 1);

    await reconnectAfter(server, client, () => range(1, 250).forEach((n) => server.publish(HOOKED, n)));
    await until(() => seen.length === 251);

    expect(seen).toEqual(range(0, 250));
    expect(framesOf(server, "history").map((frame) => [(frame.since as { offset: number }).offset, frame.limit]))
      .toEqual([[1, 100], [101, 100], [201, 100]]);
    client.close();
  });

  it("holds live messages that arrive during the history read, and drops the overlap", async () => {
    const { server, client, seen } = await hookedClient();
    server.publish(HOOKED, 1);
    await until(() => seen.length === 1);
    const held: [FakeSession, Frame][] = [];
    server.intercept = (session, frame) => {
      if (frame.type !== "history") {
        return false;
      }
      held.push([session, frame]);
      return true;
    };

    await reconnectAfter(server, client, () => range(2, 3).forEach((n) => server.publish(HOOKED, n)));
    await until(() => held.length === 1);
    server.publish(HOOKED, 4);
    server.publish(HOOKED, 5);
    await pass(50);
    expect(seen).toEqual([1]);
    // The history reply reads 2..5 (the live 4 and 5 were stored first); 4 and 5 are not delivered twice.
    server.intercept = null;
    server.process(...held[0]!);
    await until(() => seen.length >= 5);
    server.publish(HOOKED, 6);
    await until(() => seen.length >= 6);
    await pass(50);

    expect(seen).toEqual(range(1, 6));
    client.close();
  });

  it("reports missed publications when history no longer reaches back to the client's position", async () => {
    const { server, client, seen, missed, sub } = await hookedClient("websocket", (s) => (s.historySize = 2));
    server.publish(HOOKED, 1);
    await until(() => seen.length === 1);

    await reconnectAfter(server, client, () => range(2, 6).forEach((n) => server.publish(HOOKED, n)));
    await until(() => missed.length === 1);
    server.publish(HOOKED, 7);
    await until(() => seen.length === 2);

    expect(missed).toEqual([{ channel: HOOKED, from: { epoch: "epoch1", offset: 1 }, position: { epoch: "epoch1", offset: 6 } }]);
    expect(seen).toEqual([1, 7]);
    expect(sub.state).toBe("subscribed");
    client.close();
  });

  it("reports missed publications, without reading history, when the epoch changed", async () => {
    const { server, client, seen, missed } = await hookedClient();
    server.publish(HOOKED, "old");
    await until(() => seen.length === 1);

    server.restart();
    await until(() => missed.length === 1);
    server.publish(HOOKED, "new");
    await until(() => seen.length === 2);

    expect(missed[0]!.from).toEqual({ epoch: "epoch1", offset: 1 });
    expect(missed[0]!.position.epoch).not.toBe("epoch1");
    expect(seen).toEqual(["old", "new"]);
    expect(framesOf(server, "history")).toEqual([]);
    client.close();
  });

  it("starts again after a reconnect that cut the history read short", async () => {
    const { server, client, seen } = await hookedClient();
    server.publish(HOOKED, 1);
    await until(() => seen.length === 1);
    let swallow = true;
    server.intercept = (_session, frame) => frame.type === "history" && swallow;

    await reconnectAfter(server, client, () => range(2, 3).forEach((n) => server.publish(HOOKED, n)));
    await until(() => framesOf(server, "history").length === 1);
    swallow = false;
    await reconnectAfter(server, client, () => server.publish(HOOKED, 4));
    await until(() => seen.length === 4);
    await pass(50);

    expect(seen).toEqual(range(1, 4));
    expect(framesOf(server, "history").map((frame) => frame.since)).toEqual([{ epoch: "epoch1", offset: 1 }, { epoch: "epoch1", offset: 1 }]);
    client.close();
  });
});

describe("ending a server-made subscription", () => {
  it("unsubscribe() tells the server, and the next connect's hook makes a new one", async () => {
    const { server, client, sub, announced } = await hookedClient();

    await sub.unsubscribe();
    expect(framesOf(server, "unsubscribe")).toEqual([expect.objectContaining({ channel: HOOKED })]);
    expect(client.getSubscription(HOOKED)).toBeUndefined();
    expect(sub.ended).toEqual({ channel: HOOKED, by: "client" });

    await reconnectAfter(server, client, () => undefined);
    await until(() => announced.length === 2);
    expect(announced[1]).not.toBe(sub);
    expect(client.getSubscription(HOOKED)).toBe(announced[1]);
    client.close();
  });

  it("an unsubscribed frame ends it with the server's code and reason", async () => {
    const { server, client, sub } = await hookedClient();
    const ended: UnsubscribedEvent[] = [];
    sub.on("unsubscribed", (event) => ended.push(event));
    sub.on("error", () => undefined);

    server.session().serverUnsubscribe(HOOKED, "banned", "Moderated by an admin.");
    await until(() => ended.length === 1);

    expect(ended[0]).toMatchObject({ channel: HOOKED, by: "server", code: "banned", reason: "Moderated by an admin." });
    expect(ended[0]!.error!.code).toBe("banned");
    expect(sub.state).toBe("unsubscribed");
    expect(sub.ended).toMatchObject({ by: "server", code: "banned", reason: "Moderated by an admin." });
    expect(client.getSubscription(HOOKED)).toBeUndefined();
    client.close();
  });

  it("a channel the application subscribed to that the connect hook subscribes too goes on, with its gap filled", async () => {
    const server = new FakeServer();
    const client = clientFor(server);
    const sub = client.subscribe(HOOKED);
    const seen = collect(sub);
    const errors: unknown[] = [];
    sub.on("error", (error) => errors.push(error));
    await client.connect();
    await sub.ready();
    server.publish(HOOKED, 1);
    await until(() => seen.length === 1);

    server.connectChannels = [HOOKED];
    await reconnectAfter(server, client, () => server.publish(HOOKED, 2));
    await until(() => seen.length === 2);
    await pass(50);

    // The hook's `subscribed` comes before the client's subscribe, which the server refuses as already_subscribed.
    expect(seen).toEqual([1, 2]);
    expect(errors).toEqual([]);
    expect(sub.state).toBe("subscribed");
    expect(client.getSubscription(HOOKED)).toBe(sub);
    client.close();
  });
});

describe("the server's disconnect", () => {
  it.each([
    [4000, "The node is shutting down.", true, "reconnecting"],
    [4500, "Banned.", false, "closed"],
  ])("%s surfaces its code and reason, and whether the client reconnects", async (code, reason, reconnect, state) => {
    const { server, client } = await subscribedToLobby();
    const disconnected: DisconnectedEvent[] = [];
    client.on("disconnected", (event) => disconnected.push(event));
    client.on("error", () => undefined);

    server.session().disconnect(code, reason, reconnect);
    await until(() => disconnected.length === 1);

    expect(disconnected[0]).toMatchObject({ code, reason, reconnect });
    expect(disconnected[0]!.error.disconnectCode).toBe(code);
    expect(disconnected[0]!.error.disconnectReason).toBe(reason);
    expect(client.state).toBe(state);
    client.close();
  });

  it("a dropped connection has no code, and the client reconnects", async () => {
    const { server, client } = await subscribedToLobby({ transports: ["long-polling"] });
    const disconnected: DisconnectedEvent[] = [];
    client.on("disconnected", (event) => disconnected.push(event));

    server.dropAll();
    await until(() => disconnected.length === 1);

    expect(disconnected[0]).toMatchObject({ code: null, reason: "", reconnect: true });
    client.close();
  });
});
