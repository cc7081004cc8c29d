// The parts the supervisor is built from, each on its own: the selector trying transports in
// order, and the request tracker's ids, backlog, timeouts and failures.

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Connection } from "../../src/Connection.js";
import { OutboundQueue } from "../../src/OutboundQueue.js";
import { PubSubError } from "../../src/PubSubError.js";
import { RequestTracker } from "../../src/RequestTracker.js";
import { TransportSelector } from "../../src/TransportSelector.js";
import type { TransportName } from "../../src/types.js";
import { MemoryStorage, pass, useFakeClock } from "./helpers.js";

beforeEach(useFakeClock);
afterEach(() => vi.useRealTimers());

/** A connection that delivers `connected`, or fails with `error`, when it is opened. */
function attempt(error: PubSubError | null): Connection {
  const opened = error === null ? Promise.resolve() : Promise.reject(error);
  opened.catch(() => undefined);
  return { opened } as unknown as Connection;
}

describe("TransportSelector.connect", () => {
  const all: TransportName[] = ["websocket", "sse", "long-polling"];

  it("tries each transport in order, reports each failure, and remembers the one that worked", async () => {
    const storage = new MemoryStorage();
    const selector = new TransportSelector(all, storage, "k");
    selector.succeeded("websocket");
    const tried: TransportName[] = [];
    const failures: string[] = [];

    const connection = await selector.connect(selector.order(null), (name) => {
      tried.push(name);
      return attempt(name === "sse" ? null : new PubSubError("timeout", `${name} timed out`));
    }, () => false, (error) => failures.push(error.message));

    expect(tried).toEqual(["websocket", "sse"]);
    expect(failures).toEqual(["websocket timed out"]);
    expect(connection).toBeDefined();
    expect(selector.remembered()).toBe("sse");
  });

  it("fails with every transport's failure when none connects, and forgets the remembered one", async () => {
    const storage = new MemoryStorage();
    const selector = new TransportSelector(all, storage, "k");
    selector.succeeded("long-polling");

    const error = (await selector.connect(selector.order(null), (name) => attempt(new PubSubError("transport_failed", `${name} refused`)),
      () => false, () => undefined).catch((e: unknown) => e)) as PubSubError;

    expect(error.code).toBe("transport_failed");
    expect(error.message).toBe("No transport connected. long-polling: long-polling refused websocket: websocket refused sse: sse refused");
    expect(error.terminal).toBe(false);
    expect(selector.remembered()).toBeNull();
  });

  it("stops with 'closed' once cancelled, trying nothing more", async () => {
    const selector = new TransportSelector(all, null, "k");
    let cancelled = false;
    const tried: TransportName[] = [];

    const error = (await selector.connect(all, (name) => {
      tried.push(name);
      cancelled = true;
      return attempt(new PubSubError("timeout", "slow"));
    }, () => cancelled, () => undefined).catch((e: unknown) => e)) as PubSubError;

    expect(error.code).toBe("closed");
    expect(tried).toEqual(["websocket"]);
  });
});

/** Just what the tracker touches of a connection. */
function fakeConnection(): Connection {
  const queue = new OutboundQueue(1_000_000);
  return { queue, inflight: new Set<number>(), enqueue: (frame: never) => queue.enqueue(frame), scheduleFlush: () => undefined } as unknown as Connection;
}

describe("RequestTracker", () => {
  function tracker(current: Connection | null = null, accepting = true) {
    return new RequestTracker(1_000, 100, { current: () => current, accepting: () => accepting, queues: () => (current === null ? [] : [current]) });
  }

  it("numbers requests, queues them on the connection in use, and hands each its reply", async () => {
    const connection = fakeConnection();
    const requests = tracker(connection);

    const first = requests.request({ type: "ping" }, "bulk", (result) => result);
    const second = requests.request({ type: "unsubscribe", channel: "c" }, "control", (result) => result);
    const sent = connection.queue.take(10_000).map((frame) => frame.payload);
    requests.onReply(connection, { type: "reply", id: 2, result: { b: 2 } });
    requests.onReply(connection, { type: "reply", id: 1, error: { code: "forbidden", message: "No." } });

    // Control frames go first.
    expect(sent).toEqual(['{"type":"unsubscribe","id":2,"channel":"c"}', '{"type":"ping","id":1}']);
    await expect(second).resolves.toEqual({ b: 2 });
    await expect(first).rejects.toMatchObject({ code: "forbidden" });
  });

  it("keeps requests in the bounded backlog while there is no connection, and moves them onto the next", () => {
    const requests = tracker(null);
    const failures: string[] = [];
    const handlers = { onReply: () => undefined, onFailed: (error: PubSubError) => failures.push(error.code) };

    requests.send({ type: "publish", channel: "c", data: "x".repeat(40) }, "bulk", handlers, null);
    requests.send({ type: "publish", channel: "c", data: "y".repeat(40) }, "bulk", handlers, null);
    const connection = fakeConnection();
    requests.drainInto(connection);

    expect(failures).toEqual(["queue_full"]);
    expect(connection.queue.take(10_000)).toHaveLength(1);
  });

  it("times a request out, taking it back when it never left", async () => {
    const requests = tracker(null);
    const waiting = requests.request({ type: "ping" }, "bulk", (result) => result).catch((e: unknown) => e as PubSubError);

    await pass(1_000);

    const error = await waiting;
    expect(error.code).toBe("timeout");
    expect(error.message).toContain("it was not sent");
    expect(requests.backlog.isEmpty).toBe(true);
  });

  it("fails what went out on a lost connection with connection_lost, and everything with the error of a close", async () => {
    const connection = fakeConnection();
    const requests = tracker(connection);
    const sent = requests.request({ type: "ping" }, "bulk", (result) => result).catch((e: unknown) => e as PubSubError);
    const queued = requests.request({ type: "ping" }, "bulk", (result) => result).catch((e: unknown) => e as PubSubError);
    connection.inflight.add(1);

    requests.failSent(connection, new PubSubError("transport_failed", "gone"));
    requests.failAll(new PubSubError("closed", "The client was closed."));

    expect((await sent).code).toBe("connection_lost");
    expect((await queued).code).toBe("closed");
    requests.onReply(connection, { type: "reply", id: 2, result: {} });
  });

  it("refuses at once when the client is closed, or the frame is over the server's limit", async () => {
    await expect(tracker(null, false).request({ type: "ping" }, "bulk", (r) => r)).rejects.toMatchObject({ code: "closed" });
    const requests = tracker(fakeConnection());
    requests.maxMessageSize = 50;
    await expect(requests.request({ type: "publish", channel: "c", data: "z".repeat(50) }, "bulk", (r) => r))
      .rejects.toMatchObject({ code: "message_too_large" });
  });
});
