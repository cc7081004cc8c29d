// Reconnect and recovery against a real PubSub.Host: network drops (through a proxy that cuts
// every connection), a graceful restart and a crash of the node.

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { PubSubClient } from "../../src/PubSubClient.js";
import type { MissedEvent, StateChange } from "../../src/types.js";
import { HostProcess } from "../support/HostProcess.js";
import { TestProxy } from "../support/TestProxy.js";
import { ALL, connectSubscribed, eventually, nodeClient, range, received } from "./support.js";

let host: HostProcess;
let proxy: TestProxy;
const clients: PubSubClient[] = [];

beforeAll(async () => {
  host = await HostProcess.start();
  proxy = await TestProxy.start(host.url);
});
afterEach(() => {
  clients.splice(0).forEach((client) => client.close());
});
afterAll(async () => {
  await proxy?.close();
  await host?.stop();
});

describe.each(ALL)("over %s", (transport) => {
  it("gets every publication exactly once and in order across network drops", async () => {
    const channel = `chat/drops-${transport}`;
    const client = nodeClient(proxy.pubsub, { transports: [transport] });
    clients.push(client);
    const states: string[] = [];
    client.on("state", (change) => states.push(change.state));
    const { seen } = await connectSubscribed(client, channel);

    // Published straight to the Host, so publishing goes on while the client's network is down.
    for (const n of range(1, 60)) {
      await host.publish(channel, n);
      if (n === 20 || n === 40) {
        proxy.dropAll();
      }
    }
    await eventually(() => seen.length >= 60, `60 messages (have ${seen.length})`);
    await host.publish(channel, 61);
    await eventually(() => seen.length >= 61, "the 61st message");

    expect(seen).toEqual(range(1, 61));
    // Long-polling may ride out a drop by re-polling the same session; the others reconnect.
    if (transport !== "long-polling") {
      expect(states.filter((s) => s === "reconnecting").length).toBeGreaterThanOrEqual(1);
    }
  });

  it("reconnects after the node restarts, and says what it could not recover", async () => {
    const node = await HostProcess.start();
    try {
      const channel = `chat/restart-${transport}`;
      const client = nodeClient(node.pubsub, { transports: [transport] });
      clients.push(client);
      const changes: StateChange[] = [];
      client.on("state", (change) => changes.push(change));
      const missed: MissedEvent[] = [];
      const { sub, seen } = await connectSubscribed(client, channel);
      sub.on("missed", (event) => missed.push(event));
      await node.publish(channel, "before");
      await eventually(() => seen.length === 1, "the first message");

      // The in-memory node forgets its history when it stops: the channel gets a new epoch.
      const restarted = await node.restart();
      try {
        await eventually(() => missed.length === 1, "the missed event");
        await restarted.publish(channel, "after");
        await eventually(() => seen.length === 2, "a message after the restart");

        expect(seen).toEqual(["before", "after"]);
        expect(missed[0]!.from.offset).toBe(1);
        expect(missed[0]!.position.epoch).not.toBe(missed[0]!.from.epoch);
        // A graceful stop says so (4000, "shutting down"), which the client takes as "come back".
        const reconnecting = changes.find((change) => change.state === "reconnecting")!;
        expect(reconnecting.error!.disconnectCode).toBe(4000);
        expect(client.state).toBe("connected");
      } finally {
        client.close();
        await restarted.stop();
      }
    } finally {
      await node.stop();
    }
  });
});

it("reconnects after the node crashes", async () => {
  const node = await HostProcess.start();
  const client = nodeClient(node.pubsub);
  clients.push(client);
  let replacement: HostProcess | null = null;
  try {
    await client.connect();
    const firstSession = client.session;
    await node.kill();
    await eventually(() => client.state === "reconnecting", "reconnecting after the crash");
    replacement = await HostProcess.start({ port: node.port });
    await eventually(() => client.state === "connected", "connected to the new node");

    expect(client.session).not.toBe(firstSession);
    await expect(client.publish("chat/crash", "alive")).resolves.toMatchObject({ offset: 1 });
  } finally {
    client.close();
    await replacement?.stop();
  }
});
