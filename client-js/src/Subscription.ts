import { Backoff } from "./Backoff.js";
import { Emitter } from "./Emitter.js";
import { binaryBytes } from "./encoding.js";
import type { JoinLeaveFrame, MessageFrame, SubscribeResult } from "./frames.js";
import { PubSubError } from "./PubSubError.js";
import type {
  HistoryOptions,
  HistoryResult,
  JoinLeaveEvent,
  PublishOptions,
  StreamPosition,
  SubscriptionEvents,
  SubscriptionOrigin,
  SubscriptionState,
  UnsubscribedEvent,
} from "./types.js";

/** What a subscription needs from its client. */
export interface SubscriptionOwner {
  unsubscribe(subscription: Subscription): Promise<void>;
  publish(channel: string, data: unknown, options?: PublishOptions): Promise<StreamPosition>;
  history(channel: string, options?: HistoryOptions): Promise<HistoryResult>;
  /** Reports an error that belongs to no request (a malformed publication). */
  reportError(error: PubSubError): void;
}

/**
 * A channel subscription. It lives across reconnects and transport changes: the client
 * re-subscribes it with `since` = its position, and it delivers each publication once, in offset
 * order, dropping the ones it already delivered (a transport switch replays an overlap). One the
 * server made (`origin` "server") is re-subscribed the same way; when the server's connect hook
 * subscribed the new session first, the client fills the gap from history (SubscriptionSet).
 */
export class Subscription extends Emitter<SubscriptionEvents> {
  /** After a transient refusal (`unavailable`, `timeout`, `internal`), the first re-subscribe waits up to this long (ms), doubling to RetryMaxDelay. */
  static readonly RetryInitialDelay = 1000;
  static readonly RetryMaxDelay = 30_000;

  private _state: SubscriptionState = "subscribing";
  private _ended: UnsubscribedEvent | null = null;
  private _position: StreamPosition | null;
  private everSubscribed = false;
  /** Paces re-subscribes after transient refusals; reset by a success. */
  private readonly retries = new Backoff(Subscription.RetryInitialDelay, Subscription.RetryMaxDelay);
  private readonly waiters: { resolve: () => void; reject: (error: PubSubError) => void }[] = [];

  /** @internal Created by `PubSubClient.subscribe`. */
  constructor(
    readonly channel: string,
    private readonly owner: SubscriptionOwner,
    since: StreamPosition | null,
    /** Who made it: `subscribe()`, or the server (its connect hook, the server API). */
    readonly origin: SubscriptionOrigin = "client",
  ) {
    super();
    this._position = since === null ? null : { epoch: since.epoch, offset: since.offset };
  }

  get state(): SubscriptionState {
    return this._state;
  }

  /** How it ended (by whom, and the server's code and reason); null while it lasts. */
  get ended(): UnsubscribedEvent | null {
    return this._ended === null ? null : { ...this._ended };
  }

  /** The position of the last publication delivered (or where the subscription started); save it to resume later with `since`. */
  get position(): StreamPosition | null {
    return this._position === null ? null : { ...this._position };
  }

