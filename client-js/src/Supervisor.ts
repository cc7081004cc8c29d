import type { Backoff } from "./Backoff.js";
import { Connection } from "./Connection.js";
import type { ConnectionClosed, ConnectionListener } from "./Connection.js";
import { PONG } from "./frames.js";
import { JsonCodec } from "./JsonCodec.js";
import { MessagePackCodec } from "./MessagePackCodec.js";
import type { ErrorFrame, JoinLeaveFrame, MessageFrame, ReplyFrame, ServerFrame, SubscribedFrame, UnknownFrame, UnsubscribedFrame } from "./frames.js";
import { asPubSubError, resolveToken } from "./http.js";
import type { HttpContext } from "./http.js";
import { DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_POLL_TIMEOUT_SECONDS, negotiate, negotiatedEncoding } from "./negotiate.js";
import { PubSubError } from "./PubSubError.js";
import { RequestTracker } from "./RequestTracker.js";
import type { SubscriptionOwner } from "./Subscription.js";
import { SubscriptionSet } from "./SubscriptionSet.js";
import type { TransportContext } from "./Transport.js";
import type { TransportSelector } from "./TransportSelector.js";
import { TransportUpgrade } from "./TransportUpgrade.js";
import type { ClientSettings, SupervisorParts } from "./settings.js";
import type { ClientEvents, ConnectionState, TransportName } from "./types.js";

export type Emit = <K extends keyof ClientEvents>(event: K, value: ClientEvents[K]) => void;

/** One `connect()` until the client closes: its attempts, its backoff wait, its cancellation. */
interface Run {
  readonly cancel: AbortController;
  /** The connection being opened by an attempt. */
  opening: Connection | null;
  /** The backoff wait before the next attempt. */
  retry: { readonly timer: ReturnType<typeof setTimeout>; readonly stopOnline: () => void } | null;
}

/** The client's state: one value, whose kind is the public `ConnectionState`. */
type Phase =
  | { readonly kind: "closed" }
  | { readonly kind: "connecting"; readonly run: Run }
  | { readonly kind: "connected"; readonly run: Run; readonly connection: Connection }
  | { readonly kind: "reconnecting"; readonly run: Run };

/** What the last negotiate said, and the transports' context built from it. */
interface Link {
  readonly offered: readonly string[] | null;
  readonly rtt: number | null;
  context: TransportContext;
}

/**
 * The run loop behind a PubSubClient: negotiates, connects through the TransportSelector,
 * adopts the connection (the subscriptions subscribe again, the backlog goes out), watches it,
 * and when it is lost reconnects with backoff, or closes when the error is terminal. It owns
 * the state and every transition, and dispatches each connection's frames to the request
 * tracker and the subscription set.
 */
export class Supervisor {
  readonly requests: RequestTracker;
  readonly subscriptions: SubscriptionSet;
  private readonly upgrade: TransportUpgrade;
  private readonly settings: ClientSettings;
  /** Connections replaced by an upgrade that still owe replies; each closes when the last is in. */
  private readonly retiring = new Set<Connection>();
  private readonly connectWaiters: { resolve: () => void; reject: (error: PubSubError) => void }[] = [];
  private phase: Phase = { kind: "closed" };
  private link: Link | null = null;
  /** Whether the last negotiate fell back from the encoding asked for (the fall back is logged when it starts). */
  private encodingFellBack = false;

  constructor(
    private readonly parts: SupervisorParts,
    private readonly emit: Emit,
    owner: SubscriptionOwner,
  ) {
    this.settings = parts.settings;
    this.requests = new RequestTracker(this.settings.requestTimeout, this.settings.maxQueueBytes, {
      current: () => this.current(),
      accepting: () => this.phase.kind !== "closed",
      queues: () => [this.current(), this.upgrade.probe].filter((connection) => connection !== null),
    });
    this.subscriptions = new SubscriptionSet(this.requests, {
      current: () => this.current(),
      reportError: (error) => this.emit("error", error),
      announce: (subscription) => this.emit("subscribed", subscription),
    }, owner);
    this.upgrade = new TransportUpgrade(this.settings.probeInterval, this.subscriptions, {
      canUpgrade: () => this.canUpgrade(),
      prepare: () => this.prepareUpgrade(),
      openWebSocket: () => {
        // A probe's frames (its subscribe replies) are the upgrade's from the start.
        const probe = this.open("websocket");
        probe.opened.then(() => probe.deliver(), () => undefined);
        return probe;
      },
      takeOver: (probe) => this.takeOver(probe),
      abandon: (connection, error) => this.requests.failSent(connection, error),
    });
  }

