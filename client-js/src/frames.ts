// The frames of protocol v1 (docs/protocol.md, section 2), whatever their encoding: what a server
// frame must hold, and the client frames as values. JsonCodec and MessagePackCodec put them on the wire.

import { PubSubError } from "./PubSubError.js";
import type { StreamPosition } from "./types.js";

export interface ConnectedFrame {
  type: "connected";
  session: string;
  node: string;
  version: number;
  transport: string;
  /** Seconds between server heartbeats; 0 when the transport has none. */
  ping: number;
}

export interface ErrorBody {
  code: string;
  message: string;
}

export interface ReplyFrame {
  type: "reply";
  id: number;
  result?: Record<string, unknown>;
  error?: ErrorBody;
}

export interface ErrorFrame extends ErrorBody {
  type: "error";
}

export interface MessageFrame {
  type: "message";
  channel: string;
  offset: number;
  epoch: string;
  data?: unknown;
  /** Base64 text in JSON, bytes in MessagePack (section 6.1). */
  binary?: string | Uint8Array;
}

export interface SubscribedFrame {
  type: "subscribed";
  channel: string;
  epoch: string;
  offset: number;
  recovered?: boolean;
}

export interface UnsubscribedFrame {
  type: "unsubscribed";
  channel: string;
  code: string;
  reason: string;
}

export interface DisconnectFrame {
  type: "disconnect";
  code: number;
  reason: string;
  reconnect: boolean;
}

/**
 * A `join` or `leave` (section 2.9): another session became, or stopped being, a member of the
 * channel's presence. Its fields are checked where it is handled, not in checkFrame: one for a
 * channel this client does not hold is ignored whatever it lacks (protocol/frames/server.json).
 */
export interface JoinLeaveFrame {
  type: "join" | "leave";
  channel: string;
  session: string;
  user?: string;
  info?: unknown;
}

export interface SimpleFrame {
  type: "ping" | "pong";
}

/** A frame of a type this client does not know; ignored, so servers can add frames (section 2). */
export interface UnknownFrame {
  type: string;
}

export type ServerFrame =
  | ConnectedFrame
  | ReplyFrame
  | ErrorFrame
  | MessageFrame
  | SubscribedFrame
  | UnsubscribedFrame
  | DisconnectFrame
  | JoinLeaveFrame
  | SimpleFrame;

/** A subscribe result (section 2.2). */
export interface SubscribeResult extends StreamPosition {
  recovered?: boolean;
}

/**
 * Checks one decoded server frame. Throws a `bad_frame` PubSubError for a value that is not an
 * object with a string `type`, or a known frame that lacks a field this client relies on, so a
 * broken frame is reported instead of corrupting the client's state. `sample` quotes the frame
 * as it came (its text, or its bytes in hex).
 */
export function checkFrame(value: unknown, sample: () => string): ServerFrame | UnknownFrame {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw badFrame("is not an object", sample());
  }
  const frame = value as Record<string, unknown>;
  if (typeof frame.type !== "string") {
    throw badFrame("has no string 'type'", sample());
  }
  const required = REQUIRED_FIELDS[frame.type];
  if (required) {
    for (const [field, kind] of required) {
      if (typeof frame[field] !== kind) {
        throw badFrame(`lacks ${kind} '${field}'`, sample());
      }
    }
  }
  if (frame.type === "reply" && !isObject(frame.result) && !isObject(frame.error)) {
    throw badFrame("has neither 'result' nor 'error'", sample());
  }
  return frame as unknown as ServerFrame | UnknownFrame;
}

