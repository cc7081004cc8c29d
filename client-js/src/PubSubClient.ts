import { Backoff } from "./Backoff.js";
import { Connection } from "./Connection.js";
import type { ConnectionClosed, ConnectionListener, OutboundFrame } from "./Connection.js";
import { Emitter } from "./Emitter.js";
import { fromBase64, toBase64, utf8Length } from "./encoding.js";
import type {
  ErrorFrame,
  MessageFrame,
  ReplyFrame,
  ServerFrame,
  SubscribedFrame,
  SubscribeResult,
  UnknownFrame,
  UnsubscribedFrame,
} from "./frames.js";
import { describe } from "./http.js";
import type { HttpContext } from "./http.js";
import { isTerminal, markTerminal, negotiate } from "./negotiate.js";
import type { NegotiateInfo } from "./negotiate.js";
import { OutboundQueue } from "./OutboundQueue.js";
import type { Lane } from "./OutboundQueue.js";
import { PubSubError } from "./PubSubError.js";
import { Subscription } from "./Subscription.js";
import type { SubscriptionOwner } from "./Subscription.js";
import type { TransportContext } from "./Transport.js";
import { TransportSelector } from "./TransportSelector.js";
import { ALL_TRANSPORTS } from "./types.js";
import type {
  ClientEvents,
  ConnectionState,
  FetchFunction,
  HistoryOptions,
  HistoryResult,
  PubSubClientOptions,
  StreamPosition,
  SubscribeOptions,
  TransportName,
} from "./types.js";

/** A request waiting for its reply. */
interface PendingRequest {
  readonly frame: OutboundFrame;
  readonly onReply: (reply: ReplyFrame, connection: Connection) => void;
  /** The request will not get a reply: it timed out, its connection was lost, or the client closed. */
  readonly onFailed: (error: PubSubError) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** The options with their defaults applied. */
interface Settings {
  transports: TransportName[];
  reconnect: boolean;
  maxAttempts: number;
  negotiate: boolean;
  transportTimeout: number | undefined;
  negotiateTimeout: number;
  requestTimeout: number;
  heartbeatMargin: number;
  probeInterval: number;
  maxQueueBytes: number;
  sendBufferLimit: number;
}

const DEFAULT_MAX_MESSAGE_SIZE = 65_536;
const DEFAULT_POLL_TIMEOUT_SECONDS = 25;
const PONG = JSON.stringify({ type: "pong" });

/** Subscribe errors that say "not now" rather than "no": the subscribe is retried (section 2.7). */
const TRANSIENT_CODES = new Set(["unavailable", "timeout", "internal"]);

/**
 * A PubSub client: connects over the best transport that works (WebSocket, then SSE, then
 * long-polling, each tried only if the server offers it), keeps the connection up with backoff
 * and heartbeats, and keeps subscriptions whole across reconnects: each channel is re-subscribed
 * with the position of the last publication seen, so the application gets every publication once
 * and in order, or a `missed` event when the server's history no longer covers the gap.
 *
 * ```ts
 * const client = new PubSubClient("https://example.com/pubsub");
 * const sub = client.subscribe("chat/lobby");
 * sub.on("message", (m) => console.log(m.data));
 * await client.connect();
 * await client.publish("chat/lobby", { text: "hello" });
 * ```
 */
export class PubSubClient extends Emitter<ClientEvents> {
  static readonly DefaultNegotiateTimeout = 10_000;
  static readonly DefaultRequestTimeout = 30_000;
  static readonly DefaultHeartbeatMargin = 10_000;
  static readonly DefaultProbeInterval = 30_000;
  static readonly DefaultMaxQueueBytes = 1024 * 1024;
  static readonly DefaultSendBufferLimit = 64 * 1024;

  /** The endpoints' prefix URL, absolute. */
  readonly url: string;

  private readonly base: URL;
  private readonly settings: Settings;
  private readonly backoff: Backoff;
  private readonly selector: TransportSelector;
  private readonly fetchImpl: FetchFunction;
  private readonly tokenSource: PubSubClientOptions["token"];
  private readonly webSocket: PubSubClientOptions["WebSocket"];
  private readonly eventSource: PubSubClientOptions["EventSource"];
  private readonly withCredentials: boolean;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly requests = new Map<number, PendingRequest>();
  /** Publishes and history requests made while no connection is up; sent after the next connect. */
  private readonly backlog: OutboundQueue;
  private readonly retiring = new Set<Connection>();
  private readonly resubscribeTimers = new Map<Subscription, ReturnType<typeof setTimeout>>();
  private readonly connectWaiters: { resolve: () => void; reject: (error: PubSubError) => void }[] = [];
  private readonly subscriptionOwner: SubscriptionOwner;