  get state(): ConnectionState {
    return this.phase.kind;
  }

  /** The connection in use; null unless connected. */
  current(): Connection | null {
    return this.phase.kind === "connected" ? this.phase.connection : null;
  }

  connect(): Promise<void> {
    if (this.phase.kind === "connected") {
      return Promise.resolve();
    }
    const connected = new Promise<void>((resolve, reject) => this.connectWaiters.push({ resolve, reject }));
    if (this.phase.kind === "closed") {
      this.parts.backoff.reset();
      const run: Run = { cancel: new AbortController(), opening: null, retry: null };
      this.enter({ kind: "connecting", run });
      void this.attempt(run);
    }
    return connected;
  }

  /** Ends the run: closes every connection, fails every request (with `error`, or `closed`), rejects `connect()`. */
  shutdown(error: PubSubError | null): void {
    const phase = this.phase;
    if (phase.kind === "closed") {
      return;
    }
    const run = phase.run;
    run.cancel.abort();
    this.stopRetry(run);
    this.upgrade.stop();
    for (const connection of [this.current(), run.opening, ...this.retiring]) {
      connection?.close();
    }
    run.opening = null;
    this.retiring.clear();
    const failure = error ?? new PubSubError("closed", "The client was closed.");
    this.requests.failAll(failure);
    this.subscriptions.disconnected();
    this.enter({ kind: "closed" }, error ?? undefined);
    for (const waiter of this.connectWaiters.splice(0)) {
      waiter.reject(failure);
    }
  }

  /** Unsubscribes, telling connections that an upgrade retired as well. */
  unsubscribe: SubscriptionOwner["unsubscribe"] = (subscription) => this.subscriptions.remove(subscription, this.retiring);

  // ---- Connecting ------------------------------------------------------------------------------

  private isCurrent(run: Run): boolean {
    return this.phase.kind !== "closed" && this.phase.run === run;
  }

  private async attempt(run: Run): Promise<void> {
    let connection: Connection;
    try {
      connection = await this.establish(run);
    } catch (error) {
      if (this.isCurrent(run)) {
        this.attemptFailed(run, asPubSubError(error));
      }
      return;
    }
    if (!this.isCurrent(run)) {
      connection.close();
      return;
    }
    if (!connection.isOpen) {
      // It ended after its `connected` and before it was in use (a stopping node sends its
      // disconnect in the same batch), so its close found no connected phase to tell.
      this.attemptFailed(run, new PubSubError("connection_lost", "The session ended as it opened."));
      return;
    }
    this.adopt(run, connection, false);
  }

  /** An attempt that did not end in a connection in use: try again after the backoff, unless that is over. */
  private attemptFailed(run: Run, failure: PubSubError): void {
    if (failure.terminal || !this.settings.reconnect || this.parts.backoff.attempts >= this.settings.maxAttempts) {
      this.shutdown(failure);
      return;
    }
    this.emit("error", failure);
    this.scheduleRetry(run);
  }

  /**
   * Waits the next backoff delay, then tries again. A browser that reports it is back online
   * (the window's `online` event) cuts the wait short: the network that failed is likely back.
   */
  private scheduleRetry(run: Run): void {
    const retry = (): void => {
      this.stopRetry(run);
      if (this.isCurrent(run)) {
        void this.attempt(run);
      }
    };
    const timer = setTimeout(retry, this.parts.backoff.next());
    const events = globalThis as { addEventListener?: (type: string, listener: () => void) => void };
    let stopOnline = (): void => undefined;
    if (typeof events.addEventListener === "function") {
      events.addEventListener("online", retry);
      stopOnline = () => (globalThis as unknown as EventTarget).removeEventListener("online", retry);
    }
    run.retry = { timer, stopOnline };
  }

  private stopRetry(run: Run): void {
    if (run.retry !== null) {
      clearTimeout(run.retry.timer);
      run.retry.stopOnline();
      run.retry = null;
    }
  }

