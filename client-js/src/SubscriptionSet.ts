import type { Connection } from "./Connection.js";
import { subscribeRequest, unsubscribeRequest } from "./frames.js";
import type { JoinLeaveFrame, MessageFrame, ReplyFrame, SubscribedFrame, UnsubscribedFrame } from "./frames.js";
import { GapFill } from "./GapFill.js";
import { PubSubError } from "./PubSubError.js";
import type { RequestTracker } from "./RequestTracker.js";
import { retryRule } from "./rules.js";
import { Subscription } from "./Subscription.js";
import type { SubscriptionOwner } from "./Subscription.js";
import type { StreamPosition } from "./types.js";

/** What the subscriptions need from the supervisor. */
export interface SubscriptionHost {
  /** The connection in use while connected; null otherwise. */
  current(): Connection | null;
  /** Reports an error that belongs to no request. */
  reportError(error: PubSubError): void;
  /** Tells the application of a subscription the server made (the client's `subscribed` event). */
  announce(subscription: Subscription): void;
}

/**
 * The client's subscriptions, one per channel: subscribes each on the connection in use (with
 * `since` = its position, so the server replays what it missed), judges the replies, asks again
 * after a transient refusal, and routes `message`, `subscribed` and `unsubscribed` frames to them.
 *
 * A refused subscribe follows its code's retry rule (rules.ts, from protocol/error-codes.json):
 * `later` (`unavailable`, `timeout`, `internal`) asks again on the same connection after a
 * backoff, and anew after any reconnect; `reconnect` drops the connection (the session is gone),
 * and the new one subscribes again; `never` ends the subscription with the error.
 *
 * A `subscribed` frame for a channel the client does not hold is a subscription the server made
 * (its connect hook, the server API): it becomes a Subscription of origin "server", which a
 * reconnect subscribes again from its position like the application's own. When the server
 * subscribes a channel again without recovery before the client's subscribe (the connect hook
 * after a reconnect) while the client holds a position in the same epoch, a GapFill reads what
 * was missed from history before the live messages that wait behind it.
 */
export class SubscriptionSet {
  private readonly byChannel = new Map<string, Subscription>();
  private readonly retryTimers = new Map<Subscription, ReturnType<typeof setTimeout>>();
  /** Gap fills under way, on the connection in use; a subscription's live messages wait in its fill. */
  private readonly fills = new Map<Subscription, GapFill>();

  constructor(
    private readonly requests: RequestTracker,
    private readonly host: SubscriptionHost,
    private readonly owner: SubscriptionOwner,
  ) {}

  get(channel: string): Subscription | undefined {
    return this.byChannel.get(channel);
  }

  all(): Subscription[] {
    return [...this.byChannel.values()];
  }

  /** Adds a subscription and, when connected, subscribes it at once. */
  add(channel: string, since: StreamPosition | null): Subscription {
    if (typeof channel !== "string" || channel === "") {
      throw new PubSubError("invalid_channel", "A channel name must be a non-empty string.");
    }
    if (this.byChannel.has(channel)) {
      throw new PubSubError("already_subscribed",
        `Already subscribed to '${channel}'; use getSubscription() to reach it, or unsubscribe() it first.`);
    }
    const subscription = new Subscription(channel, this.owner, since);
    this.byChannel.set(channel, subscription);
    const connection = this.host.current();
    if (connection !== null) {
      this.subscribe(connection, subscription);
    }
    return subscription;
  }

