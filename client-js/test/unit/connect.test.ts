import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { PubSubError } from "../../src/PubSubError.js";
import type { StateChange } from "../../src/types.js";
import { FakeServer } from "../fakes/FakeServer.js";
import { MemoryStorage, clientFor, pass, until, useFakeClock } from "./helpers.js";

beforeEach(useFakeClock);
afterEach(() => vi.useRealTimers());

describe("transport selection", () => {
  it("negotiates first, then connects over WebSocket and reports the transport in the state", async () => {
    const server = new FakeServer();
    const client = clientFor(server);
    const states: StateChange[] = [];
    client.on("state", (change) => states.push(change));

    await client.connect();

    expect(server.requests[0]!.path).toBe("/pubsub/negotiate");
    expect(client.state).toBe("connected");
    expect(client.transport).toBe("websocket");
    expect(client.session).toBe(server.session().id);
    expect(server.sockets[0]!.url).toBe("ws://fake.test/pubsub/ws");
    expect(server.sockets[0]!.protocols).toBe("pubsub.json");
    expect(states.map((s) => [s.state, s.transport])).toEqual([["connecting", null], ["connected", "websocket"]]);
    client.close();
  });

  it("falls back to JSON with one log line when the server does not offer msgpack", async () => {
    const server = new FakeServer();
    const warnings: string[] = [];
    const client = clientFor(server, { encoding: "msgpack", logger: { warn: (message) => warnings.push(message) } });

    await client.connect();
    server.session().drop();
    await until(() => server.sessions.length === 2 && client.state === "connected");

    expect(server.sockets.map((socket) => socket.protocols)).toEqual(["pubsub.json", "pubsub.json"]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("does not offer the 'msgpack' encoding (it offers json); this client uses JSON");
    client.close();
  });

  it("refuses an encoding it does not know", () => {
    expect(() => clientFor(new FakeServer(), { encoding: "cbor" as never })).toThrowError(/Unknown encoding 'cbor'/);
  });

  it("skips the transports the server does not offer", async () => {
    const server = new FakeServer(["sse", "long-polling"]);
    const client = clientFor(server);

    await client.connect();

    expect(client.transport).toBe("sse");
    expect(server.sockets).toHaveLength(0);
    client.close();
  });

  it("tries the client's transports in the client's order", async () => {
    const server = new FakeServer();
    const client = clientFor(server, { transports: ["long-polling", "websocket"] });

    await client.connect();

    expect(client.transport).toBe("long-polling");
    client.close();
  });

  it("falls back to SSE when the WebSocket is refused, and reports the failure as an error event", async () => {
    const server = new FakeServer();
    server.ws = "refuse";
    const client = clientFor(server);
    const errors: PubSubError[] = [];
    client.on("error", (error) => errors.push(error));

    await client.connect();

    expect(client.transport).toBe("sse");
    expect(errors.map((e) => e.code)).toEqual(["transport_failed"]);
    expect(errors[0]!.message).toContain("1006");
    client.close();
  });

  it("falls back when a WebSocket opens but never delivers 'connected' (a proxy that swallows it), after a timeout derived from the round trip", async () => {
    const server = new FakeServer();
    server.ws = "silent";
    const client = clientFor(server);
    const connecting = client.connect();

    // The fake network has a round trip of ~0 ms: SockJS's rto is 300 ms + rtt, times 2 round
    // trips for a WebSocket, raised to the 2000 ms floor.
    await pass(1_990);
    expect(server.eventSources).toHaveLength(0);
    expect(server.sockets[0]!.readyState).toBe(1);
    await pass(20);
    expect(server.eventSources).toHaveLength(1);
    await connecting;

    expect(client.transport).toBe("sse");
    expect(server.sockets[0]!.closedByClient).toBe(1000);
    client.close();
  });

  it("falls back to long-polling when SSE is silent too", async () => {
    const server = new FakeServer();
    server.ws = "silent";
    server.sse = "silent";
    const client = clientFor(server);

    const connecting = client.connect();
    await until(() => client.state === "connected");
    await connecting;

    expect(client.transport).toBe("long-polling");
    expect(server.eventSources[0]!.closedByClient).toBe(true);
    client.close();
  });

  it("remembers the transport that worked and starts from it next time", async () => {
    const storage = new MemoryStorage();
    const server = new FakeServer();
    server.ws = "refuse";
    const first = clientFor(server, { storage });
    await first.connect();
    first.close();
    expect([...storage.items.values()]).toEqual(["sse"]);

    const socketsBefore = server.sockets.length;
    const second = clientFor(server, { storage, probeInterval: 0 });
    await second.connect();

    expect(second.transport).toBe("sse");
    expect(server.sockets.length).toBe(socketsBefore);
    second.close();
  });

  it("forgets a remembered transport that failed", async () => {
    const storage = new MemoryStorage();
    storage.setItem("pubsub.transport http://fake.test/pubsub", "sse");
    const server = new FakeServer();
    server.sse = "refuse";
    const client = clientFor(server, { storage });

    await client.connect();

    expect(client.transport).toBe("websocket");
    expect([...storage.items.values()]).toEqual(["websocket"]);
    client.close();
  });

  it("keeps working when storage throws (a sandboxed frame)", async () => {
    const server = new FakeServer();
    const throwing = {
      getItem: () => { throw new Error("SecurityError"); },
      setItem: () => { throw new Error("SecurityError"); },
      removeItem: () => { throw new Error("SecurityError"); },
    };
    const client = clientFor(server, { storage: throwing });

    await client.connect();

    expect(client.transport).toBe("websocket");
    client.close();
  });

  it("fails for good when the server offers none of the client's transports", async () => {
    const server = new FakeServer(["long-polling"]);
    const client = clientFor(server, { transports: ["websocket", "sse"] });

    const error = await client.connect().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PubSubError);
    expect((error as PubSubError).code).toBe("no_transport");
    expect(client.state).toBe("closed");
    await pass(60_000);
    expect(server.requests.filter((r) => r.path.endsWith("/negotiate"))).toHaveLength(1);
  });

  it("fails for good when negotiate is refused (403)", async () => {
    const server = new FakeServer();
    server.negotiateStatus = 403;
    const client = clientFor(server);

    const error = (await client.connect().catch((e: unknown) => e)) as PubSubError;

    expect(error.code).toBe("forbidden");
    expect(error.status).toBe(403);
    expect(client.state).toBe("closed");
  });

  it("retries with backoff while the server is unavailable, and connects when it is back", async () => {
    const server = new FakeServer();
    server.negotiateStatus = 503;
    const client = clientFor(server);
    let connected = false;
    void client.connect().then(() => (connected = true));

    await pass(5_000);
    const attempts = server.requests.filter((r) => r.path.endsWith("/negotiate")).length;
    expect(attempts).toBeGreaterThan(1);
    expect(client.state).toBe("connecting");
    expect(connected).toBe(false);

    server.negotiateStatus = 200;
    await until(() => connected);
    expect(client.transport).toBe("websocket");
    client.close();
  });

  it("gives up after reconnect.maxAttempts failures", async () => {
    const server = new FakeServer();
    server.negotiateStatus = 503;
    const client = clientFor(server, { reconnect: { maxAttempts: 2, initialDelay: 100, maxDelay: 100 } });

    const result = client.connect().catch((e: unknown) => e);
    await pass(1_000);

    expect(((await result) as PubSubError).code).toBe("unavailable");
    expect(client.state).toBe("closed");
    expect(server.requests.filter((r) => r.path.endsWith("/negotiate"))).toHaveLength(3);
  });

  it("connects without negotiating when told to, trying its transports with a fixed timeout", async () => {
    const server = new FakeServer();
    server.ws = "silent";
    const client = clientFor(server, { negotiate: false });
    const connecting = client.connect();

    await pass(4_990);
    expect(server.eventSources).toHaveLength(0);
    await pass(20);
    await connecting;

    expect(server.requests.filter((r) => r.path.endsWith("/negotiate"))).toHaveLength(0);
    expect(client.transport).toBe("sse");
    client.close();
  });

  it("close() during connecting rejects connect() with 'closed' and stops trying", async () => {
    const server = new FakeServer();
    server.negotiateStatus = 503;
    const client = clientFor(server);
    const result = client.connect().catch((e: unknown) => e);
    await pass(10);

    client.close();

    expect(((await result) as PubSubError).code).toBe("closed");
    const attempts = server.requests.length;
    await pass(60_000);
    expect(server.requests.length).toBe(attempts);
  });
});

describe("credentials", () => {
  it("sends the token as a bearer header over HTTP and as access_token where headers are impossible", async () => {
    const server = new FakeServer();
    server.ws = "refuse";
    let calls = 0;
    const client = clientFor(server, { token: () => `t${++calls}`, transports: ["websocket", "sse"] });

    await client.connect();
    await client.publish("chat/a", 1);

    expect(server.requests[0]!.headers.get("Authorization")).toBe("Bearer t1");
    expect(new URL(server.sockets[0]!.url).searchParams.get("access_token")).toBe("t1");
    expect(new URL(server.eventSources[0]!.url).searchParams.get("access_token")).toBe("t1");
    const send = server.requests.find((r) => r.path.endsWith("/send"))!;
    expect(send.headers.get("Authorization")).toBe("Bearer t1");

    // A new token is asked for on each connect.
    server.dropAll();
    await until(() => client.state === "connected" && calls === 2);
    expect(server.requests.filter((r) => r.path.endsWith("/negotiate")).at(-1)!.headers.get("Authorization")).toBe("Bearer t2");
    client.close();
  });
});
