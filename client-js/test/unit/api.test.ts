import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { PubSubError } from "../../src/PubSubError.js";
import type { Message, UnsubscribedEvent } from "../../src/types.js";
import { FakeServer } from "../fakes/FakeServer.js";
import { clientFor, collect, connected, pass, until, useFakeClock } from "./helpers.js";

beforeEach(useFakeClock);
afterEach(() => vi.useRealTimers());

describe("publish", () => {
  it("resolves with the publication's position", async () => {
    const { server, client } = await connected();

    await expect(client.publish("chat/a", { text: "hi" })).resolves.toEqual({ epoch: "epoch1", offset: 1 });
    await expect(client.publish("chat/a", [1, 2])).resolves.toEqual({ epoch: "epoch1", offset: 2 });

    const frames = server.session().received.filter((f) => f.type === "publish");
    expect(frames.map((f) => f.data)).toEqual([{ text: "hi" }, [1, 2]]);
    client.close();
  });

  it("sends bytes as a binary publication, and subscribers get bytes back", async () => {
    const { server, client } = await connected();
    const sub = client.subscribe("chat/bin");
    const seen = collect(sub);
    await sub.ready();

    await client.publish("chat/bin", new Uint8Array([0, 1, 2, 255]));
    await client.publish("chat/bin", new Uint8Array([7]).buffer);
    await client.publish("chat/bin", new Uint16Array([0x0201]).subarray(0, 1));
    await until(() => seen.length === 3);

    const frame = server.session().received.find((f) => f.type === "publish")!;
    expect(frame.binary).toBe("AAEC/w==");
    expect(frame).not.toHaveProperty("data");
    expect(seen[0]).toBeInstanceOf(Uint8Array);
    expect([...(seen[0] as Uint8Array)]).toEqual([0, 1, 2, 255]);
    expect([...(seen[1] as Uint8Array)]).toEqual([7]);
    // Any view travels as its bytes (little-endian here, as the platform stores them).
    expect([...(seen[2] as Uint8Array)]).toEqual([1, 2]);
    client.close();
  });

  it("rejects with the server's error code, and the client goes on", async () => {
    const { client } = await connected();

    const error = (await client.publish("news/x", 1).catch((e: unknown) => e)) as PubSubError;

    expect(error).toBeInstanceOf(PubSubError);
    expect(error.code).toBe("forbidden");
    await expect(client.publish("chat/x", 1)).resolves.toMatchObject({ offset: 1 });
    client.close();
  });

  it("rejects data that is not JSON, without sending anything", async () => {
    const { server, client } = await connected();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;

    for (const bad of [undefined, () => 1, cyclic, 10n]) {
      const error = (await client.publish("chat/x", bad).catch((e: unknown) => e)) as PubSubError;
      expect(error.code).toBe("bad_request");
    }
    await pass(0);
    expect(server.session().received.filter((f) => f.type === "publish")).toHaveLength(0);
    client.close();
  });

  it("rejects a frame larger than the server's limit before sending it", async () => {
    const server = new FakeServer();
    server.maxMessageSize = 1000;
    const client = clientFor(server);
    await client.connect();

    const error = (await client.publish("chat/x", "é".repeat(600)).catch((e: unknown) => e)) as PubSubError;

    expect(error.code).toBe("message_too_large");
    expect(error.message).toContain("1000");
    await expect(client.publish("chat/x", "small")).resolves.toMatchObject({ offset: 1 });
    client.close();
  });

  it("rejects with 'closed' when the client is not connected", async () => {
    const server = new FakeServer();
    const client = clientFor(server);

    const error = (await client.publish("chat/x", 1).catch((e: unknown) => e)) as PubSubError;

    expect(error.code).toBe("closed");
  });

  it("times out when no reply comes, taking back a request that was never sent", async () => {
    const { server, client } = await connected({ requestTimeout: 5_000 });
    server.intercept = (_session, frame) => frame.type === "publish";

    const sent = client.publish("chat/x", 1).catch((e: PubSubError) => e);
    await pass(5_000);
    const error = (await sent) as PubSubError;
    expect(error.code).toBe("timeout");
    expect(error.message).toContain("may or may not");

    server.goDown();
    await until(() => client.state === "reconnecting");
    const queued = client.publish("chat/x", 2).catch((e: PubSubError) => e);
    await pass(5_000);
    expect(((await queued) as PubSubError).message).toContain("it was not sent");
    server.up();
    server.intercept = null;
    await until(() => client.state === "connected");
    await pass(100);
    expect(server.session().received.filter((f) => f.type === "publish")).toHaveLength(0);
    client.close();
  });

  it("rejects with queue_full when too much waits to be sent", async () => {
    // Without retries a publish carries no idempotency key, so the frames' sizes are the data's.
    const { server, client } = await connected({ maxQueueBytes: 250, publishRetries: 0 });
    server.goDown();
    await until(() => client.state === "reconnecting");

    // Each frame is ~105 bytes: two fit in 250, the rest are refused at once.
    const outcomes: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      client.publish("chat/x", "x".repeat(50) + i).then((r) => outcomes.push(r), (e: unknown) => outcomes.push(e));
    }
    await Promise.resolve();
    const results = outcomes;

    expect(results.map((r) => (r as PubSubError).code)).toEqual(["queue_full", "queue_full", "queue_full"]);
    server.up();
    await until(() => outcomes.length === 5);
    expect(outcomes.slice(3)).toEqual([{ epoch: "epoch1", offset: 1 }, { epoch: "epoch1", offset: 2 }]);
    client.close();
  });
});