  /** Ends a subscription by the application's wish; resolves when the server confirmed it (at once when not connected). */
  remove(subscription: Subscription, retiring: Iterable<Connection>): Promise<void> {
    if (!this.end(subscription, null)) {
      return Promise.resolve();
    }
    for (const connection of retiring) {
      connection.activeChannels.delete(subscription.channel);
    }
    const connection = this.host.current();
    if (connection === null) {
      return Promise.resolve();
    }
    connection.activeChannels.delete(subscription.channel);
    return new Promise<void>((resolve, reject) => {
      this.requests.send(unsubscribeRequest(subscription.channel), "control", {
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

  /**
   * A connection took over after a (re)connect: every subscription is subscribed on it from its
   * position, the server's too (the server does not repeat one its API made). When the connect
   * hook subscribed the new session first, its `subscribed` frame comes before the reply, which
   * is `already_subscribed` and ignored (onReply); the frame's gap fill recovers the channel.
   */
  resubscribeAll(connection: Connection): void {
    for (const subscription of this.byChannel.values()) {
      this.subscribe(connection, subscription);
    }
  }

  /** The connection in use was lost (or the client closed): retries stop, and each subscription waits for the next one. */
  disconnected(): void {
    this.stopRetries();
    // Their positions did not move: the next `subscribed` frame starts each fill again.
    this.fills.clear();
    for (const subscription of this.byChannel.values()) {
      subscription.handleDisconnected();
    }
  }

  /** Whether every subscription is established, so an upgrade may start. */
  allSubscribed(): boolean {
    return this.all().every((subscription) => subscription.state === "subscribed");
  }

  /** Whether the set is the one `snapshot` took: an upgrade that raced a subscribe or unsubscribe is abandoned. */
  unchangedSince(snapshot: readonly Subscription[]): boolean {
    return snapshot.length === this.byChannel.size && snapshot.every((subscription) => this.byChannel.get(subscription.channel) === subscription);
  }

  /**
   * For an upgrade: subscribes on a second connection from the subscription's position, and tells
   * `done` whether that session recovered it exactly (so it can take over without a gap). From the
   * reply on, that connection delivers the channel too; the subscription drops what it has seen.
   */
  subscribeAlongside(connection: Connection, subscription: Subscription, done: (recovered: boolean) => void, again = true): void {
    const since = subscription.recoveryPosition();
    this.requests.send(subscribeRequest(subscription.channel, since), "control", {
      onReply: (reply) => {
        if (reply.error?.code === "already_subscribed" && again) {
          // The server's connect hook subscribed the new session already, at the latest position:
          // that subscription is replaced by one that recovers from this client's position.
          this.requests.send(unsubscribeRequest(subscription.channel), "control", {
            onReply: () => this.subscribeAlongside(connection, subscription, done, false),
            onFailed: () => done(false),
          }, connection);
          return;
        }
        const recovered = reply.error === undefined && since !== null && reply.result?.recovered === true;
        if (recovered) {
          connection.activeChannels.add(subscription.channel);
        }
        done(recovered);
      },
      onFailed: () => done(false),
    }, connection);
  }

  // ---- Frames of a connection ----------------------------------------------------------------------

  onMessage(connection: Connection, frame: MessageFrame): void {
    const subscription = this.byChannel.get(frame.channel);
    // A message before the subscribe's reply belongs to an earlier subscription of this session.
    if (subscription === undefined || !connection.activeChannels.has(frame.channel)) {
      return;
    }
    const fill = this.fills.get(subscription);
    if (fill !== undefined) {
      fill.buffered.push(frame);
    } else {
      subscription.handleMessage(frame);
    }
  }

  /** A join or leave (section 2.9), for a channel subscribed on the connection in use; it does not move any position. */
  onJoinLeave(connection: Connection, frame: JoinLeaveFrame): void {
    const subscription = this.byChannel.get(frame.channel);
    if (subscription === undefined || typeof frame.session !== "string" || connection !== this.host.current()
      || !connection.activeChannels.has(frame.channel)) {
      return;
    }
    subscription.handleJoinLeave(frame);
  }

  onUnsubscribed(connection: Connection, frame: UnsubscribedFrame): void {
    if (!connection.activeChannels.delete(frame.channel) || connection !== this.host.current()) {
      return;
    }
    const subscription = this.byChannel.get(frame.channel);
    if (subscription !== undefined) {
      const reason = typeof frame.reason === "string" ? frame.reason : "";
      this.end(subscription, new PubSubError(frame.code, reason || `The server ended the subscription to '${frame.channel}'.`), reason);
    }
  }

  /**
   * On a live subscription: the node lost publications it could not recover (section 2.4), and
   * the subscription continues from the frame's position. Otherwise: a subscription the server
   * made without a subscribe frame (its connect hook, the server API, a cursor): a new one is
   * announced to the application; one the client holds continues, its gap filled from history
   * when the server subscribed it without recovery.
   */
  onSubscribed(connection: Connection, frame: SubscribedFrame): void {
    if (connection.activeChannels.has(frame.channel)) {
      if (frame.recovered === false) {
        this.byChannel.get(frame.channel)?.handleLiveGap({ epoch: frame.epoch, offset: frame.offset });
      }
      return;
    }
    if (connection !== this.host.current()) {
      return;
    }
    connection.activeChannels.add(frame.channel);
    const known = this.byChannel.get(frame.channel);
    if (known === undefined) {
      const subscription = new Subscription(frame.channel, this.owner, null, "server");
      this.byChannel.set(frame.channel, subscription);
      subscription.handleSubscribed(frame, null);
      this.host.announce(subscription);
      return;
    }
    const since = known.recoveryPosition();
    if (frame.recovered !== undefined || since === null) {
      known.handleSubscribed(frame, frame.recovered === undefined ? null : since);
    } else if (since.epoch !== frame.epoch) {
      // A new epoch: the channel's history was lost, and what came after `since` with it.
      known.handleSubscribed(frame, since);
    } else if (frame.offset <= since.offset) {
      known.handleSubscribed({ ...frame, recovered: true }, since);
    } else {
      this.fillGap(connection, known, since, frame);
    }
  }

  // ---- Subscribing ---------------------------------------------------------------------------------

  private subscribe(connection: Connection, subscription: Subscription): void {
    const since = subscription.recoveryPosition();
    this.requests.send(subscribeRequest(subscription.channel, since), "control", {
      onReply: (reply) => this.onReply(connection, subscription, since, reply),
      onFailed: (error) => {
        if (error.code === "timeout" && connection === this.host.current()) {
          // No answer to a subscribe: the session is not working. Start over.
          connection.fail(error);
        }
      },
    }, connection);
  }

  /** Reads the publications between the client's position and the `subscribed` frame's from history, then lets the live ones through. */
  private fillGap(connection: Connection, subscription: Subscription, since: StreamPosition, frame: SubscribedFrame): void {
    const to = { epoch: frame.epoch, offset: frame.offset };
    const fill = new GapFill(subscription.channel, since, to);
    this.fills.set(subscription, fill);
    fill.read((channel, options) => this.owner.history(channel, options)).then((outcome) => {
      if (this.fills.get(subscription) !== fill || connection !== this.host.current()) {
        return;
      }
      this.fills.delete(subscription);
      if (outcome.kind === "filled") {
        subscription.handleSubscribed({ ...to, recovered: true }, since);
        outcome.messages.forEach((message) => subscription.handleMessage(message));
      } else {
        subscription.handleSubscribed(to, since);
      }
      fill.buffered.forEach((message) => subscription.handleMessage(message));
    }, () => {
      // The connection went before the read finished; disconnected() dropped the fill already.
    });
  }

  private onReply(connection: Connection, subscription: Subscription, since: StreamPosition | null, reply: ReplyFrame): void {
    if (this.byChannel.get(subscription.channel) !== subscription || connection !== this.host.current()) {
      return;
    }
    if (reply.error?.code === "already_subscribed" && connection.activeChannels.has(subscription.channel)) {
      // The server's connect hook subscribed this channel first; its `subscribed` frame, which came
      // before this reply, took the subscription on. Without that frame it is a refusal (below).
      return;
    }
    if (reply.error !== undefined) {
      this.refused(connection, subscription, new PubSubError(reply.error.code, reply.error.message));
      return;
    }
    const result = reply.result!;
    if (typeof result.epoch !== "string" || typeof result.offset !== "number") {
      this.host.reportError(new PubSubError("bad_frame", "A reply lacks its position ('epoch', 'offset')."));
      return;
    }
    connection.activeChannels.add(subscription.channel);
    const recovered = typeof result.recovered === "boolean" ? { recovered: result.recovered } : {};
    subscription.handleSubscribed({ epoch: result.epoch, offset: result.offset, ...recovered }, since);
  }

  private refused(connection: Connection, subscription: Subscription, error: PubSubError): void {
    switch (retryRule(error.code)) {
      case "later": {
        // The broker is unreachable or the server stumbled: the subscription is still wanted, so it
        // stays and is asked for again after a backoff delay (and anew after any reconnect).
        const delay = subscription.handleTransientFailure(error);
        this.retryTimers.set(subscription, setTimeout(() => {
          this.retryTimers.delete(subscription);
          if (connection === this.host.current() && this.byChannel.get(subscription.channel) === subscription) {
            this.subscribe(connection, subscription);
          }
        }, delay));
        return;
      }
      case "reconnect":
        // The session is gone: a new one subscribes again, from the position.
        subscription.handleTransientFailure(error);
        connection.fail(error);
        return;
      case "never":
        this.end(subscription, error);
        return;
    }
  }

  /** Removes a subscription and tells it why; false when it had ended already. */
  private end(subscription: Subscription, error: PubSubError | null, reason?: string): boolean {
    if (this.byChannel.get(subscription.channel) !== subscription) {
      return false;
    }
    this.byChannel.delete(subscription.channel);
    clearTimeout(this.retryTimers.get(subscription));
    this.retryTimers.delete(subscription);
    this.fills.delete(subscription);
    subscription.handleEnded(error, reason);
    return true;
  }

  private stopRetries(): void {
    for (const timer of this.retryTimers.values()) {
      clearTimeout(timer);
    }
    this.retryTimers.clear();
  }
}
