// Publish idempotency keys and retries (docs/protocol.md, sections 2.2 and 2.7), against the fake server.

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { isRetriable, newIdempotencyKey } from "../../src/Publisher.js";
import { PubSubError } from "../../src/PubSubError.js";
import { FakeServer } from "../fakes/FakeServer.js";
import type { Frame } from "../fakes/FakeChannels.js";
import { clientFor, connected, pass, until, useFakeClock } from "./helpers.js";

beforeEach(useFakeClock);
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

/** Lets fake time pass until the promise settles; its value, or its error. */
async function outcome<T>(promise: Promise<T>): Promise<T | PubSubError> {
  let done = false;
  const settled = promise.then((value) => value, (error: PubSubError) => error).finally(() => (done = true));
  await until(() => done);
  return settled;
}

function publishes(server: FakeServer): Frame[] {
  return server.sessions.flatMap((session) => session.received.filter((frame) => frame.type === "publish"));
}

/** The channel's history, read from the fake server as a back-end would. */
function stored(server: FakeServer, channel: string): unknown[] {
  const frames: Frame[] = [];
  server.channels.handle({ send: (frame: Frame) => frames.push(frame), subscriptions: new Set() } as never, { type: "history", id: 1, channel });
  return ((frames[0]!.result as Frame).publications as Frame[]).map((publication) => publication.data);
}

describe("idempotency keys", () => {
  it("makes up a 22-character base64url key for each publish while retries are on", async () => {
    const { server, client } = await connected();

    await client.publish("chat/a", 1);
    await client.publish("chat/a", 2);

    const keys = publishes(server).map((frame) => frame.idempotencyKey as string);
    expect(keys).toHaveLength(2);
    for (const key of keys) {
      expect(key).toMatch(/^[A-Za-z0-9_-]{22}$/);
    }
    expect(keys[0]).not.toBe(keys[1]);
    expect(new Set(Array.from({ length: 1000 }, newIdempotencyKey)).size).toBe(1000);
    client.close();
  });

  it("sends the application's key as it is, and none of its own when retries are off", async () => {
    const { server, client } = await connected({ publishRetries: 0 });

    await client.publish("chat/a", 1, { idempotencyKey: "order-17" });
    await client.publish("chat/a", 2);

    expect(publishes(server).map((frame) => frame.idempotencyKey)).toEqual(["order-17", undefined]);
    expect(publishes(server)[1]).not.toHaveProperty("idempotencyKey");
    client.close();
  });

  it.each([
    ["empty", ""],
    ["over 128 characters", "k".repeat(129)],
    ["not a string", 17 as unknown as string],
  ])("rejects a key that is %s with bad_request, and sends nothing", async (_name, key) => {
    const { server, client } = await connected();

    const error = (await client.publish("chat/a", 1, { idempotencyKey: key }).catch((e: unknown) => e)) as PubSubError;
    await pass(10);

    expect(error).toBeInstanceOf(PubSubError);
    expect(error.code).toBe("bad_request");
    expect(error.message).toMatch(/idempotencyKey must be a string of 1–128 characters/);
    expect(publishes(server)).toEqual([]);
    client.close();
  });

  it("takes a key of 128 characters", async () => {
    const { server, client } = await connected();

    await client.publish("chat/a", 1, { idempotencyKey: "k".repeat(128) });

    expect(publishes(server)[0]!.idempotencyKey).toBe("k".repeat(128));
    client.close();
  });

  it("refuses a negative publishRetries", () => {
    expect(() => clientFor(new FakeServer(), { publishRetries: -1 })).toThrowError(/publishRetries/);
  });
});

describe("retries", () => {
  it("sends a publish whose connection dropped before the reply again after the reconnect, with the same key; it is stored once", async () => {
    const server = new FakeServer();
    // The server stores the publish, but its reply is lost with the connection.
    server.intercept = (session, frame) => {
      if (frame.type !== "publish" || publishes(server).length > 1) {
        return false;
      }
      server.intercept = null;
      server.process(session, { ...frame, id: undefined });
      session.drop();
      return true;
    };
    const client = clientFor(server);
    await client.connect();

    const position = await outcome(client.publish("chat/a", "once"));

    const [first, second] = publishes(server);
    expect(second!.idempotencyKey).toBe(first!.idempotencyKey);
    expect(position).toEqual({ epoch: "epoch1", offset: 1 });
    expect(stored(server, "chat/a")).toEqual(["once"]);
    expect(server.sessions).toHaveLength(2);
    client.close();
  });

  it.each(["unavailable", "timeout", "internal"])("sends a publish the server answered with %s again after a short backoff", async (code) => {
    const { server, client } = await connected();
    let refusals = 2;
    server.intercept = (session, frame) => {
      if (frame.type === "publish" && refusals-- > 0) {
        session.send({ type: "reply", id: frame.id, error: { code, message: "The broker is away." } });
        return true;
      }
      return false;
    };

    const position = await outcome(client.publish("chat/a", "x"));

    expect(position).toEqual({ epoch: "epoch1", offset: 1 });
    expect(new Set(publishes(server).map((frame) => frame.idempotencyKey)).size).toBe(1);
    expect(publishes(server)).toHaveLength(3);
    client.close();
  });

  it.each([
    ["forbidden", "news/today"],
    ["unknown_channel", "nope/x"],
  ])("never sends a refused publish (%s) again", async (code, channel) => {
    const { server, client } = await connected();

    const error = (await client.publish(channel, 1).catch((e: unknown) => e)) as PubSubError;
    await pass(5_000);

    expect(error.code).toBe(code);
    expect(publishes(server)).toHaveLength(1);
    client.close();
  });

  it("gives up after publishRetries more attempts, with the last error", async () => {
    const { server, client } = await connected({ publishRetries: 2 });
    server.intercept = (session, frame) => {
      session.send({ type: "reply", id: frame.id, error: { code: "unavailable", message: "Still away." } });
      return frame.type === "publish";
    };

    const error = (await outcome(client.publish("chat/a", 1))) as PubSubError;

    expect(error.code).toBe("unavailable");
    expect(publishes(server)).toHaveLength(3);
    client.close();
  });

  it("settles within requestTimeout of the first send, however many retries are left", async () => {
    const { server, client } = await connected({ publishRetries: 1000, requestTimeout: 3_000 });
    server.intercept = (session, frame) => {
      session.send({ type: "reply", id: frame.id, error: { code: "unavailable", message: "Still away." } });
      return frame.type === "publish";
    };
    const started = Date.now();
    let settled = -1;

    const publish = client.publish("chat/a", 1).catch((e: PubSubError) => {
      settled = Date.now();
      return e;
    });
    await until(() => settled >= 0, 10_000);

    expect(((await publish) as PubSubError).code).toBe("unavailable");
    expect(settled - started).toBeLessThanOrEqual(3_000);
    expect(publishes(server).length).toBeGreaterThan(2);
    client.close();
  });

  it("retries exactly what may not have been published", () => {
    const server = (code: string) => isRetriable(new PubSubError(code, ""), true);
    const client = (code: string) => isRetriable(new PubSubError(code, ""), false);
    expect(["unavailable", "timeout", "internal", "rate_limited", "session_not_found"].every(server)).toBe(true);
    expect(["forbidden", "bad_request", "message_too_large", "unknown_channel", "my_hook_code"].some(server)).toBe(false);
    expect(client("connection_lost")).toBe(true);
    // The client's own timeout spent the request's time; closed and queue_full are final.
    expect(["timeout", "closed", "queue_full"].some(client)).toBe(false);
  });
});
