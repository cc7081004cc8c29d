import type { Connection } from "./Connection.js";
import { PubSubError } from "./PubSubError.js";
import type { Subscription } from "./Subscription.js";
import type { SubscriptionSet } from "./SubscriptionSet.js";

/** What an upgrade needs from the supervisor. */
export interface UpgradeHost {
  /** Whether the client is connected on a transport below WebSocket that may move up now. */
  canUpgrade(): boolean;
  /** Makes the transports' context ready for a new connection (a fresh token); false when it cannot. */
  prepare(): Promise<boolean>;
  /** Opens a WebSocket connection beside the one in use. */
  openWebSocket(): Connection;
  /** The probe recovered every channel: it becomes the connection in use. */
  takeOver(probe: Connection): void;
  /** Fails the requests sent on a connection that is dropped. */
  abandon(connection: Connection, error: PubSubError): void;
}

/** Where the upgrade is: one value, so no flag can disagree with another. */
type UpgradeState =
  | { readonly kind: "idle" }
  | { readonly kind: "waiting"; readonly timer: ReturnType<typeof setTimeout> }
  | { readonly kind: "opening"; readonly probe: Connection | null }
  | { readonly kind: "subscribing"; readonly probe: Connection; readonly snapshot: readonly Subscription[]; readonly left: Set<Subscription> };

/**
 * The upgrade probe: while the client is on SSE or long-polling, every `interval` ms it opens a
 * WebSocket session beside the current one and moves to it without losing or doubling a
 * publication. Each channel is subscribed on the new session with `since` = its position, so the
 * new session replays from there while the old one keeps delivering; both feed the same
 * subscriptions, which drop what they have delivered already (positions are per channel and the
 * same on both sessions). Once every channel is recovered on the new session, it takes over.
 * Anything unusual (a refused or unrecovered channel, a change to the subscriptions meanwhile)
 * abandons the attempt, which is always safe: the old session never stopped.
 */
export class TransportUpgrade {
  private state: UpgradeState = { kind: "idle" };

  constructor(
    private readonly interval: number,
    private readonly subscriptions: SubscriptionSet,
    private readonly host: UpgradeHost,
  ) {}

  /** The probe's connection while one is open. */
  get probe(): Connection | null {
    return this.state.kind === "opening" || this.state.kind === "subscribing" ? this.state.probe : null;
  }

  /** Waits `interval` ms, then tries; does nothing when the client cannot move up. */
  schedule(): void {
    this.stop();
    if (this.interval > 0 && this.host.canUpgrade()) {
      this.state = { kind: "waiting", timer: setTimeout(() => void this.run(), this.interval) };
    }
  }

  /** Abandons any upgrade (the client disconnected, closed, or the probe failed). */
  stop(): void {
    const state = this.state;
    this.state = { kind: "idle" };
    if (state.kind === "waiting") {
      clearTimeout(state.timer);
    } else if (state.kind !== "idle" && state.probe !== null) {
      this.host.abandon(state.probe, new PubSubError("closed", "The upgrade was abandoned."));
      state.probe.close();
    }
  }

  /** The probe's connection ended by itself: try again later. Returns whether `connection` was the probe. */
  onClosed(connection: Connection): boolean {
    if (this.probe !== connection) {
      return false;
    }
    this.state = { kind: "idle" };
    this.schedule();
    return true;
  }

  private async run(): Promise<void> {
    if (!this.host.canUpgrade()) {
      this.state = { kind: "idle" };
      return;
    }
    if (!this.subscriptions.allSubscribed()) {
      this.schedule();
      return;
    }
    this.state = { kind: "opening", probe: null };
    const opening = this.state;
    // A long-lived connection's token may have expired: the probe asks for a fresh one, as a connect does.
    if (!(await this.host.prepare())) {
      if (this.state === opening) {
        this.schedule();
      }
      return;
    }
    if (this.state !== opening || !this.host.canUpgrade()) {
      return;
    }
    const probe = this.host.openWebSocket();
    const opened: UpgradeState = { kind: "opening", probe };
    this.state = opened;
    try {
      await probe.opened;
    } catch {
      if (this.state === opened) {
        this.state = { kind: "idle" };
        this.schedule();
      }
      return;
    }
    if (this.state !== opened || !this.host.canUpgrade()) {
      if (this.state === opened) {
        this.state = { kind: "idle" };
      }
      probe.close();
      return;
    }
    const snapshot = this.subscriptions.all();
    const subscribing = { kind: "subscribing", probe, snapshot, left: new Set(snapshot) } as const;
    this.state = subscribing;
    if (snapshot.length === 0) {
      this.complete(probe);
      return;
    }
    for (const subscription of snapshot) {
      this.subscriptions.subscribeAlongside(probe, subscription, (recovered) => {
        if (this.state !== subscribing) {
          return;
        }
        if (!recovered) {
          this.schedule();
          return;
        }
        subscribing.left.delete(subscription);
        if (subscribing.left.size === 0) {
          this.complete(probe);
        }
      });
    }
  }

  private complete(probe: Connection): void {
    const state = this.state;
    if (state.kind !== "subscribing" || !this.host.canUpgrade() || !this.subscriptions.unchangedSince(state.snapshot)) {
      this.schedule();
      return;
    }
    this.state = { kind: "idle" };
    this.host.takeOver(probe);
  }
}
