import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { PubSubError } from "../../src/PubSubError.js";
import type { MissedEvent, SubscribedEvent, TransportName } from "../../src/types.js";
import { FakeServer } from "../fakes/FakeServer.js";
import { clientFor, collect, pass, range, subscribedToLobby, until, useFakeClock } from "./helpers.js";

beforeEach(useFakeClock);
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

const transports: TransportName[] = ["websocket", "sse", "long-polling"];

describe.each(transports)("reconnect and recovery over %s", (transport) => {
  it("recovers every publication missed while disconnected, once each and in order", async () => {
    const { server, client, sub, seen } = await subscribedToLobby({ transports: [transport] });
    for (const n of range(1, 3)) server.publish("chat/lobby", n);
    await until(() => seen.length === 3);

    server.goDown();
    await until(() => client.state === "reconnecting");
    for (const n of range(4, 8)) server.publish("chat/lobby", n);
    server.up();
    await until(() => client.state === "connected");
    for (const n of range(9, 10)) server.publish("chat/lobby", n);
    await until(() => seen.length >= 10);
    await pass(100);

    expect(seen).toEqual(range(1, 10));
    const resubscribe = server.session().received.find((f) => f.type === "subscribe");
    expect(resubscribe!.since).toEqual({ epoch: "epoch1", offset: 3 });
    expect(sub.position).toEqual({ epoch: "epoch1", offset: 10 });
    client.close();
  });

  it("keeps reconnecting while a stopping node ends each new session with its connected frame, then recovers", async () => {
    const { server, client, seen } = await subscribedToLobby({ transports: [transport] });
    server.publish("chat/lobby", 1);
    await until(() => seen.length === 1);

    server.closeNewSessions = { code: 4000, reason: "The node is shutting down." };
    server.session().disconnect(4000, "The node is shutting down.", true);
    // Two sessions the stopping node ended as it opened them: the client went on after the first.
    await until(() => server.sessions.length >= 3);
    server.closeNewSessions = null;
    server.publish("chat/lobby", 2);
    await until(() => seen.length === 2);

    expect(seen).toEqual([1, 2]);
    expect(client.state).toBe("connected");
    client.close();
  });

  it("tells the subscription it missed publications when history no longer covers the gap", async () => {
    const server = new FakeServer();
    server.historySize = 2;
    const client = clientFor(server, { transports: [transport] });
    const sub = client.subscribe("chat/lobby");
    const seen = collect(sub);
    const missed: MissedEvent[] = [];
    const subscribed: SubscribedEvent[] = [];
    sub.on("missed", (event) => missed.push(event));
    sub.on("subscribed", (event) => subscribed.push(event));
    await client.connect();
    await sub.ready();
    server.publish("chat/lobby", 1);
    await until(() => seen.length === 1);

    server.goDown();
    await until(() => client.state === "reconnecting");
    for (const n of range(2, 6)) server.publish("chat/lobby", n);
    server.up();
    await until(() => missed.length === 1);
    server.publish("chat/lobby", 7);
    await until(() => seen.length === 2);

    expect(missed[0]).toEqual({ channel: "chat/lobby", from: { epoch: "epoch1", offset: 1 }, position: { epoch: "epoch1", offset: 6 } });
    expect(subscribed.map((e) => [e.resubscribed, e.recovered])).toEqual([[false, undefined], [true, false]]);
    expect(seen).toEqual([1, 7]);
    client.close();
  });

  it("adopts the new epoch after a server restart that lost history", async () => {
    const server = new FakeServer();
    const client = clientFor(server, { transports: [transport] });
    const sub = client.subscribe("chat/lobby");
    const seen = collect(sub);
    const missed: MissedEvent[] = [];
    sub.on("missed", (event) => missed.push(event));
    await client.connect();
    await sub.ready();
    server.publish("chat/lobby", "old");
    await until(() => seen.length === 1);

    server.restart();
    await until(() => missed.length === 1);
    server.publish("chat/lobby", "new");
    await until(() => seen.length === 2);

    expect(missed[0]!.position.epoch).not.toBe(missed[0]!.from.epoch);
    expect(seen).toEqual(["old", "new"]);
    client.close();
  });
});

describe("live gaps", () => {
  /** A client subscribed to chat/gap that has seen publications 1..n. */
  async function caughtUp(n: number) {
    const server = new FakeServer();
    const client = clientFor(server);
    const sub = client.subscribe("chat/gap");
    const seen = collect(sub);
    const missed: MissedEvent[] = [];
    sub.on("missed", (event) => missed.push(event));
    await client.connect();
    await sub.ready();
    for (const i of range(1, n)) server.publish("chat/gap", i);
    await until(() => seen.length === n);
    return { server, client, sub, seen, missed, epoch: server.position("chat/gap").epoch };
  }

  it("reports publications the server lost while the subscription was live, and goes on", async () => {
    const { server, client, sub, seen, missed, epoch } = await caughtUp(2);

    // The node lost 3..5: it says so, then goes on with 6.
    server.session().send({ type: "subscribed", channel: "chat/gap", epoch, offset: 5, recovered: false });
    server.session().send({ type: "message", channel: "chat/gap", epoch, offset: 6, data: 6 });
    await until(() => seen.length === 3);

    expect(missed).toEqual([{ channel: "chat/gap", from: { epoch, offset: 2 }, position: { epoch, offset: 5 } }]);
    expect(seen).toEqual([1, 2, 6]);
    expect(sub.position).toEqual({ epoch, offset: 6 });
    client.close();
  });

  it("ignores a gap report it is already past", async () => {
    const { server, client, missed, epoch } = await caughtUp(4);

    server.session().send({ type: "subscribed", channel: "chat/gap", epoch, offset: 3, recovered: false });
    await pass(10);

    expect(missed).toEqual([]);
    client.close();
  });
});

