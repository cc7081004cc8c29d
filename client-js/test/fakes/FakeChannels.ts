// The protocol half of the fake server (FakeServer.ts is the transports half): channels with
// their epochs, offsets and bounded history, and what the server does with each client frame.

import type { StreamPosition } from "../../src/types.js";
import type { FakeSession } from "./FakeServer.js";

export type Frame = Record<string, unknown>;

interface Channel {
  epoch: string;
  offset: number;
  history: { offset: number; payload: Frame }[];
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
        reply({});
        return;
      case "publish": {
        const refusal = this.refuse(channel, "publish");
        if (refusal !== null) {
          fail(refusal[0], refusal[1]);
          return;
        }
        reply(this.publish(channel, frame.data, frame.binary as string | undefined) as unknown as Frame);
        return;
      }
      case "history": {
        const state = this.channel(channel);
        const since = frame.since as StreamPosition | undefined;
        if (since !== undefined && since.epoch !== state.epoch) {
          fail("epoch_mismatch", "The epoch changed.");
          return;
        }
        const publications = state.history
          .filter((entry) => since === undefined || entry.offset > since.offset)
          .slice(-(frame.limit as number | undefined ?? 100))
          .map((entry) => ({ offset: entry.offset, ...entry.payload }));
        reply({ epoch: state.epoch, offset: state.offset, publications });
        return;
      }
      default:
        fail("unknown_type", `Unknown frame type '${String(frame.type)}'.`);
    }
  }

  /** Channel rules: chat/* is open; news/* is read-only; secret/* refuses subscribers; anything else is unknown. */
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
      state = { epoch: `epoch${++this.epochs}`, offset: 0, history: [] };
      this.channels.set(name, state);
    }
    return state;
  }
}