  private _state: ConnectionState = "closed";
  private lastTransport: TransportName | null = null;
  private primary: Connection | null = null;
  private opening: Connection | null = null;
  private probe: Connection | null = null;
  private nextId = 1;
  /** Bumped by close(): asynchronous work of an older generation stops where it is. */
  private generation = 0;
  private cancel = new AbortController();
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private stopOnlineListener: (() => void) | null = null;
  private probeTimer: ReturnType<typeof setTimeout> | undefined;
  private offered: readonly string[] | null = null;
  private rtt: number | null = null;
  private maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE;
  private context: TransportContext | null = null;
  /** Bumped whenever the set of subscriptions changes, so a transport upgrade can tell it raced one. */
  private subscriptionVersion = 0;
  private probeVersion = 0;
  private probeSubscribesLeft = 0;

  /**
   * @param url the endpoints' prefix, such as `https://example.com/pubsub` or, in a page, `/pubsub`.
   */
  constructor(url: string, options: PubSubClientOptions = {}) {
    super();
    const location = (globalThis as { location?: { href: string } }).location?.href;
    try {
      this.base = new URL(url, location);
    } catch {
      throw new TypeError(`'${url}' is not a URL${location === undefined ? " (outside a browser it must be absolute)" : ""}.`);
    }
    if (this.base.protocol === "ws:" || this.base.protocol === "wss:") {
      this.base.protocol = this.base.protocol === "wss:" ? "https:" : "http:";
    }
    this.url = this.base.href;

    const reconnect = options.reconnect ?? true;
    const reconnectOptions = typeof reconnect === "object" ? reconnect : {};
    const transports = options.transports ?? [...ALL_TRANSPORTS];
    for (const name of transports) {
      if (!ALL_TRANSPORTS.includes(name)) {
        throw new TypeError(`Unknown transport '${String(name)}'; use ${ALL_TRANSPORTS.map((t) => `'${t}'`).join(", ")}.`);
      }
    }
    if (transports.length === 0) {
      throw new TypeError("`transports` must name at least one transport.");
    }
    this.settings = {
      transports: [...transports],
      reconnect: reconnect !== false,
      maxAttempts: reconnectOptions.maxAttempts ?? Infinity,
      negotiate: options.negotiate ?? true,
      transportTimeout: options.transportTimeout,
      negotiateTimeout: options.negotiateTimeout ?? PubSubClient.DefaultNegotiateTimeout,
      requestTimeout: options.requestTimeout ?? PubSubClient.DefaultRequestTimeout,
      heartbeatMargin: options.heartbeatMargin ?? PubSubClient.DefaultHeartbeatMargin,
      probeInterval: options.probeInterval ?? PubSubClient.DefaultProbeInterval,
      maxQueueBytes: options.maxQueueBytes ?? PubSubClient.DefaultMaxQueueBytes,
      sendBufferLimit: options.sendBufferLimit ?? PubSubClient.DefaultSendBufferLimit,
    };
    this.backoff = new Backoff(reconnectOptions.initialDelay, reconnectOptions.maxDelay);
    const storage = options.rememberTransport === false ? null : options.storage === undefined ? TransportSelector.defaultStorage() : options.storage;
    this.selector = new TransportSelector(this.settings.transports, storage, `pubsub.transport ${this.url}`);
    const fetchImpl = options.fetch ?? (globalThis as { fetch?: FetchFunction }).fetch;
    // Called unbound, a browser's fetch throws "Illegal invocation".
    this.fetchImpl = fetchImpl === undefined ? missingFetch : fetchImpl.bind(globalThis);
    this.tokenSource = options.token;
    this.webSocket = options.WebSocket;
    this.eventSource = options.EventSource;
    this.withCredentials = options.withCredentials ?? false;
    this.backlog = new OutboundQueue(this.settings.maxQueueBytes);
    this.subscriptionOwner = {
      unsubscribe: (subscription) => this.unsubscribe(subscription),
      publish: (channel, data) => this.publish(channel, data),
      history: (channel, historyOptions) => this.history(channel, historyOptions),
      reportError: (error) => this.emit("error", error),
    };
  }

  /** The connection state. */
  get state(): ConnectionState {
    return this._state;
  }

  /** The transport in use; null unless connected. */
  get transport(): TransportName | null {
    return this._state === "connected" ? this.primary?.name ?? null : null;
  }

