// The small parts on their own: backoff, the outbound queue, the frame codec, transport selection.
import { describe, expect, it } from "vitest";
import { Backoff } from "../../src/Backoff.js";
import { LongPollingTransport } from "../../src/LongPollingTransport.js";
import { fromBase64, toBase64, utf8Length } from "../../src/encoding.js";
import { JsonCodec, parseFrame, splitBatch } from "../../src/JsonCodec.js";
import { OutboundQueue } from "../../src/OutboundQueue.js";
import type { Lane, QueuedFrame } from "../../src/OutboundQueue.js";
import { PubSubError } from "../../src/PubSubError.js";
import { TransportSelector } from "../../src/TransportSelector.js";
import { MemoryStorage } from "./helpers.js";

describe("Backoff", () => {
  it("draws each delay uniformly below a cap that doubles up to the maximum", () => {
    const top = new Backoff(100, 1000, () => 0.9999);
    expect([1, 2, 3, 4, 5, 6].map(() => top.next())).toEqual([99, 199, 399, 799, 999, 999]);
    const bottom = new Backoff(100, 1000, () => 0);
    expect([1, 2, 3].map(() => bottom.next())).toEqual([0, 0, 0]);
  });

  it("starts over after reset() and counts attempts", () => {
    const backoff = new Backoff(100, 1000, () => 0.5);
    backoff.next();
    backoff.next();
    expect(backoff.attempts).toBe(2);
    backoff.reset();
    expect(backoff.attempts).toBe(0);
    expect(backoff.next()).toBe(50);
  });

  it("does not overflow after very many attempts", () => {
    const backoff = new Backoff(100, 1000, () => 0.5);
    for (let i = 0; i < 5000; i++) backoff.next();
    expect(backoff.next()).toBe(500);
  });

  it("refuses nonsense settings", () => {
    expect(() => new Backoff(0, 10)).toThrow(RangeError);
    expect(() => new Backoff(100, 10)).toThrow(RangeError);
  });
});

const frame = (text: string, lane: Lane): QueuedFrame => ({ type: text, payload: text, bytes: utf8Length(text), lane });

describe("OutboundQueue", () => {
  it("takes control frames before bulk ones, each lane in order", () => {
    const queue = new OutboundQueue(1000);
    queue.enqueue(frame("p1", "bulk"));
    queue.enqueue(frame("c1", "control"));
    queue.enqueue(frame("p2", "bulk"));
    queue.enqueue(frame("c2", "control"));

    expect(queue.take(1000).map((f) => f.payload)).toEqual(["c1", "c2", "p1", "p2"]);
    expect(queue.isEmpty).toBe(true);
  });

  it("fills a batch up to the size limit, counting the separators", () => {
    const queue = new OutboundQueue(1000);
    for (const text of ["aaaa", "bbbb", "cccc"]) queue.enqueue(frame(text, "bulk"));

    // "aaaa\nbbbb" is 9 bytes; a third frame would make 14.
    expect(queue.take(13).map((f) => f.payload)).toEqual(["aaaa", "bbbb"]);
    expect(queue.take(13).map((f) => f.payload)).toEqual(["cccc"]);
  });

  it("takes a frame larger than the limit alone rather than stall", () => {
    const queue = new OutboundQueue(1000);
    queue.enqueue(frame("x".repeat(50), "bulk"));
    queue.enqueue(frame("y", "bulk"));
    expect(queue.take(10).map((f) => f.bytes)).toEqual([50]);
  });

  it("bounds the bulk lane, not the control lane", () => {
    const queue = new OutboundQueue(10);
    expect(queue.enqueue(frame("123456", "bulk"))).toBe(true);
    expect(queue.enqueue(frame("123456", "bulk"))).toBe(false);
    expect(queue.enqueue(frame("x".repeat(100), "control"))).toBe(true);
    expect(queue.bulkBytes).toBe(6);
  });

  it("moves bulk frames to another queue in order and forgets control frames", () => {
    const from = new OutboundQueue(100);
    const to = new OutboundQueue(100);
    from.enqueue(frame("a", "bulk"));
    from.enqueue(frame("pong", "control"));
    from.enqueue(frame("b", "bulk"));
    to.enqueue(frame("sub", "control"));

    to.appendBulk(from.takeBulk());
    from.clearControl();

    expect(from.isEmpty).toBe(true);
    expect(to.take(100).map((f) => f.payload)).toEqual(["sub", "a", "b"]);
  });

  it("removes a frame that is no longer wanted", () => {
    const queue = new OutboundQueue(100);
    const keep = frame("keep", "bulk");
    const drop = frame("drop", "bulk");
    queue.enqueue(keep);
    queue.enqueue(drop);
    expect(queue.remove(drop)).toBe(true);
    expect(queue.remove(drop)).toBe(false);
    expect(queue.take(100)).toEqual([keep]);
    expect(queue.bulkBytes).toBe(0);
  });

  it("stays correct across many frames (its deque compacts)", () => {
    const queue = new OutboundQueue(1_000_000);
    for (let i = 0; i < 5000; i++) queue.enqueue(frame(String(i), "bulk"));
    const out: string[] = [];
    while (!queue.isEmpty) out.push(...queue.take(100).map((f) => f.payload as string));
    expect(out).toEqual(Array.from({ length: 5000 }, (_, i) => String(i)));
  });
});

