// The protocol half of the fake server (FakeServer.ts is the transports half): channels with
// their epochs, offsets and bounded history, and what the server does with each client frame.

import type { StreamPosition } from "../../src/types.js";
import type { FakeSession } from "./FakeServer.js";

export type Frame = Record<string, unknown>;

interface Channel {
  epoch: string;
  offset: number;
  history: { offset: number; payload: Frame }[];
  /** Idempotency keys seen, with the position of their publication (the server keeps them for a window; the fake, forever). */
  keys: Map<string, StreamPosition>;
}

export class FakeChannels {
  private readonly channels = new Map<string, Channel>();
  private epochs = 0;

  constructor(
    private readonly historySize: () => number,
    private readonly openSessions: () => FakeSession[],
  ) {}

  /** Publishes as a back-end would (the server API); returns the publication's position. */
  publish(channel: string, data: unknown, binary?: string): StreamPosition {
    const state = this.channel(channel);
    state.offset++;
    const payload: Frame = binary === undefined ? { data } : { binary };
    state.history.push({ offset: state.offset, payload });
    if (state.history.length > this.historySize()) {
      state.history.shift();
    }
    const message = { type: "message", channel, offset: state.offset, epoch: state.epoch, ...payload };
    for (const session of this.openSessions()) {
      if (session.subscriptions.has(channel)) {
        session.send(message);
      }
    }
    return { epoch: state.epoch, offset: state.offset };
  }

  /** Subscribes a session from the server's side (a connect hook, the server API): a `subscribed` frame at the latest position, no recovery. */
  serverSubscribe(session: FakeSession, channel: string): void {
    session.subscriptions.add(channel);
    const state = this.channel(channel);
    session.send({ type: "subscribed", channel, epoch: state.epoch, offset: state.offset });
    this.announce(session, channel, "join");
  }

  /** Ends a session's subscription from the server's side: an `unsubscribed` frame with the code and reason. */
  serverUnsubscribe(session: FakeSession, channel: string, code: string, reason: string): void {
    if (session.subscriptions.delete(channel)) {
      session.send({ type: "unsubscribed", channel, code, reason });
      this.announce(session, channel, "leave");
    }
  }

  position(channel: string): StreamPosition {
    const state = this.channel(channel);
    return { epoch: state.epoch, offset: state.offset };
  }

  /** A restart: histories are lost, and each channel starts a new epoch. */
  forget(): void {
    this.channels.clear();
  }