  /** The server session's id; null unless connected. */
  get session(): string | null {
    return this._state === "connected" ? this.primary?.info?.session ?? null : null;
  }

  /**
   * Connects, and resolves once connected. Transient failures are retried with backoff (the state
   * stays `connecting`); the promise rejects when the client is closed first, when the server
   * refuses the client for good (such as a 403 from negotiate, or no common transport), or when
   * `reconnect.maxAttempts` attempts failed.
   */
  connect(): Promise<void> {
    if (this._state === "connected") {
      return Promise.resolve();
    }
    const connected = new Promise<void>((resolve, reject) => this.connectWaiters.push({ resolve, reject }));
    if (this._state === "closed") {
      this.backoff.reset();
      this.setState("connecting");
      void this.attempt(this.generation);
    }
    return connected;
  }

  /**
   * Closes the connection, stops reconnecting, and fails pending requests with `closed`.
   * Subscriptions stay, with their positions: a later `connect()` re-subscribes and recovers.
   */
  close(): void {
    this.shutdown(null);
  }

  /**
   * Subscribes to a channel. The subscription is sent when connected (at once if connected now)
   * and renewed after every reconnect. Listen for `message` before the first `await`.
   */
  subscribe(channel: string, options: SubscribeOptions = {}): Subscription {
    if (typeof channel !== "string" || channel === "") {
      throw new PubSubError("invalid_channel", "A channel name must be a non-empty string.");
    }
    if (this.subscriptions.has(channel)) {
      throw new PubSubError("already_subscribed",
        `Already subscribed to '${channel}'; use getSubscription() to reach it, or unsubscribe() it first.`);
    }
    const subscription = new Subscription(channel, this.subscriptionOwner, options.since ?? null);
    this.subscriptions.set(channel, subscription);
    this.subscriptionVersion++;
    if (this.primary !== null && this._state === "connected") {
      this.sendSubscribe(this.primary, subscription, false);
    }
    return subscription;
  }

  /** The subscription to a channel, if there is one. */
  getSubscription(channel: string): Subscription | undefined {
    return this.subscriptions.get(channel);
  }

  /** All current subscriptions. */
  getSubscriptions(): Subscription[] {
    return [...this.subscriptions.values()];
  }

  /**
   * Publishes `data` to a channel: any JSON value, or bytes (a `Uint8Array`, another typed array
   * or DataView, or an `ArrayBuffer`), sent as a binary publication. Resolves with the publication's position. Publishes made while the
   * client reconnects wait in a bounded queue; one whose connection drops after it was sent
   * rejects with `connection_lost`, since it may or may not have been published.
   */
  publish(channel: string, data: unknown): Promise<StreamPosition> {
    let payload: { data: unknown } | { binary: string };
    if (ArrayBuffer.isView(data)) {
      payload = { binary: toBase64(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)) };
    } else if (data instanceof ArrayBuffer) {
      payload = { binary: toBase64(new Uint8Array(data)) };
    } else if (data === undefined || typeof data === "function" || typeof data === "symbol") {
      return Promise.reject(new PubSubError("bad_request", `Publication data must be a JSON value or bytes, not ${typeof data}.`));
    } else {
      payload = { data };
    }
    return this.request({ type: "publish", channel, ...payload }, "bulk", (result) => position(result));
  }

  /** Reads a channel's history: the publications after `since` (or the latest ones), oldest first. */
  history(channel: string, options: HistoryOptions = {}): Promise<HistoryResult> {
    const frame: Record<string, unknown> = { type: "history", channel };
    if (options.since !== undefined) {
      frame.since = { epoch: options.since.epoch, offset: options.since.offset };
    }
    if (options.limit !== undefined) {
      frame.limit = options.limit;
    }
    return this.request(frame, "bulk", (result) => {
      const publications = Array.isArray(result.publications) ? (result.publications as Record<string, unknown>[]) : [];
      return {
        ...position(result),
        publications: publications.map((publication) => ({
          offset: Number(publication.offset),
          data: typeof publication.binary === "string" ? fromBase64(publication.binary) : publication.data,
        })),
      };
    });
  }

  // ---- Connecting ------------------------------------------------------------------------------

  private async attempt(generation: number): Promise<void> {
    let connection: Connection;
    try {
      connection = await this.establish(generation);
    } catch (error) {
      if (generation !== this.generation) {
        return;
      }
      const failure = asPubSubError(error);
      if (isTerminal(failure) || !this.settings.reconnect || this.backoff.attempts >= this.settings.maxAttempts) {
        this.shutdown(failure);
        return;
      }
      this.emit("error", failure);
      this.scheduleRetry(generation);
      return;
    }
    if (generation !== this.generation) {
      connection.close();
      return;
    }
    this.adopt(connection, false);
  }

