import { outboundFrame } from "./Connection.js";
import type { Connection, OutboundFrame } from "./Connection.js";
import type { FrameCodec } from "./FrameCodec.js";
import { requestFrame } from "./frames.js";
import type { ClientRequest, ReplyFrame } from "./frames.js";
import { describe } from "./http.js";
import { JsonCodec } from "./JsonCodec.js";
import { DEFAULT_MAX_MESSAGE_SIZE } from "./negotiate.js";
import { OutboundQueue } from "./OutboundQueue.js";
import type { Lane } from "./OutboundQueue.js";
import { PubSubError } from "./PubSubError.js";

/** What a request's sender hears: exactly one of the two, once. */
export interface RequestHandlers {
  readonly onReply: (reply: ReplyFrame, connection: Connection) => void;
  /** The request will not get a reply: it timed out, its connection was lost, or the client closed. */
  readonly onFailed: (error: PubSubError) => void;
}

/** Where requests go; the supervisor answers. */
export interface RequestRoute {
  /** The connection in use, or null while there is none (requests then wait in the backlog). */
  current(): Connection | null;
  /** False once the client is closed: requests fail at once. */
  accepting(): boolean;
  /** Every connection whose queue may hold a request (the one in use, an upgrade's). */
  queues(): readonly Connection[];
}

interface PendingRequest extends RequestHandlers {
  readonly frame: OutboundFrame;
  readonly type: string;
  readonly timer: ReturnType<typeof setTimeout>;
  readonly timeout: number;
}

/**
 * The client's requests: gives each its id, queues it (on the connection in use, or in the
 * backlog while reconnecting), matches replies to it, and fails it when no reply can come: after
 * `timeout` ms, when the connection it went out on is lost (`connection_lost`: its outcome is
 * unknown), or when the client closes. A request is never sent twice (a publish that Publisher
 * retries is a new request, with the same idempotency key).
 */
export class RequestTracker {
  /** Publishes and history requests made while no connection is up; sent after the next connect. */
  readonly backlog: OutboundQueue;
  /** The largest frame the server accepts; negotiate's `maxMessageSize`. */
  maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE;
  /** The encoding negotiated last: what a request that waits in the backlog is encoded in. */
  codec: FrameCodec = JsonCodec.instance;

  private readonly pending = new Map<number, PendingRequest>();
  private nextId = 1;

  constructor(
    private readonly timeout: number,
    private readonly maxQueueBytes: number,
    private readonly route: RequestRoute,
  ) {
    this.backlog = new OutboundQueue(maxQueueBytes);
  }

  /** Sends a request and resolves with its result as `parse` reads it; an error reply rejects with the server's code. */
  request<T>(request: ClientRequest, lane: Lane, parse: (result: Record<string, unknown>) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.send(request, lane, {
        onReply: (reply) => {
          if (reply.error !== undefined) {
            reject(new PubSubError(reply.error.code, reply.error.message));
            return;
          }
          try {
            resolve(parse(reply.result!));
          } catch (error) {
            reject(new PubSubError("bad_frame", `The reply to a ${request.type} could not be read: ${describe(error)}`));
          }
        },
        onFailed: reject,
      }, null);
    });
  }

  /**
   * Queues a request on `connection` (or, when null, on the connection in use, or in the backlog
   * while reconnecting). Failures (closed client, oversized frame, full queue) go to `onFailed`.
   * `timeout` (ms) replaces the client's request timeout for this request (a retried publish's
   * remaining time).
   */
  send(request: ClientRequest, lane: Lane, handlers: RequestHandlers, connection: Connection | null, timeout = this.timeout): void {
    if (!this.route.accepting()) {
      handlers.onFailed(new PubSubError("closed", "The client is closed; call connect() first."));
      return;
    }
    const id = this.nextId++;
    const target = connection ?? this.route.current();
    const codec = target?.codec ?? this.codec;
    let frame: OutboundFrame;
    try {
      frame = outboundFrame(requestFrame(request, id), codec, lane);
    } catch (error) {
      handlers.onFailed(new PubSubError("bad_request", `The request could not be serialized as ${codec.encoding === "json" ? "JSON" : "MessagePack"}: ${describe(error)}`, { cause: error }));
      return;
    }
    if (frame.bytes > this.maxMessageSize) {
      handlers.onFailed(new PubSubError("message_too_large",
        `The ${request.type} frame is ${frame.bytes} bytes; the server accepts at most ${this.maxMessageSize}.`));
      return;
    }
    if (!(target !== null ? target.enqueue(frame) : this.backlog.enqueue(frame))) {
      handlers.onFailed(new PubSubError("queue_full",
        `${this.maxQueueBytes} bytes are already waiting to be sent; the ${request.type} was not queued.`));
      return;
    }
    const timer = setTimeout(() => this.timeOut(id), timeout);
    this.pending.set(id, { ...handlers, frame, type: request.type, timer, timeout });
  }

  /** Hands a reply to its request; replies to requests that already failed are dropped. */
  onReply(connection: Connection, reply: ReplyFrame): void {
    connection.inflight.delete(reply.id);
    const request = this.take(reply.id);
    request?.onReply(reply, connection);
  }

  /** Fails the requests sent on a connection that ended: their outcome is unknown. */
  failSent(connection: Connection, cause: PubSubError): void {
    for (const id of connection.inflight) {
      this.take(id)?.onFailed(new PubSubError("connection_lost",
        `The connection was lost before the reply came; the request may or may not have taken effect (${cause.message})`,
        { cause }));
    }
    connection.inflight.clear();
  }

  /** Fails every request, sent or waiting, with `error` (the client closed), and empties the backlog. */
  failAll(error: PubSubError): void {
    this.backlog.clear();
    for (const id of [...this.pending.keys()]) {
      this.take(id)?.onFailed(error);
    }
  }

  /** Moves what waits in the backlog onto a connection that just took over. */
  drainInto(connection: Connection): void {
    connection.queue.appendBulk(this.backlog.takeBulk());
    connection.scheduleFlush();
  }

  private timeOut(id: number): void {
    const request = this.take(id);
    if (request === undefined) {
      return;
    }
    // A request that never left is taken back, so it cannot happen after its caller was told it failed.
    const unsent = this.backlog.remove(request.frame) || this.route.queues().some((connection) => connection.queue.remove(request.frame));
    request.onFailed(new PubSubError("timeout", unsent
      ? `The ${request.type} could not be sent within ${request.timeout} ms; it was not sent.`
      : `No reply to the ${request.type} within ${request.timeout} ms; it may or may not have taken effect.`));
  }

  private take(id: number): PendingRequest | undefined {
    const request = this.pending.get(id);
    if (request !== undefined) {
      clearTimeout(request.timer);
      this.pending.delete(id);
    }
    return request;
  }
}
