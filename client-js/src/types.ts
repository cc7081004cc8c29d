// The public types of the client: options, events and the values they carry.

import type { PubSubError } from "./PubSubError.js";
import type { Subscription } from "./Subscription.js";

/** The transports, by their names on the wire (docs/protocol.md, section 3). */
export type TransportName = "websocket" | "sse" | "long-polling";

/**
 * How frames are encoded (docs/protocol.md, sections 2 and 6): JSON text, or MessagePack, which is
 * smaller and carries bytes as they are. SSE carries text only, so it stays JSON.
 */
export type Encoding = "json" | "msgpack";

/** Where the client writes the few lines it logs; `console` fits. */
export interface Logger {
  warn(message: string): void;
}

/** All transports, in the client's default order of preference. */
export const ALL_TRANSPORTS: readonly TransportName[] = ["websocket", "sse", "long-polling"];

/**
 * A position in a channel's stream: the last publication seen (docs/protocol.md, section 1).
 * Offset first, as the server's and the .NET client's `StreamPosition(Offset, Epoch)`; on the
 * wire `since` is written `{"epoch":...,"offset":...}` (protocol/frames/client.json).
 */
export interface StreamPosition {
  offset: number;
  epoch: string;
}

/** Publication data as the application sees it: any JSON value, or bytes for a binary publication. */
export type PublicationData = unknown;

/** A publication delivered to a subscription. */
export interface Message {
  channel: string;
  epoch: string;
  offset: number;
  /** The JSON value, or a `Uint8Array` when the publication is binary. */
  data: PublicationData;
}

/** One publication of a history page. */
export interface HistoryPublication {
  offset: number;
  /** The JSON value, or a `Uint8Array` when the publication is binary. */
  data: PublicationData;
}

/** A page of a channel's history, and the channel's latest position. */
export interface HistoryResult extends StreamPosition {
  publications: HistoryPublication[];
}

export interface HistoryOptions {
  /** Only publications after this position; its epoch must be the channel's current one (else `epoch_mismatch`). */
  since?: StreamPosition;
  /** At most this many publications, 1–1000. Server default: 100. */
  limit?: number;
}

export interface PublishOptions {
  /**
   * A key (1–128 characters) that makes the publish happen at most once: the server does not
   * publish a second publish with the same key to the same channel within the channel's
   * idempotency window (default 5 minutes), and answers it with the first one's position. While
   * `publishRetries` is above 0 the client makes one up (22 random base64url characters) for
   * every publish that has none, so its own retries are safe.
   */
  idempotencyKey?: string;
}

/** A member of a channel's presence (docs/protocol.md, section 2.9). */
export interface PresenceMember {
  /** The member's session id. */
  session: string;
  /** The signed-in user's id; absent for an anonymous session. */
  user?: string;
  /** What the server's connect hook attached to the session (`ConnectionInfo`); absent when nothing. */
  info?: unknown;
}

/** Who is subscribed to a channel, on every node: at most 1,000 members, in no particular order. */
export interface PresenceResult {
  members: PresenceMember[];
  /** True when the channel has more members than were listed; `presenceStats()` counts them all. */
  truncated: boolean;
}

/** How many members a channel's presence holds, and how many distinct signed-in users they are. */
export interface PresenceStats {
  clients: number;
  users: number;
}

/**
 * Another session joined (subscribed to) or left a channel whose template announces joins and
 * leaves. Not a publication: it has no offset and does not move the subscription's position.
 */
export interface JoinLeaveEvent extends PresenceMember {
  channel: string;
}

/** The connection in use was lost (not by `close()`). */
export interface DisconnectedEvent {
  /** The `disconnect` frame's (or WebSocket close frame's, 1006 included) code; null when no code came (a failed poll or stream, a silent server). */
  code: number | null;
  /** The server's reason; "" when there was none. */
  reason: string;
  /** Whether the client reconnects now (false: it closes). */
  reconnect: boolean;
  /** The failure, as the state change that follows carries it. */
  error: PubSubError;
}

/** The client's connection state. */
export type ConnectionState = "connecting" | "connected" | "reconnecting" | "closed";