  /**
   * Waits the next backoff delay, then tries again. A browser that reports it is back online
   * (the window's `online` event) cuts the wait short: the network that failed is likely back.
   */
  private scheduleRetry(generation: number): void {
    const retry = (): void => {
      this.stopRetry();
      if (generation === this.generation) {
        void this.attempt(generation);
      }
    };
    this.retryTimer = setTimeout(retry, this.backoff.next());
    const events = globalThis as { addEventListener?: (type: string, listener: () => void) => void };
    if (typeof events.addEventListener === "function") {
      events.addEventListener("online", retry);
      this.stopOnlineListener = () => (globalThis as unknown as EventTarget).removeEventListener("online", retry);
    }
  }

  private stopRetry(): void {
    clearTimeout(this.retryTimer);
    this.stopOnlineListener?.();
    this.stopOnlineListener = null;
  }

  /** Negotiates, then tries each transport in order; resolves with the first connection that delivers `connected`. */
  private async establish(generation: number): Promise<Connection> {
    const token = await this.resolveToken();
    const http: HttpContext = { base: this.base, token, withCredentials: this.withCredentials, fetch: this.fetchImpl };
    let info: NegotiateInfo | null = null;
    if (this.settings.negotiate) {
      const negotiated = await negotiate(http, this.settings.negotiateTimeout, this.cancel.signal);
      info = negotiated.info;
      this.rtt = negotiated.rtt;
    }
    this.offered = info?.transports ?? null;
    this.maxMessageSize = info?.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.context = {
      ...http,
      WebSocket: this.webSocket,
      EventSource: this.eventSource,
      pollTimeout: (info?.pollTimeout ?? DEFAULT_POLL_TIMEOUT_SECONDS) * 1000,
      requestTimeout: this.settings.requestTimeout,
      sendBufferLimit: this.settings.sendBufferLimit,
    };

    const order = this.selector.order(this.offered);
    if (order.length === 0) {
      const error = new PubSubError("no_transport",
        `The server offers ${this.offered!.join(", ") || "no transports"}; this client allows ${this.settings.transports.join(", ")}.`);
      // A configuration mismatch that retrying will not change.
      throw markTerminal(error);
    }
    const failures: string[] = [];
    for (const name of order) {
      if (generation !== this.generation) {
        throw new PubSubError("closed", "The client was closed.");
      }
      const connection = this.open(name);
      this.opening = connection;
      try {
        await connection.opened;
        this.selector.succeeded(name);
        return connection;
      } catch (error) {
        if (generation !== this.generation) {
          throw new PubSubError("closed", "The client was closed.");
        }
        const failure = asPubSubError(error);
        failures.push(`${name}: ${failure.message}`);
        this.selector.failed(name);
        if (order.length > 1) {
          this.emit("error", failure);
        }
      } finally {
        if (this.opening === connection) {
          this.opening = null;
        }
      }
    }
    throw new PubSubError("transport_failed", `No transport connected. ${failures.join(" ")}`);
  }

  private open(name: TransportName): Connection {
    return new Connection(
      name,
      this.context!,
      {
        connectTimeout: this.selector.timeout(name, this.settings.negotiate ? this.rtt : null, this.settings.transportTimeout),
        maxMessageSize: this.maxMessageSize,
        maxQueueBytes: this.settings.maxQueueBytes,
        heartbeatMargin: this.settings.heartbeatMargin,
      },
      this.connectionListener,
    );
  }

  private async resolveToken(): Promise<string | null> {
    const source = this.tokenSource;
    if (source === undefined) {
      return null;
    }
    if (typeof source === "string") {
      return source;
    }
    try {
      return await source();
    } catch (error) {
      throw new PubSubError("unauthorized", `The token function failed: ${describe(error)}`, { cause: error });
    }
  }

  /** Makes a connected session the one in use: re-subscribes every channel, sends what waited. */
  private adopt(connection: Connection, upgrade: boolean): void {
    this.primary = connection;
    this.backoff.reset();
    if (!upgrade) {
      for (const subscription of this.subscriptions.values()) {
        this.sendSubscribe(connection, subscription, false);
      }
    }
    const waiting = this.backlog.takeBulk();
    connection.queue.appendBulk(waiting);
    connection.scheduleFlush();
    this.setState("connected");
    const info = connection.info!;
    this.emit("connected", { transport: connection.name, session: info.session, node: info.node, upgrade });
    for (const waiter of this.connectWaiters.splice(0)) {
      waiter.resolve();
    }
    this.scheduleProbe();
  }