describe("encoding", () => {
  it("measures UTF-8 sizes, surrogate pairs included", () => {
    for (const text of ["", "abc", "é", "€", "😀", "a😀b€é", "\ud800"]) {
      expect(utf8Length(text)).toBe(new TextEncoder().encode(text).length);
    }
  });

  it("round-trips bytes through base64, large ones included", () => {
    const bytes = Uint8Array.from({ length: 100_000 }, (_, i) => i % 256);
    const text = toBase64(bytes);
    expect(text).toBe(Buffer.from(bytes).toString("base64"));
    expect(fromBase64(text)).toEqual(bytes);
  });
});

describe("frames", () => {
  it("splits a batch on \\n, ignoring blank lines and a trailing separator", () => {
    expect(splitBatch('{"type":"ping"}\n\n{"type":"pong"}\n')).toEqual(['{"type":"ping"}', '{"type":"pong"}']);
    expect(splitBatch("")).toEqual([]);
  });

  it.each([
    ["{oops", "not valid JSON"],
    ["[1,2]", "not an object"],
    ['{"kind":"message"}', "no string 'type'"],
    ['{"type":"message","channel":"a","offset":"1","epoch":"e"}', "lacks number 'offset'"],
    ['{"type":"reply","id":1}', "neither 'result' nor 'error'"],
    ['{"type":"connected","session":"s"}', "lacks string 'node'"],
  ])("rejects %s as a bad frame (%s)", (line, problem) => {
    const error = (() => {
      try {
        parseFrame(line);
      } catch (e) {
        return e as PubSubError;
      }
      throw new Error("parsed");
    })();
    expect(error).toBeInstanceOf(PubSubError);
    expect(error.code).toBe("bad_frame");
    expect(error.message).toContain(problem);
  });

  it("accepts unknown frame types and unknown fields", () => {
    expect(parseFrame('{"type":"presence","x":1}')).toEqual({ type: "presence", x: 1 });
    expect(parseFrame('{"type":"ping","extra":true}')).toEqual({ type: "ping", extra: true });
  });
});

describe("TransportSelector", () => {
  const all = ["websocket", "sse", "long-polling"] as const;

  it("keeps the client's order, minus what the server does not offer", () => {
    const selector = new TransportSelector([...all], null, "k");
    expect(selector.order(["long-polling", "sse", "websocket"])).toEqual(["websocket", "sse", "long-polling"]);
    expect(selector.order(["long-polling"])).toEqual(["long-polling"]);
    expect(selector.order(null)).toEqual([...all]);
    expect(selector.order(["carrier-pigeon"])).toEqual([]);
  });

  it("puts the remembered transport first, if it is still usable", () => {
    const storage = new MemoryStorage();
    const selector = new TransportSelector([...all], storage, "k");
    selector.succeeded("long-polling");
    expect(selector.order(null)).toEqual(["long-polling", "websocket", "sse"]);
    expect(selector.order(["websocket", "sse"])).toEqual(["websocket", "sse"]);
    selector.failed("long-polling");
    expect(selector.order(null)).toEqual([...all]);
  });

  it("ignores a remembered value it does not know", () => {
    const storage = new MemoryStorage();
    storage.setItem("k", "telegraph");
    expect(new TransportSelector([...all], storage, "k").order(null)).toEqual([...all]);
  });

  it("derives connect timeouts from the round trip (SockJS's rto), within bounds", () => {
    const selector = new TransportSelector([...all], null, "k");
    expect(selector.timeout("websocket", 5, undefined)).toBe(2000);
    expect(selector.timeout("websocket", 600, undefined)).toBe(4800);
    expect(selector.timeout("long-polling", 600, undefined)).toBe(2400);
    expect(selector.timeout("sse", 5000, undefined)).toBe(10_000);
    expect(selector.timeout("websocket", null, undefined)).toBe(5000);
    expect(selector.timeout("websocket", 300, 777)).toBe(777);
  });
});

describe("LongPollingTransport", () => {
  it("numbers a response's frames from the ack its poll sent and skips those it processed already", () => {
    const seen: unknown[] = [];
    const transport = new LongPollingTransport(
      {
        base: new URL("http://fake.test/pubsub"),
        codec: JsonCodec.instance,
        token: null,
        withCredentials: false,
        fetch: () => new Promise<Response>(() => undefined),
        WebSocket: undefined,
        EventSource: undefined,
        pollTimeout: 25_000,
        requestTimeout: 30_000,
        sendBufferLimit: 65_536,
      },
      { onFrame: (frame) => seen.push(frame), onBadFrame: () => undefined, onWritable: () => undefined, onClose: () => undefined },
    );
    const deliver = (lines: string[], ack: number): void =>
      (transport as unknown as { deliver(frames: unknown[], ack: number): void }).deliver(JsonCodec.instance.decode(lines.join("\n")), ack);
    const message = (offset: number): string => JSON.stringify({ type: "message", channel: "c", epoch: "e", offset, data: offset });

    deliver([JSON.stringify({ type: "connected", session: "n.s", node: "n", version: 1, transport: "long-polling", ping: 0 })], 0);
    deliver([message(1), message(2)], 1);
    // A late answer to the same poll (ack=1): frames 2 and 3 again, and a new frame 4.
    deliver([message(1), message(2), message(3)], 1);

    expect(seen.map((frame) => (frame as { offset?: number }).offset ?? "connected")).toEqual(["connected", 1, 2, 3]);
    expect(transport.count).toBe(4);
    transport.close();
  });
});
