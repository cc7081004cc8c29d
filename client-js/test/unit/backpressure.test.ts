import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeServer } from "../fakes/FakeServer.js";
import { clientFor, pass, until, useFakeClock } from "./helpers.js";

beforeEach(useFakeClock);
afterEach(() => vi.useRealTimers());

describe("batching", () => {
  it("sends the frames queued in one tick as one WebSocket message", async () => {
    const server = new FakeServer();
    const client = clientFor(server);
    await client.connect();
    const socket = server.sockets[0]!;
    const before = socket.sent.length;

    const all = Promise.all([1, 2, 3].map((n) => client.publish("chat/a", n)));
    await all;

    expect(socket.sent.length).toBe(before + 1);
    const lines = socket.sent[before]!.split("\n").map((line) => JSON.parse(line) as { data: number });
    expect(lines.map((frame) => frame.data)).toEqual([1, 2, 3]);
    client.close();
  });

  it("splits batches at the server's message size limit", async () => {
    const server = new FakeServer();
    server.maxMessageSize = 200;
    const client = clientFor(server);
    await client.connect();
    const socket = server.sockets[0]!;
    const before = socket.sent.length;

    await Promise.all([1, 2, 3, 4].map((n) => client.publish("chat/a", "x".repeat(60) + n)));

    const messages = socket.sent.slice(before);
    expect(messages.length).toBeGreaterThan(1);
    for (const message of messages) {
      expect(new TextEncoder().encode(message).length).toBeLessThanOrEqual(200);
    }
    expect(messages.join("\n").split("\n")).toHaveLength(4);
    client.close();
  });

  it.each(["sse", "long-polling"] as const)("over %s, keeps one /send in flight and batches what queued meanwhile", async (transport) => {
    const server = new FakeServer();
    const client = clientFor(server, { transports: [transport] });
    await client.connect();
    const sends = () => server.requests.filter((r) => r.path.endsWith("/send"));

    const first = client.publish("chat/a", 1);
    await Promise.resolve();
    await Promise.resolve();
    const rest = [2, 3, 4].map((n) => client.publish("chat/a", n));
    await Promise.all([first, ...rest]);

    expect(sends().map((r) => r.body.split("\n").length)).toEqual([1, 3]);
    expect(sends()[1]!.headers.get("Content-Type")).toBe("text/plain;charset=UTF-8");
    expect(sends()[1]!.query.get("session")).toBe(server.session().id);
    client.close();
  });
});

describe("backpressure", () => {
  it("holds frames while the socket's buffer is full, then sends control frames before publishes", async () => {
    const server = new FakeServer();
    const client = clientFor(server, { sendBufferLimit: 1000 });
    const sub = client.subscribe("chat/a");
    await client.connect();
    await sub.ready();
    const socket = server.sockets[0]!;
    const before = socket.sent.length;

    socket.bufferedAmount = 5000;
    const publishes = [1, 2].map((n) => client.publish("chat/a", n));
    server.session().send({ type: "ping" });
    const second = client.subscribe("chat/b");
    await pass(100);
    expect(socket.sent.length).toBe(before);

    socket.bufferedAmount = 0;
    await pass(20);
    await Promise.all([...publishes, second.ready()]);

    const types = socket.sent.slice(before).join("\n").split("\n").map((line) => (JSON.parse(line) as { type: string }).type);
    // Control frames (in their own order) before the publishes that were queued earlier.
    expect(types).toEqual(["subscribe", "pong", "publish", "publish"]);
    client.close();
  });

  it("a large publish does not delay a pong: the pong overtakes publishes still queued", async () => {
    const server = new FakeServer();
    const client = clientFor(server, { sendBufferLimit: 100 });
    await client.connect();
    const socket = server.sockets[0]!;
    socket.onSend = null;
    const big = "y".repeat(30_000);
    // The socket never drains in this test: each send leaves its bytes buffered.
    const original = socket.send.bind(socket);
    socket.send = (data: string) => {
      original(data);
      socket.bufferedAmount += data.length;
    };

    void client.publish("chat/a", big).catch(() => undefined);
    void client.publish("chat/a", big).catch(() => undefined);
    await pass(0);
    server.session().send({ type: "ping" });
    await pass(0);
    expect(socket.sent).toHaveLength(1);

    socket.bufferedAmount = 0;
    await pass(20);

    expect(JSON.parse(socket.sent[1]!.split("\n")[0]!)).toEqual({ type: "pong" });
    client.close();
  });
});