  private readonly connectionListener: ConnectionListener = {
    onFrame: (connection, frame) => this.onFrame(connection, frame),
    onBadFrame: (_connection, error) => this.emit("error", error),
    onClosed: (connection, closed) => this.onConnectionClosed(connection, closed),
  };

  private onConnectionClosed(connection: Connection, closed: ConnectionClosed): void {
    this.failInflight(connection, closed.error);
    if (connection === this.probe) {
      this.probe = null;
      this.scheduleProbe();
      return;
    }
    if (this.retiring.delete(connection) || connection !== this.primary) {
      return;
    }
    this.primary = null;
    this.stopProbe();
    this.stopResubscribing();
    // Frames that never left can go on the next connection; the subscribes are made anew there.
    this.backlog.appendBulk(connection.queue.takeBulk());
    for (const subscription of this.subscriptions.values()) {
      subscription.handleDisconnected();
    }
    if (!closed.reconnect || !this.settings.reconnect) {
      this.shutdown(closed.error);
      return;
    }
    this.emit("error", closed.error);
    this.setState("reconnecting", closed.error);
    this.scheduleRetry(this.generation);
  }

  /** Fails the requests sent on a connection that ended: their outcome is unknown. */
  private failInflight(connection: Connection, cause: PubSubError): void {
    for (const id of connection.inflight) {
      const request = this.requests.get(id);
      if (request !== undefined) {
        this.settle(id, request);
        request.onFailed(new PubSubError("connection_lost",
          `The connection was lost before the reply came; the request may or may not have taken effect (${cause.message})`,
          { cause }));
      }
    }
    connection.inflight.clear();
  }

  private shutdown(error: PubSubError | null): void {
    if (this._state === "closed") {
      return;
    }
    this.generation++;
    this.cancel.abort();
    this.cancel = new AbortController();
    this.stopRetry();
    this.stopProbe();
    this.stopResubscribing();
    for (const connection of [this.primary, this.opening, ...this.retiring]) {
      connection?.close();
    }
    this.primary = null;
    this.opening = null;
    this.retiring.clear();
    this.backlog.clear();
    const failure = error ?? new PubSubError("closed", "The client was closed.");
    for (const [id, request] of [...this.requests]) {
      this.settle(id, request);
      request.onFailed(failure);
    }
    for (const subscription of this.subscriptions.values()) {
      subscription.handleDisconnected();
    }
    this.setState("closed", error ?? undefined);
    for (const waiter of this.connectWaiters.splice(0)) {
      waiter.reject(failure);
    }
  }

  private setState(state: ConnectionState, error?: PubSubError): void {
    const previous = this._state;
    const transport = state === "connected" ? this.primary?.name ?? null : null;
    if (previous === state && transport === this.lastTransport && error === undefined) {
      return;
    }
    this._state = state;
    this.lastTransport = transport;
    this.emit("state", error === undefined ? { state, previous, transport } : { state, previous, transport, error });
  }

  // ---- Frames ----------------------------------------------------------------------------------

  private onFrame(connection: Connection, frame: ServerFrame | UnknownFrame): void {
    switch (frame.type) {
      case "message":
        this.onMessage(connection, frame as MessageFrame);
        break;
      case "reply":
        this.onReply(connection, frame as ReplyFrame);
        break;
      case "ping":
        if (!connection.queue.hasControl(PONG)) {
          connection.enqueue({ text: PONG, bytes: PONG.length, lane: "control" });
        }
        break;
      case "error": {
        const error = frame as ErrorFrame;
        this.emit("error", new PubSubError(error.code, error.message));
        break;
      }
      case "unsubscribed":
        this.onUnsubscribed(connection, frame as UnsubscribedFrame);
        break;
      case "subscribed":
        this.onSubscribed(connection, frame as SubscribedFrame);
        break;
      default:
        // pong (its arrival already counted as life), connected again, or a frame type added
        // after this client was written: ignored (section 2).
        break;
    }
  }

  private onMessage(connection: Connection, frame: MessageFrame): void {
    const subscription = this.subscriptions.get(frame.channel);
    // A message before the subscribe's reply belongs to an earlier subscription of this session.
    if (subscription !== undefined && connection.activeChannels.has(frame.channel)) {
      subscription.handleMessage(frame);
    }
  }

  private onReply(connection: Connection, frame: ReplyFrame): void {
    connection.inflight.delete(frame.id);
    const request = this.requests.get(frame.id);
    if (request !== undefined) {
      this.settle(frame.id, request);
      request.onReply(frame, connection);
    }
    if (this.retiring.has(connection) && connection.inflight.size === 0) {
      this.retiring.delete(connection);
      connection.close();
    }
  }