export interface StateChange {
  state: ConnectionState;
  previous: ConnectionState;
  /** The transport in use; null unless connected. */
  transport: TransportName | null;
  /** Why the client is reconnecting or closed, when it is because of a failure. */
  error?: PubSubError;
}

export interface ConnectedEvent {
  transport: TransportName;
  session: string;
  node: string;
  /** True when this connection replaced a working one because it is a better transport (a WebSocket probe succeeded). */
  upgrade: boolean;
}

export interface ClientEvents {
  /** The state or the transport in use changed. */
  state: StateChange;
  /** A session was established (the first connect, each reconnect, and each transport upgrade). */
  connected: ConnectedEvent;
  /** The connection in use was lost: by the server's `disconnect` (with its code and reason) or a failure. */
  disconnected: DisconnectedEvent;
  /**
   * The server subscribed this client to a channel it did not ask for (the server's connect hook,
   * or the server API): here is its new Subscription, already subscribed. Attach `message`,
   * `join` and `leave` listeners in the handler; nothing is delivered to it before it returns.
   */
  subscribed: Subscription;
  /**
   * Something went wrong that the client handles itself (a transport that failed to connect, a
   * dropped connection, an `error` frame from the server, a malformed frame). For information:
   * failures of requests reject their promises, and a terminal failure closes the client.
   */
  error: PubSubError;
}

/** Sent to a subscription when it is (re)established. */
export interface SubscribedEvent {
  channel: string;
  /** The position the subscription continues from. */
  position: StreamPosition;
  /** True after a reconnect (or transport upgrade) that re-subscribed. */
  resubscribed: boolean;
  /** Present when the subscribe asked to recover: true if nothing was missed. */
  recovered?: boolean;
}

/**
 * Sent when the subscription missed publications that the server could not recover: after a
 * reconnect, when history no longer covers the gap or the channel's history was lost (a new
 * epoch); or while connected, when the server's node lost publications (for example its broker
 * connection was down for longer than history reaches). The subscription goes on from
 * `position`; the application may reload its state.
 */
export interface MissedEvent {
  channel: string;
  /** The last position the client saw. */
  from: StreamPosition;
  /** Where the subscription continues. */
  position: StreamPosition;
}

export interface UnsubscribedEvent {
  channel: string;
  /** Who ended it: the application (`unsubscribe()`), or the server (a refused subscribe, or an `unsubscribed` frame). */
  by: "client" | "server";
  /** The server's code (such as `forbidden`, or the server API's `code`) when it was the server. */
  code?: string;
  /** The server's reason (the `unsubscribed` frame's, or the refusal's message) when it was the server. */
  reason?: string;
  /** The same code and reason as an error, when it was the server. */
  error?: PubSubError;
}

export interface SubscriptionEvents {
  message: Message;
  /** Another session subscribed to the channel (templates with `JoinLeave`). */
  join: JoinLeaveEvent;
  /** Another session's subscription to the channel ended. */
  leave: JoinLeaveEvent;
  subscribed: SubscribedEvent;
  missed: MissedEvent;
  unsubscribed: UnsubscribedEvent;
  /**
   * The server refused the subscribe; what follows is the code's retry rule (protocol/error-codes.json).
   * For a refusal (such as `unknown_channel` or `forbidden`) the subscription has ended (an
   * `unsubscribed` event follows); for a transient failure (`unavailable`, `timeout`, `internal`)
   * it stays `subscribing` and the client asks again after a backoff delay; for `session_not_found`
   * the client reconnects and subscribes again from the position.
   */
  error: PubSubError;
}

export type SubscriptionState = "subscribing" | "subscribed" | "unsubscribed";

/**
 * Who made a subscription: the application (`subscribe()`), or the server (its connect hook or
 * the server API subscribed the session, and the client learnt of it from a `subscribed` frame).
 */
export type SubscriptionOrigin = "client" | "server";

export interface SubscribeOptions {
  /**
   * Resume from this position (for example one saved before a page reload): the first subscribe
   * recovers what came after it, or reports `missed`.
   */
  since?: StreamPosition;
}

export interface ReconnectOptions {
  /** The cap of the first retry's random delay, in ms. Default 1000. */
  initialDelay?: number;
  /** The cap of the random delay as it doubles, in ms. Default 30000. */
  maxDelay?: number;
  /** Give up (and close with the last error) after this many failed attempts in a row. Default: never. */
  maxAttempts?: number;
}

