// With the Redis broker, history outlives a node: a client whose node restarts reconnects and
// recovers every publication made meanwhile (through another node), once each and in order.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MissedEvent } from "../../src/types.js";
import { HostProcess } from "../support/HostProcess.js";
import { RedisProcess } from "../support/RedisProcess.js";
import { TestProxy } from "../support/TestProxy.js";
import { ALL, connectSubscribed, eventually, nodeClient, range, received } from "./support.js";

let redis: RedisProcess;
/** The node the client connects to, which the tests restart. */
let restarting: HostProcess;
/** The node a back end publishes through, which stays up. */
let publisher: HostProcess;

beforeAll(async () => {
  redis = await RedisProcess.start();
  const env = { PubSub__Redis__Configuration: redis.configuration };
  [restarting, publisher] = await Promise.all([HostProcess.start({ env }), HostProcess.start({ env })]);
});
afterAll(async () => {
  await Promise.all([restarting?.stop(), publisher?.stop()]);
  await redis?.stop();
});

describe.each(ALL)("over %s", (transport) => {
  it("works behind a balancer that sends each request to another node (no session affinity)", async () => {
    const balancer = await TestProxy.start(restarting.url);
    balancer.rotation = [new URL(restarting.url), new URL(publisher.url)];
    const channel = `chat/redis-rotation-${transport}`;
    const client = nodeClient(balancer.pubsub, { transports: [transport] });
    try {
      const { seen } = await connectSubscribed(client, channel);
      for (const n of range(1, 10)) {
        await client.publish(channel, n);
      }
      for (const n of range(11, 20)) {
        await publisher.publish(channel, n);
      }
      await eventually(() => seen.length >= 20, `20 publications (have ${seen.length})`);

      expect(seen).toEqual(range(1, 20));
      expect(client.transport).toBe(transport);
    } finally {
      client.close();
      await balancer.close();
    }
  });

  it("recovers every publication across a restart of the client's node", async () => {
    const channel = `chat/redis-restart-${transport}`;
    const client = nodeClient(restarting.pubsub, { transports: [transport] });
    try {
      const missed: MissedEvent[] = [];
      const { sub, seen } = await connectSubscribed(client, channel);
      sub.on("missed", (event) => missed.push(event));
      const firstSession = client.session;
      const states: string[] = [];
      client.on("state", (change) => states.push(change.state));
      for (const n of range(1, 20)) await publisher.publish(channel, n);
      await eventually(() => seen.length === 20, "the first 20 publications");

      const restart = restarting.restart();
      for (const n of range(21, 40)) {
        await publisher.publish(channel, n);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      restarting = await restart;
      for (const n of range(41, 60)) await publisher.publish(channel, n);
      await eventually(() => seen.length >= 60, `60 publications (have ${seen.length})`);

      expect(seen).toEqual(range(1, 60));
      expect(missed).toEqual([]);
      expect(states).toContain("reconnecting");
      expect(client.session).not.toBe(firstSession);
      expect(client.transport).toBe(transport);
    } finally {
      client.close();
    }
  });
});

it("recovers every publication when its node dies and the load balancer sends it to another node", async () => {
  const env = { PubSub__Redis__Configuration: redis.configuration };
  const doomed = await HostProcess.start({ env });
  const balancer = await TestProxy.start(doomed.url);
  const channel = "chat/redis-failover";
  const client = nodeClient(balancer.pubsub);
  try {
    const { seen } = await connectSubscribed(client, channel);
    const firstNode = client.session!.split(".")[0];
    for (const n of range(1, 20)) await publisher.publish(channel, n);
    await eventually(() => seen.length === 20, "the first 20 publications");

    await doomed.kill();
    balancer.target = new URL(publisher.url);
    for (const n of range(21, 40)) await publisher.publish(channel, n);
    await eventually(() => seen.length >= 40, `40 publications (have ${seen.length})`);

    expect(seen).toEqual(range(1, 40));
    expect(client.session!.split(".")[0]).not.toBe(firstNode);
  } finally {
    client.close();
    await balancer.close();
    await doomed.stop();
  }
});
