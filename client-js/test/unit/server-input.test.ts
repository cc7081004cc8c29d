// What the client does with input from the server that is not what it should be: malformed
// frames, unknown frame types, `error` frames, and listeners of the application that throw.

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { PubSubError } from "../../src/PubSubError.js";
import { FakeServer } from "../fakes/FakeServer.js";
import { clientFor, collect, connected, pass, until, useFakeClock } from "./helpers.js";

beforeEach(useFakeClock);
afterEach(() => vi.useRealTimers());

describe("bad input from the server", () => {
  it("reports a malformed frame as an error event and goes on", async () => {
    const { server, client } = await connected();
    const sub = client.subscribe("chat/a");
    const seen = collect(sub);
    const errors: PubSubError[] = [];
    client.on("error", (e) => errors.push(e));
    await sub.ready();

    server.session().send("{not json", JSON.stringify({ type: "message", channel: "chat/a" }), "[1]");
    server.publish("chat/a", "fine");
    await until(() => seen.length === 1);

    expect(errors.map((e) => e.code)).toEqual(["bad_frame", "bad_frame", "bad_frame"]);
    expect(errors[0]!.message).toContain("{not json");
    expect(client.state).toBe("connected");
    client.close();
  });

  it("ignores frame types it does not know", async () => {
    const { server, client } = await connected();
    const errors: PubSubError[] = [];
    client.on("error", (e) => errors.push(e));

    server.session().send({ type: "presence", channel: "chat/a", who: [] });
    await pass(10);

    expect(errors).toEqual([]);
    expect(client.state).toBe("connected");
    client.close();
  });

  it("reports an `error` frame as an error event with the server's code", async () => {
    const { server, client } = await connected();
    const errors: PubSubError[] = [];
    client.on("error", (e) => errors.push(e));

    server.session().send({ type: "error", code: "message_too_large", message: "Too big." });
    await pass(10);

    expect(errors[0]).toMatchObject({ code: "message_too_large", message: "Too big." });
    client.close();
  });

  it("fails the connection attempt when the first frame is not 'connected'", async () => {
    const server = new FakeServer(["long-polling"]);
    const fetch = server.fetch;
    const broken = clientFor(server, {
      reconnect: { maxAttempts: 0 },
      fetch: async (input, init) => (String(input).includes("/poll") ? new Response('{"type":"pong"}') : fetch(input, init)),
    });

    const error = (await broken.connect().catch((e: unknown) => e)) as PubSubError;

    expect(error.code).toBe("transport_failed");
    expect(error.message).toContain("not 'connected'");
  });

  it("a listener that throws does not stop delivery", async () => {
    const { server, client } = await connected();
    const sub = client.subscribe("chat/a");
    const seen = collect(sub);
    sub.on("message", () => {
      throw new Error("app bug");
    });
    await sub.ready();

    server.publish("chat/a", 1);
    server.publish("chat/a", 2);
    for (let i = 0; i < 20; i++) await Promise.resolve();

    // The listener's error is not swallowed: it is rethrown on a timer of its own.
    await expect(pass(10)).rejects.toThrow("app bug");
    expect(seen).toEqual([1, 2]);
    client.close();
  });
});