/** The subset of the WebSocket API the client uses; the browser's and the `ws` package's both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  readonly bufferedAmount: number;
  readonly protocol: string;
  binaryType: string;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** The subset of the EventSource API the client uses; the browser's and the `eventsource` package's both fit. */
export interface EventSourceLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: string; lastEventId: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  close(): void;
}

export type EventSourceConstructor = new (url: string, init?: { withCredentials?: boolean }) => EventSourceLike;

export type FetchFunction = (input: string, init?: RequestInit) => Promise<Response>;

/** Where the client remembers the transport that worked (sessionStorage in browsers). */
export interface TransportStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface PubSubClientOptions {
  /** The transports to try, in order. Default `["websocket", "sse", "long-polling"]`. */
  transports?: TransportName[];
  /**
   * The frames' encoding. Default `"json"`. With `"msgpack"` the client speaks MessagePack on
   * WebSocket (subprotocol `pubsub.msgpack`) and long-polling, and JSON on SSE, which carries text
   * only; publications reach the application the same either way. A server that does not offer
   * MessagePack (negotiate's `encodings`) gets JSON, and the logger says so.
   */
  encoding?: Encoding;
  /** Where the client logs (one line when the server does not offer the asked-for encoding). Default `console`; null logs nothing. */
  logger?: Logger | null;
  /**
   * A credential for the server's authentication, or a function called before each connect that
   * returns one (so an expired token is refreshed). Sent as `Authorization: Bearer <token>` on
   * HTTP requests and as the `access_token` query parameter on WebSocket and SSE requests, which
   * browsers cannot give headers.
   */
  token?: string | (() => string | Promise<string>);
  /** Send cookies on cross-origin requests (fetch `credentials: "include"`, EventSource `withCredentials`). Default false. */
  withCredentials?: boolean;
  /** Reconnect after a connection is lost (exponential backoff with full jitter). `false` turns reconnecting off. */
  reconnect?: boolean | ReconnectOptions;
  /**
   * Ask the server which transports it offers (and time the answer to size the connect timeouts)
   * before connecting. Default true. With false, the client tries its transports without asking,
   * with `transportTimeout` (or 5 s) per attempt.
   */
  negotiate?: boolean;
  /** How long each transport gets to deliver the `connected` frame, in ms. Default: derived from the negotiate round trip. */
  transportTimeout?: number;
  /** How long the negotiate request may take, in ms. Default 10000. */
  negotiateTimeout?: number;
  /** How long a request (publish, history, subscribe) waits for its reply, in ms, queueing included; a publish's retries included. Default 30000. */
  requestTimeout?: number;
  /**
   * How many times a publish is sent again when its outcome is unknown (its connection dropped
   * before the reply) or the server could not take it now (a code whose retry rule is `later` or
   * `reconnect`, such as `unavailable` or `timeout`), always with the same idempotency key and
   * within `requestTimeout` of the first send. Default 3; 0 turns retries off, and then no key is
   * made up for publishes that have none.
   */
  publishRetries?: number;
  /** How much longer than the server's heartbeat interval a silent connection is trusted, in ms. Default 10000. */
  heartbeatMargin?: number;
  /** While on SSE or long-polling, how often to try to move up to WebSocket, in ms; 0 never. Default 30000. */
  probeInterval?: number;
  /** The most bytes of publishes and history requests that may wait to be sent. Default 1 MiB. */
  maxQueueBytes?: number;
  /** WebSocket sends pause while the socket's `bufferedAmount` is at least this many bytes. Default 65536. */
  sendBufferLimit?: number;
  /** Remember the transport that worked and start from it next time. Default true. */
  rememberTransport?: boolean;
  /** Where to remember it. Default `sessionStorage` when there is one. */
  storage?: TransportStorage | null;
  /** The WebSocket implementation. Default the global one; in Node before 22, pass `WebSocket` from the `ws` package. */
  WebSocket?: WebSocketConstructor;
  /** The EventSource implementation. Default the global one; in Node, pass `EventSource` from the `eventsource` package. */
  EventSource?: EventSourceConstructor;
  /** The fetch implementation. Default the global one. */
  fetch?: FetchFunction;
}