  private onUnsubscribed(connection: Connection, frame: UnsubscribedFrame): void {
    if (!connection.activeChannels.delete(frame.channel) || connection !== this.primary) {
      return;
    }
    const subscription = this.subscriptions.get(frame.channel);
    if (subscription !== undefined) {
      this.subscriptions.delete(frame.channel);
      this.subscriptionVersion++;
      subscription.handleEnded(new PubSubError(frame.code, frame.reason || `The server ended the subscription to '${frame.channel}'.`));
    }
  }

  /**
   * On a live subscription: the node lost publications it could not recover (section 2.4), and
   * the subscription continues from the frame's position. Otherwise: a subscription the server
   * made without a subscribe frame (not one this client asks for, but the protocol allows it).
   */
  private onSubscribed(connection: Connection, frame: SubscribedFrame): void {
    const subscription = this.subscriptions.get(frame.channel);
    if (subscription === undefined) {
      return;
    }
    if (connection.activeChannels.has(frame.channel)) {
      if (frame.recovered === false) {
        subscription.handleLiveGap({ epoch: frame.epoch, offset: frame.offset });
      }
      return;
    }
    if (connection !== this.primary) {
      return;
    }
    connection.activeChannels.add(frame.channel);
    const since = frame.recovered === undefined ? null : subscription.recoveryPosition();
    subscription.handleSubscribed(frame, since);
  }

  // ---- Requests --------------------------------------------------------------------------------