describe("subscriptions", () => {
  it("delivers messages of its channel only, with their position", async () => {
    const { server, client } = await connected();
    const sub = client.subscribe("chat/a");
    const messages: Message[] = [];
    sub.on("message", (m) => messages.push(m));
    await sub.ready();

    server.publish("chat/b", "other");
    server.publish("chat/a", "mine");
    await until(() => messages.length === 1);
    await pass(10);

    const epoch = server.position("chat/a").epoch;
    expect(messages).toEqual([{ channel: "chat/a", epoch, offset: 1, data: "mine" }]);
    expect(sub.state).toBe("subscribed");
    expect(sub.position).toEqual({ epoch, offset: 1 });
    client.close();
  });

  it("reports a refused subscribe with the server's code, and ends the subscription", async () => {
    const { client } = await connected();
    const sub = client.subscribe("nope/x");
    const errors: PubSubError[] = [];
    const ended: UnsubscribedEvent[] = [];
    sub.on("error", (e) => errors.push(e));
    sub.on("unsubscribed", (e) => ended.push(e));

    const error = (await sub.ready().catch((e: unknown) => e)) as PubSubError;

    expect(error.code).toBe("unknown_channel");
    expect(errors.map((e) => e.code)).toEqual(["unknown_channel"]);
    expect(ended).toEqual([{ channel: "nope/x", by: "server", code: "unknown_channel", reason: error.message, error }]);
    expect(sub.ended).toEqual(ended[0]);
    expect(sub.state).toBe("unsubscribed");
    expect(client.getSubscription("nope/x")).toBeUndefined();
    // The channel can be subscribed again, and other channels are unaffected.
    expect(() => client.subscribe("nope/x")).not.toThrow();
    await expect(client.subscribe("chat/ok").ready()).resolves.toBeUndefined();
    client.close();
  });

  it("reports a forbidden channel", async () => {
    const { client } = await connected();

    const error = (await client.subscribe("secret/x").ready().catch((e: unknown) => e)) as PubSubError;

    expect(error.code).toBe("forbidden");
    client.close();
  });

  it("subscribes made before connect() are sent once connected", async () => {
    const server = new FakeServer();
    const client = clientFor(server);
    const sub = client.subscribe("chat/a");
    expect(sub.state).toBe("subscribing");

    await client.connect();
    await sub.ready();

    expect(server.session().received.filter((f) => f.type === "subscribe")).toEqual([{ type: "subscribe", channel: "chat/a", id: 1 }]);
    client.close();
  });

  it("refuses a second subscription to the same channel", async () => {
    const { client } = await connected();
    client.subscribe("chat/a");

    expect(() => client.subscribe("chat/a")).toThrowError(expect.objectContaining({ code: "already_subscribed" }));
    client.close();
  });

  it("stops delivering after unsubscribe(), which the server confirms", async () => {
    const { server, client } = await connected();
    const sub = client.subscribe("chat/a");
    const seen = collect(sub);
    await sub.ready();
    server.publish("chat/a", 1);
    await until(() => seen.length === 1);

    await sub.unsubscribe();
    server.publish("chat/a", 2);
    await pass(10);

    expect(seen).toEqual([1]);
    expect(sub.state).toBe("unsubscribed");
    expect(server.session().subscriptions.has("chat/a")).toBe(false);
    client.close();
  });

  it("a re-subscribe right after unsubscribe does not get the old subscription's messages", async () => {
    const { server, client } = await connected();
    const first = client.subscribe("chat/a");
    await first.ready();
    server.publish("chat/a", 1);
    void first.unsubscribe();
    const second = client.subscribe("chat/a");
    const seen = collect(second);
    await second.ready();
    server.publish("chat/a", 2);
    await until(() => seen.length === 1);
    await pass(10);

    expect(seen).toEqual([2]);
    client.close();
  });

  it("resumes from a saved position with `since`", async () => {
    const { server, client } = await connected();
    for (let i = 1; i <= 5; i++) server.publish("chat/a", i);

    const sub = client.subscribe("chat/a", { since: { epoch: "epoch1", offset: 3 } });
    const seen = collect(sub);
    await until(() => seen.length === 2);

    expect(seen).toEqual([4, 5]);
    client.close();
  });

  it("ends a subscription the server ends (an 'unsubscribed' frame)", async () => {
    const { server, client } = await connected();
    const sub = client.subscribe("chat/a");
    const ended: UnsubscribedEvent[] = [];
    sub.on("unsubscribed", (e) => ended.push(e));
    await sub.ready();

    server.session().subscriptions.delete("chat/a");
    server.session().send({ type: "unsubscribed", channel: "chat/a", code: "forbidden", reason: "Access revoked." });
    await until(() => ended.length === 1);

    expect(ended[0]!.by).toBe("server");
    expect(ended[0]!.error!.code).toBe("forbidden");
    expect(ended[0]!.error!.message).toBe("Access revoked.");
    expect(client.getSubscriptions()).toEqual([]);
    client.close();
  });
});

