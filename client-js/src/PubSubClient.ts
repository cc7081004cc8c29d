import { Backoff } from "./Backoff.js";
import { Emitter } from "./Emitter.js";
import { binaryBytes } from "./encoding.js";
import { historyRequest, presenceRequest, readPosition } from "./frames.js";
import { PubSubError } from "./PubSubError.js";
import { Publisher } from "./Publisher.js";
import type { Subscription, SubscriptionOwner } from "./Subscription.js";
import { Supervisor } from "./Supervisor.js";
import { Defaults, resolveSettings } from "./settings.js";
import { TransportSelector } from "./TransportSelector.js";
import type {
  ClientEvents,
  ConnectionState,
  FetchFunction,
  HistoryOptions,
  HistoryResult,
  Logger,
  PresenceMember,
  PresenceResult,
  PresenceStats,
  PublishOptions,
  PubSubClientOptions,
  StreamPosition,
  SubscribeOptions,
  TransportName,
} from "./types.js";

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
  static readonly DefaultNegotiateTimeout = Defaults.negotiateTimeout;
  static readonly DefaultRequestTimeout = Defaults.requestTimeout;
  static readonly DefaultHeartbeatMargin = Defaults.heartbeatMargin;
  static readonly DefaultProbeInterval = Defaults.probeInterval;
  static readonly DefaultMaxQueueBytes = Defaults.maxQueueBytes;
  static readonly DefaultSendBufferLimit = Defaults.sendBufferLimit;
  static readonly DefaultPublishRetries = Defaults.publishRetries;

  /** The endpoints' prefix URL, absolute. */
  readonly url: string;

  /** The run loop, which owns the connection, the requests and the subscriptions. */
  private readonly supervisor: Supervisor;
  /** Publishes, with their idempotency keys and retries. */
  private readonly publisher: Publisher;

  /**
   * @param url the endpoints' prefix, such as `https://example.com/pubsub` or, in a page, `/pubsub`.
   */
  constructor(url: string, options: PubSubClientOptions = {}) {
    super();
    const location = (globalThis as { location?: { href: string } }).location?.href;
    let base: URL;
    try {
      base = new URL(url, location);
    } catch {
      throw new TypeError(`'${url}' is not a URL${location === undefined ? " (outside a browser it must be absolute)" : ""}.`);
    }
    if (base.protocol === "ws:" || base.protocol === "wss:") {
      base.protocol = base.protocol === "wss:" ? "https:" : "http:";
    }
    this.url = base.href;

    const { settings, reconnectOptions } = resolveSettings(options);
    const storage = options.rememberTransport === false ? null : options.storage === undefined ? TransportSelector.defaultStorage() : options.storage;
    const fetchImpl = options.fetch ?? (globalThis as { fetch?: FetchFunction }).fetch;
    const owner: SubscriptionOwner = {
      unsubscribe: (subscription) => this.supervisor.unsubscribe(subscription),
      publish: (channel, data, publishOptions) => this.publish(channel, data, publishOptions),
      history: (channel, historyOptions) => this.history(channel, historyOptions),
      reportError: (error) => this.emit("error", error),
    };
    this.supervisor = new Supervisor({
      base,
      settings,
      backoff: new Backoff(reconnectOptions.initialDelay, reconnectOptions.maxDelay),
      selector: new TransportSelector(settings.transports, storage, `pubsub.transport ${this.url}`),
      // Called unbound, a browser's fetch throws "Illegal invocation".
      fetch: fetchImpl === undefined ? missingFetch : fetchImpl.bind(globalThis),
      token: options.token,
      WebSocket: options.WebSocket,
      EventSource: options.EventSource,
      withCredentials: options.withCredentials ?? false,
      logger: options.logger === undefined ? defaultLogger() : options.logger,
    }, (event, value) => this.emit(event, value), owner);
    this.publisher = new Publisher(this.supervisor.requests, settings.publishRetries, settings.requestTimeout);
  }

  /** The connection state. */
  get state(): ConnectionState {
    return this.supervisor.state;
  }

  /** The transport in use; null unless connected. */
  get transport(): TransportName | null {
    return this.supervisor.current()?.name ?? null;
  }

  /** The server session's id; null unless connected. */
  get session(): string | null {
    return this.supervisor.current()?.info?.session ?? null;
  }

  /**
   * Connects, and resolves once connected. Transient failures are retried with backoff (the state
   * stays `connecting`); the promise rejects when the client is closed first, when the server
   * refuses the client for good (such as a 403 from negotiate, or no common transport), or when
   * `reconnect.maxAttempts` attempts failed.
   */
  connect(): Promise<void> {
    return this.supervisor.connect();
  }

  /**
   * Closes the connection, stops reconnecting, and fails pending requests with `closed`.
   * Subscriptions stay, with their positions: a later `connect()` re-subscribes and recovers.
   */
  close(): void {
    this.supervisor.shutdown(null);
  }

  /**
   * Subscribes to a channel. The subscription is sent when connected (at once if connected now)
   * and renewed after every reconnect. Listen for `message` before the first `await`.
   */
  subscribe(channel: string, options: SubscribeOptions = {}): Subscription {
    return this.supervisor.subscriptions.add(channel, options.since ?? null);
  }

  /** The subscription to a channel, if there is one: the application's, or one the server made (see the `subscribed` event). */
  getSubscription(channel: string): Subscription | undefined {
    return this.supervisor.subscriptions.get(channel);
  }

  /** All current subscriptions, the server's included. */
  getSubscriptions(): Subscription[] {
    return this.supervisor.subscriptions.all();
  }

  /**
   * Publishes `data` to a channel: any JSON value, or bytes (a `Uint8Array`, another typed array
   * or DataView, or an `ArrayBuffer`), sent as a binary publication. Resolves with the
   * publication's position. Publishes made while the client reconnects wait in a bounded queue.
   * One whose connection drops after it was sent, or that the server could not take now
   * (`unavailable`, `timeout`), is sent again with the same idempotency key (`publishRetries`
   * times, within `requestTimeout`), so it is published once; without retries it rejects with
   * `connection_lost`, since it may or may not have been published. An `idempotencyKey` that is
   * not 1–128 characters rejects with `bad_request` before anything is sent.
   */
  publish(channel: string, data: unknown, options: PublishOptions = {}): Promise<StreamPosition> {
    return this.publisher.publish(channel, data, options);
  }

  /**
   * Who is subscribed to a channel, on every node (at most 1,000; `truncated` when there are
   * more). Needs the right to subscribe (else `forbidden`) and a template that keeps presence
   * (else `presence_disabled`); the client need not be subscribed itself.
   */
  presence(channel: string): Promise<PresenceResult> {
    return this.supervisor.requests.request(presenceRequest("presence", channel), "bulk", (result) => {
      if (!Array.isArray(result.members)) {
        throw new PubSubError("bad_frame", "A presence reply lacks its 'members'.");
      }
      return { members: (result.members as unknown[]).map(readMember), truncated: result.truncated === true };
    });
  }

  /** How many subscriptions a channel's presence holds (`clients`) and how many distinct signed-in users they are (`users`). Rules as `presence()`. */
  presenceStats(channel: string): Promise<PresenceStats> {
    return this.supervisor.requests.request(presenceRequest("presence_stats", channel), "bulk", (result) => {
      if (typeof result.clients !== "number" || typeof result.users !== "number") {
        throw new PubSubError("bad_frame", "A presence_stats reply lacks 'clients' or 'users'.");
      }
      return { clients: result.clients, users: result.users };
    });
  }

  /** Reads a channel's history: the publications after `since` (or the latest ones), oldest first. */
  history(channel: string, options: HistoryOptions = {}): Promise<HistoryResult> {
    return this.supervisor.requests.request(historyRequest(channel, options), "bulk", (result) => {
      const publications = Array.isArray(result.publications) ? (result.publications as Record<string, unknown>[]) : [];
      return {
        ...readPosition(result),
        publications: publications.map((publication) => ({
          offset: Number(publication.offset),
          data: typeof publication.binary === "string" || publication.binary instanceof Uint8Array
            ? binaryBytes(publication.binary)
            : publication.data,
        })),
      };
    });
  }
}

/** One member of a presence reply; `user` and `info` only when the server sent them. */
function readMember(value: unknown): PresenceMember {
  const member = value as Record<string, unknown> | null;
  if (typeof member !== "object" || member === null || typeof member.session !== "string") {
    throw new PubSubError("bad_frame", "A presence member lacks its 'session'.");
  }
  const read: PresenceMember = { session: member.session };
  if (typeof member.user === "string") {
    read.user = member.user;
  }
  if (member.info !== undefined) {
    read.info = member.info;
  }
  return read;
}

/** The console, where there is one. */
function defaultLogger(): Logger | null {
  const console = (globalThis as { console?: Logger }).console;
  return typeof console?.warn === "function" ? console : null;
}

const missingFetch: FetchFunction = () =>
  Promise.reject(new PubSubError("transport_failed", "There is no fetch implementation; pass one as the `fetch` option."));