  private request<T>(frame: Record<string, unknown>, lane: Lane, parse: (result: Record<string, unknown>) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.enqueueRequest(frame, lane, {
        onReply: (reply) => {
          if (reply.error !== undefined) {
            reject(new PubSubError(reply.error.code, reply.error.message));
            return;
          }
          try {
            resolve(parse(reply.result!));
          } catch (error) {
            reject(new PubSubError("bad_frame", `The reply to a ${String(frame.type)} could not be read: ${describe(error)}`));
          }
        },
        onFailed: reject,
      }, null);
    });
  }

  /**
   * Queues a request on `connection` (or, when null, on the connection in use, or in the backlog
   * while reconnecting). Failures (closed client, oversized frame, full queue) go to `onFailed`.
   */
  private enqueueRequest(
    frame: Record<string, unknown>,
    lane: Lane,
    handlers: Pick<PendingRequest, "onReply" | "onFailed">,
    connection: Connection | null,
  ): void {
    if (this._state === "closed") {
      handlers.onFailed(new PubSubError("closed", "The client is closed; call connect() first."));
      return;
    }
    const id = this.nextId++;
    let text: string;
    try {
      text = JSON.stringify({ ...frame, id });
    } catch (error) {
      handlers.onFailed(new PubSubError("bad_request", `The request could not be serialized as JSON: ${describe(error)}`, { cause: error }));
      return;
    }
    const bytes = utf8Length(text);
    if (bytes > this.maxMessageSize) {
      handlers.onFailed(new PubSubError("message_too_large",
        `The ${String(frame.type)} frame is ${bytes} bytes; the server accepts at most ${this.maxMessageSize}.`));
      return;
    }
    const outbound: OutboundFrame = { text, bytes, lane, id };
    const target = connection ?? (this._state === "connected" ? this.primary : null);
    const queued = target !== null ? target.enqueue(outbound) : this.backlog.enqueue(outbound);
    if (!queued) {
      handlers.onFailed(new PubSubError("queue_full",
        `${this.settings.maxQueueBytes} bytes are already waiting to be sent; the ${String(frame.type)} was not queued.`));
      return;
    }
    const request: PendingRequest = { frame: outbound, ...handlers, timer: undefined };
    request.timer = setTimeout(() => this.timeOut(id, request), this.settings.requestTimeout);
    this.requests.set(id, request);
  }

  private timeOut(id: number, request: PendingRequest): void {
    this.settle(id, request);
    // A request that never left is taken back, so it cannot happen after its caller was told it failed.
    const unsent = this.backlog.remove(request.frame)
      || [this.primary, this.probe].some((connection) => connection?.queue.remove(request.frame) ?? false);
    request.onFailed(new PubSubError("timeout", unsent
      ? `The ${frameType(request.frame)} could not be sent within ${this.settings.requestTimeout} ms; it was not sent.`
      : `No reply to the ${frameType(request.frame)} within ${this.settings.requestTimeout} ms; it may or may not have taken effect.`));
  }

  private settle(id: number, request: PendingRequest): void {
    clearTimeout(request.timer);
    this.requests.delete(id);
  }

  // ---- Subscriptions ---------------------------------------------------------------------------

  /**
   * Sends a subscribe for `subscription` on `connection`, with `since` when the subscription has
   * a position. A probe's subscribe only checks that the new session can take over; the reply of
   * a real one moves the subscription on.
   */
  private sendSubscribe(connection: Connection, subscription: Subscription, probe: boolean): void {
    const since = subscription.recoveryPosition();
    const frame: Record<string, unknown> = { type: "subscribe", channel: subscription.channel };
    if (since !== null) {
      frame.since = { epoch: since.epoch, offset: since.offset };
    }
    this.enqueueRequest(frame, "control", {
      onReply: (reply) => {
        if (probe) {
          this.onProbeSubscribed(connection, subscription, since, reply);
        } else {
          this.onSubscribeReply(connection, subscription, since, reply);
        }
      },
      onFailed: (error) => {
        if (probe) {
          this.abortProbe(connection);
        } else if (error.code === "timeout" && connection === this.primary) {
          // No answer to a subscribe: the session is not working. Start over.
          connection.fail(error, true);
        }
      },
    }, connection);
  }

  private onSubscribeReply(connection: Connection, subscription: Subscription, since: StreamPosition | null, reply: ReplyFrame): void {
    if (this.subscriptions.get(subscription.channel) !== subscription || connection !== this.primary) {
      return;
    }
    if (reply.error !== undefined) {
      const error = new PubSubError(reply.error.code, reply.error.message);
      if (TRANSIENT_CODES.has(error.code)) {
        // The broker is unreachable or the server stumbled: the subscription is still wanted, so it
        // stays and is asked for again after a backoff delay (and anew after any reconnect).
        const delay = subscription.handleTransientFailure(error);
        const timer = setTimeout(() => {
          this.resubscribeTimers.delete(subscription);
          if (this.primary === connection && this.subscriptions.get(subscription.channel) === subscription) {
            this.sendSubscribe(connection, subscription, false);
          }
        }, delay);
        this.resubscribeTimers.set(subscription, timer);
        return;
      }
      this.subscriptions.delete(subscription.channel);
      this.subscriptionVersion++;
      subscription.handleEnded(error);
      return;
    }
    let result: SubscribeResult;
    try {
      result = position(reply.result!);
    } catch (error) {
      this.emit("error", asPubSubError(error));
      return;
    }
    connection.activeChannels.add(subscription.channel);
    subscription.handleSubscribed({ ...result, ...(typeof reply.result!.recovered === "boolean" ? { recovered: reply.result!.recovered } : {}) }, since);
  }

  private stopResubscribing(): void {
    for (const timer of this.resubscribeTimers.values()) {
      clearTimeout(timer);
    }
    this.resubscribeTimers.clear();
  }

  private unsubscribe(subscription: Subscription): Promise<void> {
    if (this.subscriptions.get(subscription.channel) !== subscription) {
      return Promise.resolve();
    }
    this.subscriptions.delete(subscription.channel);
    this.subscriptionVersion++;
    clearTimeout(this.resubscribeTimers.get(subscription));
    this.resubscribeTimers.delete(subscription);
    subscription.handleEnded(null);
    for (const connection of this.retiring) {
      connection.activeChannels.delete(subscription.channel);
    }
    const connection = this.primary;
    if (connection === null || this._state !== "connected") {
      return Promise.resolve();
    }
    connection.activeChannels.delete(subscription.channel);
    return new Promise<void>((resolve, reject) => {
      this.enqueueRequest({ type: "unsubscribe", channel: subscription.channel }, "control", {
        onReply: (reply) => {
          // not_subscribed: the subscribe it follows failed, or the server had ended it already. Either way it is over.
          if (reply.error !== undefined && reply.error.code !== "not_subscribed") {
            reject(new PubSubError(reply.error.code, reply.error.message));
          } else {
            resolve();
          }
        },
        // A session that is gone holds no subscriptions.
        onFailed: (error) => (error.code === "timeout" ? reject(error) : resolve()),
      }, connection);
    });
  }

  // ---- Moving up to WebSocket --------------------------------------------------------------------

  private canProbe(): boolean {
    return this.settings.probeInterval > 0
      && this._state === "connected"
      && this.primary !== null
      && this.primary.name !== "websocket"
      && this.settings.transports.includes("websocket")
      && (this.offered === null || this.offered.includes("websocket"));
  }

  private scheduleProbe(): void {
    clearTimeout(this.probeTimer);
    if (this.canProbe()) {
      this.probeTimer = setTimeout(() => void this.runProbe(), this.settings.probeInterval);
    }
  }

  private stopProbe(): void {
    clearTimeout(this.probeTimer);
    const probe = this.probe;
    this.probe = null;
    if (probe !== null) {
      this.failInflight(probe, new PubSubError("closed", "The upgrade was abandoned."));
      probe.close();
    }
  }

  /**
   * Opens a WebSocket session beside the current one and moves to it without losing or doubling
   * a publication: each channel is subscribed on the new session with `since` = its position, so
   * the new session replays from there while the old one keeps delivering; both feed the same
   * subscriptions, which drop what they have delivered already (positions are per channel and the
   * same on both sessions). Once every channel is subscribed on the new session, it takes over,
   * and the old one is closed when its pending replies are in. Anything unusual (a refused or
   * unrecovered channel, a change to the subscriptions meanwhile) abandons the attempt, which is
   * always safe: the old session never stopped.
   */
  private async runProbe(): Promise<void> {
    if (!this.canProbe() || this.probe !== null) {
      return;
    }
    const subscriptions = [...this.subscriptions.values()];
    if (subscriptions.some((subscription) => subscription.state !== "subscribed")) {
      this.scheduleProbe();
      return;
    }
    // A long-lived connection's token may have expired: the probe asks for a fresh one, as a connect does.
    let token: string | null;
    try {
      token = await this.resolveToken();
    } catch {
      this.scheduleProbe();
      return;
    }
    if (!this.canProbe() || this.probe !== null || this.context === null) {
      return;
    }
    this.context = { ...this.context, token };
    const probe = this.open("websocket");
    this.probe = probe;
    try {
      await probe.opened;
    } catch {
      if (this.probe === probe) {
        this.probe = null;
        this.scheduleProbe();
      }
      return;
    }
    if (this.probe !== probe || !this.canProbe()) {
      probe.close();
      return;
    }
    this.probeVersion = this.subscriptionVersion;
    this.probeSubscribesLeft = subscriptions.length;
    if (subscriptions.length === 0) {
      this.completeProbe(probe);
      return;
    }
    for (const subscription of subscriptions) {
      this.sendSubscribe(probe, subscription, true);
    }
  }

  private onProbeSubscribed(probe: Connection, subscription: Subscription, since: StreamPosition | null, reply: ReplyFrame): void {
    if (this.probe !== probe) {
      return;
    }
    if (reply.error !== undefined || since === null || reply.result?.recovered !== true) {
      this.abortProbe(probe);
      return;
    }
    probe.activeChannels.add(subscription.channel);
    if (--this.probeSubscribesLeft === 0) {
      this.completeProbe(probe);
    }
  }

  private abortProbe(probe: Connection): void {
    if (this.probe !== probe) {
      return;
    }
    this.stopProbe();
    this.scheduleProbe();
  }

  private completeProbe(probe: Connection): void {
    const old = this.primary;
    if (old === null || this.probeVersion !== this.subscriptionVersion || this._state !== "connected") {
      this.abortProbe(probe);
      return;
    }
    this.probe = null;
    old.queue.clearControl();
    const unsent = old.queue.takeBulk();
    probe.queue.appendBulk(unsent);
    this.selector.succeeded("websocket");
    if (old.inflight.size === 0) {
      old.close();
    } else {
      // Its replies still come; it closes when the last one is in (or the requests time out).
      this.retiring.add(old);
      setTimeout(() => {
        if (this.retiring.delete(old)) {
          this.failInflight(old, new PubSubError("timeout", "The replaced connection did not answer in time."));
          old.close();
        }
      }, this.settings.requestTimeout);
    }
    this.adopt(probe, true);
  }
}

function position(result: Record<string, unknown>): StreamPosition {
  if (typeof result.epoch !== "string" || typeof result.offset !== "number") {
    throw new PubSubError("bad_frame", "A reply lacks its position ('epoch', 'offset').");
  }
  return { epoch: result.epoch, offset: result.offset };
}

function frameType(frame: OutboundFrame): string {
  return /"type":"([a-z]+)"/.exec(frame.text)?.[1] ?? "request";
}

function asPubSubError(error: unknown): PubSubError {
  return error instanceof PubSubError ? error : new PubSubError("transport_failed", describe(error), { cause: error });
}

const missingFetch: FetchFunction = () =>
  Promise.reject(new PubSubError("transport_failed", "There is no fetch implementation; pass one as the `fetch` option."));