  /** Negotiates, then lets the selector try each transport in order; resolves with the first connection that delivers `connected`. */
  private async establish(run: Run): Promise<Connection> {
    const token = await resolveToken(this.parts.token);
    const http: HttpContext = { base: this.parts.base, token, withCredentials: this.parts.withCredentials, fetch: this.parts.fetch };
    const negotiated = this.settings.negotiate ? await negotiate(http, this.settings.negotiateTimeout, run.cancel.signal) : null;
    const info = negotiated?.info ?? null;
    const offered = info?.transports ?? null;
    this.requests.maxMessageSize = info?.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    const codec = this.codecFor(info?.encodings ?? null);
    this.requests.codec = codec;
    this.link = {
      offered,
      rtt: negotiated?.rtt ?? null,
      context: {
        ...http,
        codec,
        WebSocket: this.parts.WebSocket,
        EventSource: this.parts.EventSource,
        pollTimeout: (info?.pollTimeout ?? DEFAULT_POLL_TIMEOUT_SECONDS) * 1000,
        requestTimeout: this.settings.requestTimeout,
        sendBufferLimit: this.settings.sendBufferLimit,
      },
    };

    const order = this.parts.selector.order(offered);
    if (order.length === 0) {
      // A configuration mismatch that retrying will not change.
      throw new PubSubError("no_transport",
        `The server offers ${offered!.join(", ") || "no transports"}; this client allows ${this.settings.transports.join(", ")}.`, { terminal: true });
    }
    try {
      return await this.parts.selector.connect(
        order,
        (name) => (run.opening = this.open(name)),
        () => !this.isCurrent(run),
        (failure) => this.emit("error", failure));
    } finally {
      run.opening = null;
    }
  }

  private open(name: TransportName): Connection {
    const link = this.link!;
    return new Connection(name, link.context, {
      connectTimeout: this.parts.selector.timeout(name, link.rtt, this.settings.transportTimeout),
      maxMessageSize: this.requests.maxMessageSize,
      maxQueueBytes: this.settings.maxQueueBytes,
      heartbeatMargin: this.settings.heartbeatMargin,
    }, this.connectionListener);
  }

  /**
   * Makes a connected session the one in use: every channel subscribes on it (before anything an
   * event listener may add), what waited in the backlog follows, then the state turns `connected`.
   */
  private adopt(run: Run, connection: Connection, upgrade: boolean): void {
    this.parts.backoff.reset();
    if (!upgrade) {
      this.subscriptions.resubscribeAll(connection);
    }
    this.requests.drainInto(connection);
    this.enter({ kind: "connected", run, connection });
    // What the server sent since `connected` (its connect hook's subscriptions) now finds the connection in use.
    connection.deliver();
    const info = connection.info!;
    this.emit("connected", { transport: connection.name, session: info.session, node: info.node, upgrade });
    for (const waiter of this.connectWaiters.splice(0)) {
      waiter.resolve();
    }
    this.upgrade.schedule();
  }

  private readonly connectionListener: ConnectionListener = {
    onFrame: (connection, frame) => this.onFrame(connection, frame),
    onBadFrame: (_connection, error) => this.emit("error", error),
    onClosed: (connection, closed) => this.onConnectionClosed(connection, closed),
  };

  private onConnectionClosed(connection: Connection, closed: ConnectionClosed): void {
    // The upgrade hears of its probe first, so the probe's failed subscribes find it over already.
    const wasProbe = this.upgrade.onClosed(connection);
    this.requests.failSent(connection, closed.error);
    const phase = this.phase;
    if (wasProbe || this.retiring.delete(connection) || phase.kind !== "connected" || phase.connection !== connection) {
      return;
    }
    const run = phase.run;
    this.upgrade.stop();
    this.subscriptions.disconnected();
    // Frames that never left can go on the next connection; the subscribes are made anew there.
    this.requests.backlog.appendBulk(connection.queue.takeBulk());
    const reconnect = !closed.error.terminal && this.settings.reconnect;
    this.emit("disconnected", {
      code: closed.error.disconnectCode ?? null,
      reason: closed.error.disconnectReason ?? "",
      reconnect,
      error: closed.error,
    });
    if (!reconnect || !this.isCurrent(run)) {
      this.shutdown(closed.error);
      return;
    }
    this.emit("error", closed.error);
    this.enter({ kind: "reconnecting", run }, closed.error);
    this.scheduleRetry(run);
  }