describe("history", () => {
  it("returns publications with binary decoded", async () => {
    const { server, client } = await connected();
    server.publish("chat/h", { n: 1 });
    server.publish("chat/h", undefined, "AQI=");

    const page = await client.history("chat/h", { limit: 10 });

    expect(page.epoch).toBe("epoch1");
    expect(page.offset).toBe(2);
    expect(page.publications[0]).toEqual({ offset: 1, data: { n: 1 } });
    expect([...(page.publications[1]!.data as Uint8Array)]).toEqual([1, 2]);
    const frame = server.session().received.find((f) => f.type === "history")!;
    expect(frame.limit).toBe(10);
    client.close();
  });

  it("rejects with epoch_mismatch", async () => {
    const { server, client } = await connected();
    server.publish("chat/h", 1);

    const error = (await client.history("chat/h", { since: { epoch: "old", offset: 0 } }).catch((e: unknown) => e)) as PubSubError;

    expect(error.code).toBe("epoch_mismatch");
    client.close();
  });
});

describe("transient subscribe failures", () => {
  it("keeps a subscription the server could not take now (unavailable), and subscribes again after a delay", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0.5);
    try {
      const { server, client } = await connected();
      let refusals = 2;
      server.intercept = (session, frame) => {
        if (frame.type === "subscribe" && refusals > 0) {
          refusals--;
          session.send({ type: "reply", id: frame.id, error: { code: "unavailable", message: "The broker is unreachable." } });
          return true;
        }
        return false;
      };
      const sub = client.subscribe("chat/a");
      const errors: PubSubError[] = [];
      sub.on("error", (e) => errors.push(e));
      const seen = collect(sub);

      await pass(10);
      expect(errors.map((e) => e.code)).toEqual(["unavailable"]);
      expect(sub.state).toBe("subscribing");
      // Backoff with random() = 0.5: 500 ms, then 1000 ms.
      await pass(500);
      expect(errors).toHaveLength(2);
      await pass(1_000);
      await sub.ready();
      server.publish("chat/a", "made it");
      await until(() => seen.length === 1);

      expect(server.session().received.filter((f) => f.type === "subscribe")).toHaveLength(3);
      expect(client.getSubscription("chat/a")).toBe(sub);
      client.close();
    } finally {
      vi.restoreAllMocks();
    }
  });
});

describe("close", () => {
  for (const transport of ["sse", "long-polling"] as const) {
    it(`tells the server over ${transport} that the session is over, so it does not wait out a grace period`, async () => {
      const { server, client } = await connected({ transports: [transport] });
      const session = server.sessions[0]!;

      client.close();
      await until(() => session.received.some((frame) => frame.type === "close"));

      expect(session.closed).toBe(true);
    });
  }
});