  /** Resolves once the subscription is established; rejects if the server refuses it or it is unsubscribed first. */
  ready(): Promise<void> {
    if (this._state === "subscribed") {
      return Promise.resolve();
    }
    if (this._state === "unsubscribed") {
      return Promise.reject(new PubSubError("not_subscribed", `The subscription to '${this.channel}' has ended.`));
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Ends the subscription. Resolves when the server confirmed it (at once when not connected). */
  unsubscribe(): Promise<void> {
    return this.owner.unsubscribe(this);
  }

  /** Publishes to this subscription's channel. */
  publish(data: unknown, options?: PublishOptions): Promise<StreamPosition> {
    return this.owner.publish(this.channel, data, options);
  }

  /** Reads this channel's history. */
  history(options?: HistoryOptions): Promise<HistoryResult> {
    return this.owner.history(this.channel, options);
  }

  /** @internal The position a subscribe should recover from, if any. */
  recoveryPosition(): StreamPosition | null {
    return this._position;
  }

  /** @internal The server could not take the subscribe now; returns how long to wait before asking again. */
  handleTransientFailure(error: PubSubError): number {
    this.emit("error", error);
    return this.retries.next();
  }

  /** @internal The subscribe (sent with `since`, or not) succeeded. */
  handleSubscribed(result: SubscribeResult, since: StreamPosition | null): void {
    this.retries.reset();
    const resubscribed = this.everSubscribed;
    this.everSubscribed = true;
    const latest = { epoch: result.epoch, offset: result.offset };
    if (since === null) {
      this._position = latest;
    } else if (result.recovered !== true) {
      // History no longer covers the gap (or the epoch changed): continue from the server's position.
      this._position = latest;
      this.setState("subscribed");
      this.emit("subscribed", { channel: this.channel, position: { ...latest }, resubscribed, recovered: false });
      this.emit("missed", { channel: this.channel, from: { ...since }, position: { ...latest } });
      this.settleWaiters(null);
      return;
    }
    // Recovered: the missed publications follow as messages and move the position.
    this.setState("subscribed");
    const event = { channel: this.channel, position: this.position!, resubscribed };
    this.emit("subscribed", since === null ? event : { ...event, recovered: true });
    this.settleWaiters(null);
  }

  /**
   * @internal The server lost publications of this live subscription; the next message follows
   * `position`. Nothing happens when this client is past it already (another connection, during
   * a transport upgrade, delivered them).
   */
  handleLiveGap(position: StreamPosition): void {
    const from = this._position;
    if (from !== null && from.epoch === position.epoch && position.offset <= from.offset) {
      return;
    }
    this._position = { ...position };
    this.emit("missed", { channel: this.channel, from: from === null ? { ...position } : { ...from }, position: { ...position } });
  }

  /**
   * @internal Delivers a publication unless it was delivered already. Each connection delivers a
   * channel's publications in offset order without gaps from where its subscribe started, so
   * "newer than the position" is exactly "not seen yet", even with two connections overlapping.
   * Returns whether it was delivered.
   */
  handleMessage(frame: MessageFrame): boolean {
    const position = this._position;
    if (position !== null && frame.epoch === position.epoch && frame.offset <= position.offset) {
      return false;
    }
    let data: unknown;
    if (frame.binary !== undefined) {
      try {
        data = binaryBytes(frame.binary);
      } catch {
        this._position = { epoch: frame.epoch, offset: frame.offset };
        this.owner.reportError(new PubSubError("bad_frame",
          `Publication ${frame.offset} of '${this.channel}' has a 'binary' field that is not base64; it was skipped.`));
        return false;
      }
    } else {
      data = frame.data;
    }
    this._position = { epoch: frame.epoch, offset: frame.offset };
    this.emit("message", { channel: this.channel, epoch: frame.epoch, offset: frame.offset, data });
    return true;
  }

  /** @internal Another session joined or left the channel; it does not move the position (section 2.9). */
  handleJoinLeave(frame: JoinLeaveFrame): void {
    const event: JoinLeaveEvent = { channel: this.channel, session: frame.session };
    if (typeof frame.user === "string") {
      event.user = frame.user;
    }
    if (frame.info !== undefined) {
      event.info = frame.info;
    }
    this.emit(frame.type, event);
  }

  /** @internal The connection was lost; the subscription waits to be re-subscribed. */
  handleDisconnected(): void {
    if (this._state === "subscribed") {
      this.setState("subscribing");
    }
  }

  /**
   * @internal The subscription ended: by `unsubscribe()` (no error) or by the server (with its
   * error, whose code is the server's; `reason` is the server's own text when it gave one).
   */
  handleEnded(error: PubSubError | null, reason: string = error?.message ?? ""): void {
    if (this._state === "unsubscribed") {
      return;
    }
    this.setState("unsubscribed");
    if (error !== null) {
      this._ended = { channel: this.channel, by: "server", code: error.code, reason, error };
      this.emit("error", error);
    } else {
      this._ended = { channel: this.channel, by: "client" };
    }
    this.emit("unsubscribed", this.ended!);
    this.settleWaiters(error ?? new PubSubError("not_subscribed", `The subscription to '${this.channel}' was ended by unsubscribe().`));
  }

  private setState(state: SubscriptionState): void {
    this._state = state;
  }

  private settleWaiters(error: PubSubError | null): void {
    for (const waiter of this.waiters.splice(0)) {
      if (error === null) {
        waiter.resolve();
      } else {
        waiter.reject(error);
      }
    }
  }
}