  /** Answers one client frame as the server would. */
  handle(session: FakeSession, frame: Frame): void {
    const id = frame.id as number | undefined;
    const reply = (result: Frame): void => {
      if (id !== undefined) {
        session.send({ type: "reply", id, result });
      }
    };
    const fail = (code: string, message: string): void => {
      session.send(id !== undefined ? { type: "reply", id, error: { code, message } } : { type: "error", code, message });
    };
    const channel = frame.channel as string;
    switch (frame.type) {
      case "ping":
        // As the server does: a ping with an id is a request (one reply); without one, a pong.
        if (id !== undefined) {
          reply({});
        } else {
          session.send({ type: "pong" });
        }
        return;
      case "pong":
        return;
      case "close":
        session.closed = true;
        return;
      case "subscribe": {
        const refusal = this.refuse(channel, "subscribe");
        if (refusal !== null) {
          fail(refusal[0], refusal[1]);
          return;
        }
        if (session.subscriptions.has(channel)) {
          fail("already_subscribed", `Already subscribed to '${channel}'.`);
          return;
        }
        session.subscriptions.add(channel);
        this.announce(session, channel, "join");
        const state = this.channel(channel);
        const since = frame.since as StreamPosition | undefined;
        if (since === undefined) {
          reply({ epoch: state.epoch, offset: state.offset });
          return;
        }
        const oldest = state.history[0]?.offset ?? state.offset + 1;
        const recovered = since.epoch === state.epoch && since.offset <= state.offset && since.offset >= oldest - 1;
        if (id !== undefined) {
          const missed = recovered
            ? state.history.filter((entry) => entry.offset > since.offset)
              .map((entry) => ({ type: "message", channel, offset: entry.offset, epoch: state.epoch, ...entry.payload }))
            : [];
          session.send({ type: "reply", id, result: { epoch: state.epoch, offset: state.offset, recovered } }, ...missed);
        }
        return;
      }
      case "unsubscribe":
        if (!session.subscriptions.delete(channel)) {
          fail("not_subscribed", `Not subscribed to '${channel}'.`);
          return;
        }
        this.announce(session, channel, "leave");
        reply({});
        return;
      case "publish": {
        const refusal = this.refuse(channel, "publish");
        if (refusal !== null) {
          fail(refusal[0], refusal[1]);
          return;
        }
        const key = frame.idempotencyKey as string | undefined;
        const earlier = key === undefined ? undefined : this.channel(channel).keys.get(key);
        const position = earlier ?? this.publish(channel, frame.data, frame.binary as string | undefined);
        if (key !== undefined) {
          this.channel(channel).keys.set(key, position);
        }
        reply(position as unknown as Frame);
        return;
      }
      case "history": {
        const state = this.channel(channel);
        const since = frame.since as StreamPosition | undefined;
        if (since !== undefined && since.epoch !== state.epoch) {
          fail("epoch_mismatch", "The epoch changed.");
          return;
        }
        // As the server: with `since`, the first `limit` after it; without, the latest `limit`.
        const limit = frame.limit as number | undefined ?? 100;
        const after = state.history.filter((entry) => since === undefined || entry.offset > since.offset);
        const publications = (since === undefined ? after.slice(-limit) : after.slice(0, limit))
          .map((entry) => ({ offset: entry.offset, ...entry.payload }));
        reply({ epoch: state.epoch, offset: state.offset, publications });
        return;
      }
      case "presence":
      case "presence_stats": {
        const refusal = this.refuse(channel, "subscribe") ?? (channel.startsWith("chat/") ? null : ["presence_disabled", `'${channel}' keeps no presence.`]);
        if (refusal !== null) {
          fail(refusal[0], refusal[1]);
          return;
        }
        const members = this.openSessions().filter((member) => member.subscriptions.has(channel)).map((member) => member.member());
        if (frame.type === "presence") {
          reply({ members, truncated: false });
        } else {
          reply({ clients: members.length, users: new Set(members.map((member) => member.user).filter((user) => user !== undefined)).size });
        }
        return;
      }
      default:
        fail("unknown_type", `Unknown frame type '${String(frame.type)}'.`);
    }
  }

  /** Tells the channel's other subscribers that `session` joined or left; chat/* announces them (JoinLeave), other templates do not. */
  announce(session: FakeSession, channel: string, type: "join" | "leave"): void {
    if (!channel.startsWith("chat/")) {
      return;
    }
    for (const other of this.openSessions()) {
      if (other !== session && other.subscriptions.has(channel)) {
        other.send({ type, channel, ...session.member() });
      }
    }
  }

  /** Channel rules: chat/* is open, with presence and join/leave; news/* is read-only, without presence; secret/* refuses subscribers; anything else is unknown. */
  private refuse(channel: string, action: "subscribe" | "publish"): [string, string] | null {
    if (channel.startsWith("chat/")) {
      return null;
    }
    if (channel.startsWith("news/")) {
      return action === "publish" ? ["forbidden", `Clients may not publish to '${channel}'.`] : null;
    }
    if (channel.startsWith("secret/")) {
      return ["forbidden", `Not authorized for '${channel}'.`];
    }
    return ["unknown_channel", `No channel template matches '${channel}'.`];
  }

  private channel(name: string): Channel {
    let state = this.channels.get(name);
    if (state === undefined) {
      state = { epoch: `epoch${++this.epochs}`, offset: 0, history: [], keys: new Map() };
      this.channels.set(name, state);
    }
    return state;
  }
}