const REQUIRED_FIELDS: Record<string, [string, "string" | "number" | "boolean"][]> = {
  connected: [["session", "string"], ["node", "string"], ["transport", "string"], ["ping", "number"]],
  reply: [["id", "number"]],
  error: [["code", "string"], ["message", "string"]],
  message: [["channel", "string"], ["offset", "number"], ["epoch", "string"]],
  subscribed: [["channel", "string"], ["offset", "number"], ["epoch", "string"]],
  unsubscribed: [["channel", "string"], ["code", "string"]],
  disconnect: [["code", "number"], ["reconnect", "boolean"]],
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function badFrame(problem: string, quoted: string): PubSubError {
  const sample = quoted.length > 120 ? quoted.slice(0, 120) + "…" : quoted;
  return new PubSubError("bad_frame", `The server sent a frame that ${problem}: ${sample}`);
}

/** A decoded frame, or the bad_frame error that stands in its place. */
export type DecodedFrame = ServerFrame | UnknownFrame | PubSubError;

/** Where parsed frames go: a transport's handler. */
export interface FrameSink {
  onFrame(frame: ServerFrame | UnknownFrame): void;
  onBadFrame(error: PubSubError): void;
}

/**
 * Hands each decoded frame of a batch to `sink`, in order, while `stillOpen()` (a frame such as
 * `disconnect` may close the transport halfway through a batch).
 */
export function deliverFrames(frames: readonly DecodedFrame[], sink: FrameSink, stillOpen: () => boolean): void {
  for (const frame of frames) {
    if (!stillOpen()) {
      return;
    }
    if (frame instanceof PubSubError) {
      sink.onBadFrame(frame);
    } else {
      sink.onFrame(frame);
    }
  }
}

/** Passes frames on to `sink`, telling `onSession` the session id of the first `connected` frame (HTTP transports address their session by it). */
export function sessionCapturingSink(sink: FrameSink, onSession: (session: string) => void): FrameSink {
  let captured = false;
  return {
    onFrame: (frame) => {
      if (!captured && frame.type === "connected") {
        captured = true;
        onSession((frame as ConnectedFrame).session);
      }
      sink.onFrame(frame);
    },
    onBadFrame: (error) => sink.onBadFrame(error),
  };
}

// ---- Client frames -------------------------------------------------------------------------------

/** A request the client sends (section 2.2), without its id, which the request tracker assigns. */
export type ClientRequest =
  | { readonly type: "subscribe"; readonly channel: string; readonly since?: StreamPosition }
  | { readonly type: "unsubscribe"; readonly channel: string }
  | { readonly type: "publish"; readonly channel: string; readonly data: unknown; readonly idempotencyKey?: string }
  | { readonly type: "publish"; readonly channel: string; readonly binary: Uint8Array; readonly idempotencyKey?: string }
  | { readonly type: "history"; readonly channel: string; readonly since?: StreamPosition; readonly limit?: number }
  | { readonly type: "presence" | "presence_stats"; readonly channel: string }
  | { readonly type: "ping" };

export function subscribeRequest(channel: string, since: StreamPosition | null): ClientRequest {
  return since === null ? { type: "subscribe", channel } : { type: "subscribe", channel, since: copyPosition(since) };
}

export function unsubscribeRequest(channel: string): ClientRequest {
  return { type: "unsubscribe", channel };
}

/**
 * A publish of any JSON value, or of bytes (a typed array, a DataView or an ArrayBuffer), which
 * travel as `binary` (base64 in JSON, bin in MessagePack). Throws `bad_request` for what JSON cannot carry.
 */
export function publishRequest(channel: string, data: unknown, idempotencyKey?: string): ClientRequest {
  const key = idempotencyKey === undefined ? {} : { idempotencyKey: checkIdempotencyKey(idempotencyKey) };
  if (ArrayBuffer.isView(data)) {
    return { type: "publish", channel, binary: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), ...key };
  }
  if (data instanceof ArrayBuffer) {
    return { type: "publish", channel, binary: new Uint8Array(data), ...key };
  }
  if (data === undefined || typeof data === "function" || typeof data === "symbol") {
    throw new PubSubError("bad_request", `Publication data must be a JSON value or bytes, not ${typeof data}.`);
  }
  return { type: "publish", channel, data, ...key };
}

/** The longest idempotency key the server takes (section 2.2). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 128;

/** Throws `bad_request` for a key the server would refuse, so a bad key is never sent. */
function checkIdempotencyKey(key: unknown): string {
  if (typeof key !== "string" || key.length < 1 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    const what = typeof key === "string" ? `${key.length} characters long` : `a ${typeof key}`;
    throw new PubSubError("bad_request", `An idempotencyKey must be a string of 1–${MAX_IDEMPOTENCY_KEY_LENGTH} characters; this one is ${what}.`);
  }
  return key;
}

export function presenceRequest(type: "presence" | "presence_stats", channel: string): ClientRequest {
  return { type, channel };
}

export function historyRequest(channel: string, options: { since?: StreamPosition | undefined; limit?: number | undefined }): ClientRequest {
  const since = options.since === undefined ? {} : { since: copyPosition(options.since) };
  const limit = options.limit === undefined ? {} : { limit: options.limit };
  return { type: "history", channel, ...since, ...limit };
}

/** The position a reply carries (a publish's, a history page's). */
export function readPosition(result: Record<string, unknown>): StreamPosition {
  if (typeof result.epoch !== "string" || typeof result.offset !== "number") {
    throw new PubSubError("bad_frame", "A reply lacks its position ('epoch', 'offset').");
  }
  return { epoch: result.epoch, offset: result.offset };
}

/** Client frames without an id. */
export type SimpleClientFrame = { readonly type: "ping" } | { readonly type: "pong" } | { readonly type: "close" };

/**
 * A client frame as a value, ready for a codec: `type` and `id` first, then the request's fields
 * in the order above, which is protocol/frames/client.json's (and msgpack.json's), byte for byte.
 */
export type ClientFrame = SimpleClientFrame | (ClientRequest & { readonly id: number });

export function requestFrame(request: ClientRequest, id: number): ClientFrame {
  const { type, ...fields } = request;
  return { type, id, ...fields } as ClientFrame;
}

export const PING: SimpleClientFrame = { type: "ping" };
export const PONG: SimpleClientFrame = { type: "pong" };
export const CLOSE: SimpleClientFrame = { type: "close" };

/** `{epoch, offset}` in the wire's order, whatever else the application's object carries. */
function copyPosition(position: StreamPosition): StreamPosition {
  return { epoch: position.epoch, offset: position.offset };
}
