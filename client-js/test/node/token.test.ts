// Token expiry against a real PubSub.Host with JWT bearer authentication from configuration: the
// node closes a session with 4004 when the token it was opened with expires, and the client asks
// its token function for a new one, reconnects and recovers what was published meanwhile.

import { createHmac, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StateChange } from "../../src/types.js";
import { HostProcess } from "../support/HostProcess.js";
import { ALL, eventually, nodeClient, received } from "./support.js";

const ISSUER = "client-js-tests";
const AUDIENCE = "pubsub";
const key = randomBytes(32);
let host: HostProcess;

/** An HS256 JWT for `sub`, expiring in `seconds`: what an application's sign-in would mint. */
function mint(sub: string, seconds: number): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const signed = `${part({ alg: "HS256", typ: "JWT" })}.${part({ iss: ISSUER, aud: AUDIENCE, sub, nbf: now - 60, iat: now, exp: now + seconds })}`;
  return `${signed}.${createHmac("sha256", key).update(signed).digest("base64url")}`;
}

beforeAll(async () => {
  host = await HostProcess.start({
    env: {
      Authentication__Schemes__Bearer__ValidIssuer: ISSUER,
      Authentication__Schemes__Bearer__ValidAudiences__0: AUDIENCE,
      Authentication__Schemes__Bearer__SigningKeys__0__Issuer: ISSUER,
      Authentication__Schemes__Bearer__SigningKeys__0__Value: key.toString("base64"),
      PubSub__Channels__2__Template: "users/{id}/notifications",
      PubSub__Channels__2__UserParameter: "id",
      PubSub__Channels__2__HistorySize: "100",
      PubSub__Channels__2__HistoryTtl: "00:05:00",
    },
  });
});
afterAll(async () => {
  await host?.stop();
});

describe.each(ALL)("over %s", (transport) => {
  it("fetches a new token when the session's token expires, reconnects and recovers", async () => {
    const user = `u${transport.replace("-", "")}`;
    const channel = `users/${user}/notifications`;
    let minted = 0;
    // The first token lives three seconds, the next ones an hour.
    const client = nodeClient(host.pubsub, { transports: [transport], token: () => mint(user, minted++ === 0 ? 3 : 3600) });
    const changes: StateChange[] = [];
    client.on("state", (change) => changes.push(change));
    try {
      const sub = client.subscribe(channel);
      const seen = received(sub);
      await client.connect();
      await sub.ready();
      await host.publish(channel, 1);

      await eventually(() => changes.some((c) => c.state === "reconnecting"), "the session to end when its token expires");
      await host.publish(channel, 2);
      await eventually(() => changes.filter((c) => c.state === "connected").length >= 2, "the client to reconnect with a new token");
      await host.publish(channel, 3);
      await eventually(() => seen.length >= 3, `3 messages (have ${seen.length})`);

      expect(seen).toEqual([1, 2, 3]);
      expect(changes.find((c) => c.state === "reconnecting")?.error?.disconnectCode).toBe(4004);
      expect(minted).toBeGreaterThanOrEqual(2);
    } finally {
      client.close();
    }
  });
});