describe("long-polling", () => {
  it("acknowledges by the count of frames received", async () => {
    const { server, client, sub, seen } = await subscribedToLobby({ transports: ["long-polling"] });
    server.publish("chat/lobby", 1);
    server.publish("chat/lobby", 2);
    await until(() => seen.length === 2);
    await pass(0);

    const acks = server.requests.filter((r) => r.path.endsWith("/poll")).map((r) => r.query.get("ack"));
    // connected (1), the subscribe reply (2), two messages (4); the order of delivery decides the rest.
    expect(acks[0]).toBeNull();
    expect(acks.at(-1)).toBe("4");
    const numeric = acks.slice(1).map(Number);
    expect(numeric).toEqual([...numeric].sort((a, b) => a - b));
    client.close();
  });

  it("re-polls with the same ack when a response is lost, and delivers the re-sent frames once", async () => {
    const { server, client, sub, seen } = await subscribedToLobby({ transports: ["long-polling"] });
    await pass(0);

    server.losePollResponses = 1;
    server.publish("chat/lobby", 1);
    server.publish("chat/lobby", 2);
    await until(() => seen.length === 2);
    server.publish("chat/lobby", 3);
    await until(() => seen.length === 3);
    await pass(100);

    expect(seen).toEqual([1, 2, 3]);
    const polls = server.requests.filter((r) => r.path.endsWith("/poll")).map((r) => r.query.get("ack"));
    const repeated = polls.filter((ack, i) => i > 0 && ack === polls[i - 1]);
    expect(repeated.length).toBeGreaterThanOrEqual(1);
    expect(server.sessions).toHaveLength(1);
    client.close();
  });

  it("reconnects and recovers when the session is gone (404 session_not_found)", async () => {
    const { server, client, sub, seen } = await subscribedToLobby({ transports: ["long-polling"] });
    server.publish("chat/lobby", 1);
    await until(() => seen.length === 1);

    // The session's node died: its state is gone, and the next poll gets 404.
    server.session().drop();
    server.publish("chat/lobby", 2);
    await until(() => seen.length === 2);

    expect(seen).toEqual([1, 2]);
    expect(server.sessions).toHaveLength(2);
    client.close();
  });

  it("reconnects when /send says the session is gone", async () => {
    const server = new FakeServer();
    const client = clientFor(server, { transports: ["sse"], publishRetries: 0 });
    await client.connect();
    const first = server.session();
    first.closed = true;

    const result = await client.publish("chat/a", 1).catch((e: PubSubError) => e);

    expect((result as PubSubError).code).toBe("connection_lost");
    await until(() => client.state === "connected" && server.openSessions().length === 1);
    expect(server.session()).not.toBe(first);
    client.close();
  });
});

describe("requests across reconnects", () => {
  it("fails a publish whose connection dropped after it was sent with connection_lost (retries off)", async () => {
    const server = new FakeServer();
    server.intercept = (_session, frame) => frame.type === "publish";
    const client = clientFor(server, { publishRetries: 0 });
    await client.connect();

    const publish = client.publish("chat/a", 1).catch((e: PubSubError) => e);
    await pass(0);
    server.dropAll();

    expect(((await publish) as PubSubError).code).toBe("connection_lost");
    client.close();
  });

  it("sends a publish made while reconnecting once connected again", async () => {
    const server = new FakeServer();
    const client = clientFor(server);
    await client.connect();
    server.goDown();
    await until(() => client.state === "reconnecting");

    const publish = client.publish("chat/a", "later");
    await pass(3_000);
    expect(client.state).toBe("reconnecting");
    server.up();
    await until(() => client.state === "connected");

    await expect(publish).resolves.toEqual({ epoch: "epoch1", offset: 1 });
    client.close();
  });

  it("close() fails pending requests with 'closed' and keeps subscriptions for the next connect", async () => {
    const server = new FakeServer();
    server.intercept = (_session, frame) => frame.type === "publish";
    const client = clientFor(server);
    const sub = client.subscribe("chat/a");
    const seen = collect(sub);
    await client.connect();
    await sub.ready();
    server.publish("chat/a", 1);
    await until(() => seen.length === 1);
    const publish = client.publish("chat/a", 1).catch((e: PubSubError) => e);
    await pass(0);

    client.close();
    expect(((await publish) as PubSubError).code).toBe("closed");
    expect(sub.state).toBe("subscribing");

    server.publish("chat/a", 2);
    server.intercept = null;
    await client.connect();
    await until(() => seen.length === 2);
    expect(seen).toEqual([1, 2]);
    client.close();
  });
});
