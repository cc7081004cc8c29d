// Each transport against a real PubSub.Host: connect, subscribe, publish, receive, history, errors.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PubSubError } from "../../src/PubSubError.js";
import type { Message } from "../../src/types.js";
import { HostProcess } from "../support/HostProcess.js";
import { ALL, eventually, nodeClient, received } from "./support.js";

let host: HostProcess;

beforeAll(async () => {
  host = await HostProcess.start();
});
afterAll(async () => {
  await host?.stop();
});

describe.each(ALL)("over %s", (transport) => {
  it("connects, subscribes, publishes and receives JSON and binary data, and reads history", async () => {
    const channel = `chat/basic-${transport}`;
    const client = nodeClient(host.pubsub, { transports: [transport] });
    try {
      const sub = client.subscribe(channel);
      const messages: Message[] = [];
      sub.on("message", (m) => messages.push(m));
      await client.connect();
      await sub.ready();
      expect(client.transport).toBe(transport);
      expect(client.session).toMatch(/^[A-Za-z0-9]+\.[A-Za-z0-9_-]{22}$/);

      const first = await client.publish(channel, { text: "hello", n: 1 });
      await client.publish(channel, new Uint8Array([0, 1, 2, 250]));
      const third = await host.publish(channel, { from: "api" });
      await eventually(() => messages.length === 3, "three messages");

      expect(first.offset).toBe(1);
      expect(third).toEqual({ epoch: first.epoch, offset: 3 });
      expect(messages.map((m) => m.offset)).toEqual([1, 2, 3]);
      expect(messages[0]).toEqual({ channel, epoch: first.epoch, offset: 1, data: { text: "hello", n: 1 } });
      expect(messages[1]!.data).toBeInstanceOf(Uint8Array);
      expect([...(messages[1]!.data as Uint8Array)]).toEqual([0, 1, 2, 250]);
      expect(messages[2]!.data).toEqual({ from: "api" });

      const page = await client.history(channel, { since: { epoch: first.epoch, offset: 1 } });
      expect(page.offset).toBe(3);
      expect(page.publications.map((p) => p.offset)).toEqual([2, 3]);
      expect([...(page.publications[0]!.data as Uint8Array)]).toEqual([0, 1, 2, 250]);

      await sub.unsubscribe();
      await client.publish(channel, "after");
      await client.publish("chat/other", "flush");
      expect(messages).toHaveLength(3);
    } finally {
      client.close();
    }
  });

  it("reports the server's error codes, and the session goes on", async () => {
    const client = nodeClient(host.pubsub, { transports: [transport] });
    try {
      await client.connect();
      const codeOf = (promise: Promise<unknown>) => promise.then(() => "resolved", (e: PubSubError) => e.code);

      expect(await codeOf(client.subscribe("nope/x").ready())).toBe("unknown_channel");
      expect(await codeOf(client.subscribe("chat/a,b").ready())).toBe("invalid_channel");
      expect(await codeOf(client.publish("news/today", "not allowed"))).toBe("forbidden");
      expect(await codeOf(client.history("chat/errors", { since: { epoch: "nonsense", offset: 1 } }))).toBe("epoch_mismatch");
      expect(await codeOf(client.publish("chat/big", "x".repeat(70_000)))).toBe("message_too_large");

      const sub = client.subscribe("chat/errors-ok");
      const seen = received(sub);
      await sub.ready();
      await client.publish("chat/errors-ok", "still fine");
      await eventually(() => seen.length === 1, "a message after the errors");
      expect(client.state).toBe("connected");
    } finally {
      client.close();
    }
  });
});

it("clients on different transports talk to each other", async () => {
  const usable = ALL;
  const clients = usable.map((transport) => nodeClient(host.pubsub, { transports: [transport] }));
  try {
    const inboxes = clients.map((client) => received(client.subscribe("chat/mixed")));
    await Promise.all(clients.map((client) => client.connect()));
    await Promise.all(clients.map((client) => client.getSubscription("chat/mixed")!.ready()));

    for (const [i, client] of clients.entries()) {
      await client.publish("chat/mixed", `from ${usable[i]}`);
    }
    await eventually(() => inboxes.every((inbox) => inbox.length === usable.length), "every client got every message");

    for (const inbox of inboxes) {
      expect(inbox).toEqual(usable.map((t) => `from ${t}`));
    }
  } finally {
    clients.forEach((client) => client.close());
  }
});
