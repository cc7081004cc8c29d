// A connection's life: the disconnect codes the server ends it with, the backoff between attempts,
// the browser's "online" event, and the heartbeat watch on each transport.

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { PubSubError } from "../../src/PubSubError.js";
import type { StateChange } from "../../src/types.js";
import { FakeServer } from "../fakes/FakeServer.js";
import { clientFor, pass, until, useFakeClock } from "./helpers.js";

beforeEach(useFakeClock);
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe("disconnect codes", () => {
  it("does not reconnect when the server says so (4500), and closes with the reason", async () => {
    const server = new FakeServer();
    const client = clientFor(server);
    const states: StateChange[] = [];
    client.on("state", (change) => states.push(change));
    await client.connect();

    server.session().disconnect(4500, "Banned.", false);
    await until(() => client.state === "closed");
    await pass(60_000);

    expect(server.sockets).toHaveLength(1);
    const closed = states.at(-1)!;
    expect(closed.error!.code).toBe("disconnected");
    expect(closed.error!.disconnectCode).toBe(4500);
    expect(closed.error!.message).toContain("Banned.");
  });

  it("does not reconnect after a WebSocket close code in 4500-4999 even without a disconnect frame", async () => {
    const server = new FakeServer();
    const client = clientFor(server);
    await client.connect();

    server.sockets[0]!.drop(4501, "Protocol violation.");
    await until(() => client.state === "closed");
    await pass(60_000);

    expect(server.sockets).toHaveLength(1);
  });

  it.each([4000, 4001, 4002, 4003])("reconnects after disconnect code %i", async (code) => {
    const server = new FakeServer();
    const client = clientFor(server);
    await client.connect();

    const states: string[] = [];
    client.on("state", (change) => states.push(change.state));
    server.session().disconnect(code, "Go away for now.", true);
    await until(() => states.join() === "reconnecting,connected");

    expect(server.sockets).toHaveLength(2);
    client.close();
  });

  it("does not reconnect at all when reconnect is off", async () => {
    const server = new FakeServer();
    const client = clientFor(server, { reconnect: false });
    await client.connect();

    server.dropAll();
    await until(() => client.state === "closed");
    await pass(60_000);

    expect(server.sockets).toHaveLength(1);
  });
});

describe("backoff", () => {
  it("waits an exponentially growing, fully jittered delay between attempts", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0.5);
    const server = new FakeServer();
    const client = clientFor(server, { reconnect: { initialDelay: 1000, maxDelay: 8000 } });
    await client.connect();
    server.negotiateStatus = 503;
    server.dropAll();

    const attemptTimes: number[] = [];
    const start = Date.now();
    const count = (): number => server.requests.filter((r) => r.path.endsWith("/negotiate")).length;
    let seen = count();
    for (let elapsed = 0; elapsed < 40_000; elapsed += 10) {
      await pass(10);
      if (count() > seen) {
        seen = count();
        attemptTimes.push(Date.now() - start);
      }
    }
    const gaps = attemptTimes.map((t, i) => t - (attemptTimes[i - 1] ?? 0));

    // random() = 0.5: half of 1000, 2000, 4000, 8000, then the 8000 cap.
    expect(gaps.slice(0, 6)).toEqual([500, 1000, 2000, 4000, 4000, 4000]);
    client.close();
  });
});

describe("back online", () => {
  it("retries at once when the browser says it is online again, instead of waiting out the backoff", async () => {
    const window = new EventTarget();
    vi.stubGlobal("addEventListener", window.addEventListener.bind(window));
    vi.stubGlobal("removeEventListener", window.removeEventListener.bind(window));
    vi.spyOn(Math, "random").mockReturnValue(0.99);
    try {
      const server = new FakeServer();
      const client = clientFor(server, { reconnect: { initialDelay: 60_000, maxDelay: 60_000 } });
      await client.connect();
      server.goDown();
      await pass(100_000);
      expect(client.state).toBe("reconnecting");
      server.up();

      await pass(1_000);
      expect(client.state).toBe("reconnecting");
      window.dispatchEvent(new Event("online"));
      await pass(10);

      expect(client.state).toBe("connected");
      client.close();
    } finally {
      vi.unstubAllGlobals();
    }
  });
});

describe("heartbeat", () => {
  it("answers the server's pings with pong", async () => {
    const server = new FakeServer();
    const client = clientFor(server);
    await client.connect();

    server.session().send({ type: "ping" });
    await pass(0);

    expect(server.session().received).toContainEqual({ type: "pong" });
    client.close();
  });

  it("treats a WebSocket silent for longer than ping + margin as dead, and reconnects", async () => {
    const server = new FakeServer();
    server.ping = 2;
    const client = clientFor(server, { heartbeatMargin: 1000 });
    const errors: PubSubError[] = [];
    client.on("error", (error) => errors.push(error));
    await client.connect();

    await pass(2_990);
    expect(client.state).toBe("connected");
    await pass(20);

    expect(client.state).toBe("reconnecting");
    expect(errors.at(-1)!.code).toBe("timeout");
    await until(() => client.state === "connected");
    client.close();
  });

  it("counts any frame as life: a pinging server keeps the connection", async () => {
    const server = new FakeServer();
    server.ping = 2;
    const client = clientFor(server, { heartbeatMargin: 1000 });
    await client.connect();

    for (let i = 0; i < 10; i++) {
      await pass(2_000);
      server.session().send({ type: "ping" });
    }

    expect(server.sockets).toHaveLength(1);
    expect(client.state).toBe("connected");
    client.close();
  });

  it("on SSE, asks for a pong after `ping` seconds of silence (comments are invisible to EventSource)", async () => {
    const server = new FakeServer();
    server.ping = 2;
    const client = clientFor(server, { transports: ["sse"], heartbeatMargin: 1000 });
    await client.connect();

    await pass(2_100);
    const pings = server.session().received.filter((f) => f.type === "ping");
    expect(pings).toHaveLength(1);
    await pass(5_000);

    // The pongs kept it alive.
    expect(server.eventSources).toHaveLength(1);
    expect(client.state).toBe("connected");
    client.close();
  });

  it("on SSE, reconnects when the ping goes unanswered", async () => {
    const server = new FakeServer();
    server.ping = 2;
    server.intercept = (_session, frame) => frame.type === "ping";
    const client = clientFor(server, { transports: ["sse"], heartbeatMargin: 1000 });
    await client.connect();

    const states: string[] = [];
    client.on("state", (change) => states.push(change.state));
    await pass(2_990);
    expect(states).toEqual([]);
    await until(() => states.join() === "reconnecting,connected");
    expect(server.eventSources).toHaveLength(2);
    client.close();
  });
});