  /** The one place the state changes; listeners hear of each change of state or transport. */
  private enter(next: Phase, error?: PubSubError): void {
    const previous = this.phase;
    this.phase = next;
    const transport = next.kind === "connected" ? next.connection.name : null;
    const before = previous.kind === "connected" ? previous.connection.name : null;
    if (previous.kind === next.kind && transport === before && error === undefined) {
      return;
    }
    const change = { state: next.kind, previous: previous.kind, transport };
    this.emit("state", error === undefined ? change : { ...change, error });
  }

  /**
   * The codec of the encoding asked for, when the server offers it (null: negotiation is off, so
   * the client assumes it does). One that does not gets JSON, and the logger says so once.
   */
  private codecFor(offered: readonly string[] | null): JsonCodec | MessagePackCodec {
    const wanted = this.settings.encoding;
    const encoding = negotiatedEncoding(wanted, offered);
    const fellBack = encoding !== wanted;
    if (fellBack && !this.encodingFellBack) {
      this.parts.logger?.warn(`PubSub: the server at ${this.parts.base.href} does not offer the '${wanted}' encoding `
        + `(it offers ${offered!.join(", ") || "none"}); this client uses JSON there.`);
    }
    this.encodingFellBack = fellBack;
    return encoding === "msgpack" ? MessagePackCodec.instance : JsonCodec.instance;
  }

  // ---- Moving up to WebSocket (TransportUpgrade) -------------------------------------------------

  private canUpgrade(): boolean {
    const connection = this.current();
    return connection !== null
      && connection.name !== "websocket"
      && this.settings.transports.includes("websocket")
      && (this.link?.offered == null || this.link.offered.includes("websocket"));
  }

  private async prepareUpgrade(): Promise<boolean> {
    let token: string | null;
    try {
      token = await resolveToken(this.parts.token);
    } catch {
      return false;
    }
    if (this.link === null) {
      return false;
    }
    this.link.context = { ...this.link.context, token };
    return true;
  }

  /** The probe recovered every channel: it takes over, and the old connection closes once its pending replies are in. */
  private takeOver(probe: Connection): void {
    const phase = this.phase;
    if (phase.kind !== "connected") {
      return;
    }
    const old = phase.connection;
    old.queue.clearControl();
    probe.queue.appendBulk(old.queue.takeBulk());
    this.parts.selector.succeeded("websocket");
    if (old.inflight.size === 0) {
      old.close();
    } else {
      // Its replies still come; it closes when the last one is in (or the requests time out).
      this.retiring.add(old);
      setTimeout(() => {
        if (this.retiring.delete(old)) {
          this.requests.failSent(old, new PubSubError("timeout", "The replaced connection did not answer in time."));
          old.close();
        }
      }, this.settings.requestTimeout);
    }
    this.adopt(phase.run, probe, true);
  }

  // ---- Frames ----------------------------------------------------------------------------------

  private onFrame(connection: Connection, frame: ServerFrame | UnknownFrame): void {
    switch (frame.type) {
      case "message":
        this.subscriptions.onMessage(connection, frame as MessageFrame);
        break;
      case "reply":
        this.requests.onReply(connection, frame as ReplyFrame);
        if (this.retiring.has(connection) && connection.inflight.size === 0) {
          this.retiring.delete(connection);
          connection.close();
        }
        break;
      case "ping":
        connection.enqueueControl(PONG);
        break;
      case "error": {
        const error = frame as ErrorFrame;
        this.emit("error", new PubSubError(error.code, error.message));
        break;
      }
      case "unsubscribed":
        this.subscriptions.onUnsubscribed(connection, frame as UnsubscribedFrame);
        break;
      case "subscribed":
        this.subscriptions.onSubscribed(connection, frame as SubscribedFrame);
        break;
      case "join":
      case "leave":
        this.subscriptions.onJoinLeave(connection, frame as JoinLeaveFrame);
        break;
      default:
        // pong (its arrival already counted as life), connected again, or a frame type added
        // after this client was written: ignored (section 2).
        break;
    }
  }
}
