import { Backoff } from "./Backoff.js";
import { Emitter } from "./Emitter.js";
import { binaryBytes } from "./encoding.js";
import type { MessageFrame, SubscribeResult } from "./frames.js";
import { PubSubError } from "./PubSubError.js";
import type {
  HistoryOptions,
  HistoryResult,
  StreamPosition,
  SubscriptionEvents,
  SubscriptionState,
} from "./types.js";

/** What a subscription needs from its client. */
export interface SubscriptionOwner {
  unsubscribe(subscription: Subscription): Promise<void>;
  publish(channel: string, data: unknown): Promise<StreamPosition>;
  history(channel: string, options?: HistoryOptions): Promise<HistoryResult>;
  /** Reports an error that belongs to no request (a malformed publication). */
  reportError(error: PubSubError): void;
}

/**
 * A channel subscription. It lives across reconnects and transport changes: the client
 * re-subscribes it with `since` = its position, and it delivers each publication once, in offset
 * order, dropping the ones it already delivered (a transport switch replays an overlap).
 */
export class Subscription extends Emitter<SubscriptionEvents> {
  /** After a transient refusal (`unavailable`, `timeout`, `internal`), the first re-subscribe waits up to this long (ms), doubling to RetryMaxDelay. */
  static readonly RetryInitialDelay = 1000;
  static readonly RetryMaxDelay = 30_000;

  private _state: SubscriptionState = "subscribing";
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
  ) {
    super();
    this._position = since === null ? null : { epoch: since.epoch, offset: since.offset };
  }

  get state(): SubscriptionState {
    return this._state;
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
  publish(data: unknown): Promise<StreamPosition> {
    return this.owner.publish(this.channel, data);
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

  /** @internal The connection was lost; the subscription waits to be re-subscribed. */
  handleDisconnected(): void {
    if (this._state === "subscribed") {
      this.setState("subscribing");
    }
  }

  /** @internal The subscription ended: by `unsubscribe()` (no error) or by the server (with its error). */
  handleEnded(error: PubSubError | null): void {
    if (this._state === "unsubscribed") {
      return;
    }
    this.setState("unsubscribed");
    if (error !== null) {
      this.emit("error", error);
      this.emit("unsubscribed", { channel: this.channel, by: "server", error });
    } else {
      this.emit("unsubscribed", { channel: this.channel, by: "client" });
    }
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
