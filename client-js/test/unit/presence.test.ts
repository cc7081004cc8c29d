// presence() and presenceStats() (docs/protocol.md, section 2.2), and join/leave frames (2.3, 2.9),
// against the fake server.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { PubSubError } from "../../src/PubSubError.js";
import { ErrorCodes } from "../../src/PubSubError.js";
import type { JoinLeaveEvent } from "../../src/types.js";
import { clientFor, collect, connected, pass, subscribedToLobby, until, useFakeClock } from "./helpers.js";

beforeEach(useFakeClock);
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

/** The presence frames' vectors in protocol/frames/server.json, by name. */
const serverVectors = (JSON.parse(readFileSync(fileURLToPath(new URL("../../../protocol/frames/server.json", import.meta.url)), "utf8")) as
  { valid: { name: string; text: string }[] }).valid;
const vector = (name: string): Record<string, unknown> & { result?: unknown } =>
  JSON.parse(serverVectors.find((candidate) => candidate.name === name)!.text) as Record<string, unknown>;
const VECTORS = {
  presenceReply: vector("presence reply"),
  statsReply: vector("presence stats reply"),
  join: vector("join"),
  leave: vector("leave of an anonymous session"),
};

describe("presence requests", () => {
  it("sends presence and presence_stats frames as protocol/ writes them", async () => {
    const { server, client } = await connected();
    const sent: Record<string, unknown>[] = [];
    server.intercept = (session, frame) => {
      sent.push(frame);
      const vector = frame.type === "presence" ? VECTORS.presenceReply : VECTORS.statsReply;
      session.send({ ...vector, id: frame.id });
      return true;
    };

    const presence = await client.presence("chat/lobby");
    const stats = await client.presenceStats("chat/lobby");

    expect(sent).toEqual([{ type: "presence", id: sent[0]!.id, channel: "chat/lobby" }, { type: "presence_stats", id: sent[1]!.id, channel: "chat/lobby" }]);
    // An anonymous member has neither `user` nor `info`: the fields are absent, not undefined.
    expect(presence).toStrictEqual(VECTORS.presenceReply.result);
    expect(stats).toEqual({ clients: 2, users: 1 });
    client.close();
  });

  it("lists the subscribed sessions of a channel and counts them", async () => {
    const { server, client, sub } = await subscribedToLobby();
    server.session().info = { name: "Ann" };
    server.session().user = "ann";

    const presence = await client.presence("chat/lobby");

    expect(sub.state).toBe("subscribed");
    expect(presence).toEqual({ members: [{ session: client.session, user: "ann", info: { name: "Ann" } }], truncated: false });
    expect(await client.presenceStats("chat/lobby")).toEqual({ clients: 1, users: 1 });
    client.close();
  });

  it.each([
    ["news/today", ErrorCodes.PresenceDisabled],
    ["secret/x", ErrorCodes.Forbidden],
    ["nope/x", ErrorCodes.UnknownChannel],
  ])("rejects presence of %s with the server's code %s", async (channel, code) => {
    const { client } = await connected();

    const errors = await Promise.all([client.presence(channel), client.presenceStats(channel)].map((p) => p.catch((e: PubSubError) => e)));

    expect(errors.map((e) => (e as PubSubError).code)).toEqual([code, code]);
    client.close();
  });

  it("rejects a reply without members as bad_frame", async () => {
    const { server, client } = await connected();
    server.intercept = (session, frame) => {
      session.send({ type: "reply", id: frame.id, result: { truncated: false } });
      return true;
    };

    const error = (await client.presence("chat/lobby").catch((e: unknown) => e)) as PubSubError;

    expect(error.code).toBe("bad_frame");
    client.close();
  });
});

describe("join and leave", () => {
  it("surfaces another session's join and leave without moving the position", async () => {
    const { server, client, sub, seen } = await subscribedToLobby();
    server.publish("chat/lobby", "before");
    await until(() => seen.length === 1);
    const position = sub.position;
    const events: [string, JoinLeaveEvent][] = [];
    sub.on("join", (event) => events.push(["join", event]));
    sub.on("leave", (event) => events.push(["leave", event]));

    server.session().send(VECTORS.join, VECTORS.leave);
    await until(() => events.length === 2);
    server.publish("chat/lobby", "after");
    await until(() => seen.length === 2);

    expect(events).toStrictEqual([
      ["join", { channel: "chat/lobby", session: VECTORS.join.session, user: "42", info: { name: "Ada" } }],
      ["leave", { channel: "chat/lobby", session: VECTORS.leave.session }],
    ]);
    expect(position).toEqual({ epoch: "epoch1", offset: 1 });
    expect(sub.position).toEqual({ epoch: "epoch1", offset: 2 });
    expect(seen).toEqual(["before", "after"]);
    client.close();
  });

  it("ignores joins for channels it does not hold and joins without a session", async () => {
    const { server, client, sub } = await subscribedToLobby();
    const errors: PubSubError[] = [];
    client.on("error", (error) => errors.push(error));
    const joins: JoinLeaveEvent[] = [];
    sub.on("join", (event) => joins.push(event));

    server.session().send({ ...VECTORS.join, channel: "chat/other" }, { type: "join", channel: "chat/lobby" }, { ...VECTORS.join, session: "n.third" });
    await until(() => joins.length === 1);
    await pass(10);

    expect(joins.map((event) => event.session)).toEqual(["n.third"]);
    expect(errors).toEqual([]);
    client.close();
  });

  it("hears two clients of the fake server come and go", async () => {
    const { server, client, sub } = await subscribedToLobby();
    const events: string[] = [];
    sub.on("join", (event) => events.push(`join ${event.session}`));
    sub.on("leave", (event) => events.push(`leave ${event.session}`));
    const other = clientFor(server);
    const otherSub = other.subscribe("chat/lobby");
    collect(otherSub);
    await other.connect();
    await otherSub.ready();
    const otherSession = other.session;

    await otherSub.unsubscribe();
    await until(() => events.length === 2);

    expect(events).toEqual([`join ${otherSession}`, `leave ${otherSession}`]);
    other.close();
    client.close();
  });
});
