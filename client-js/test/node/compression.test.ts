// permessage-deflate from Node: the `ws` package offers it by default (as browsers and Node 22's
// global WebSocket always do), and gets it only from a Host with PubSub:WebSocketCompression on.
// A client that does not want it passes a `ws` subclass with `perMessageDeflate: false`.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import type { WebSocketConstructor } from "../../src/types.js";
import { HostProcess } from "../support/HostProcess.js";
import { connectSubscribed, eventually, nodeClient, range } from "./support.js";

/** The `ws` sockets a client opened, so a test can read the extensions the server accepted. */
function recordingWebSocket(perMessageDeflate: boolean): { ctor: WebSocketConstructor; sockets: WebSocket[] } {
  const sockets: WebSocket[] = [];
  class Recording extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { perMessageDeflate });
      sockets.push(this);
    }
  }
  return { ctor: Recording as unknown as WebSocketConstructor, sockets };
}

describe("permessage-deflate", () => {
  let compressing: HostProcess;
  let plainHost: HostProcess;

  beforeAll(async () => {
    [compressing, plainHost] = await Promise.all([
      HostProcess.start({ env: { PubSub__WebSocketCompression: "true" } }),
      HostProcess.start(),
    ]);
  });
  afterAll(async () => {
    await Promise.all([compressing?.stop(), plainHost?.stop()]);
  });

  it("is negotiated with a Host that enables it and not with one that does not", async () => {
    for (const [host, expected] of [[compressing, "permessage-deflate"], [plainHost, ""]] as const) {
      const ws = recordingWebSocket(true);
      const client = nodeClient(host.pubsub, { transports: ["websocket"], WebSocket: ws.ctor });
      try {
        const { seen } = await connectSubscribed(client, "chat/negotiated");
        await client.publish("chat/negotiated", { text: "z".repeat(20_000) });
        await eventually(() => seen.length === 1, "the message");
        expect(ws.sockets[0]!.extensions).toBe(expected);
      } finally {
        client.close();
      }
    }
  });

  it("gives compressed and plain subscribers of one channel every publication, in order", async () => {
    const deflating = recordingWebSocket(true);
    const plain = recordingWebSocket(false);
    const compressed = nodeClient(compressing.pubsub, { transports: ["websocket"], WebSocket: deflating.ctor });
    const uncompressed = nodeClient(compressing.pubsub, { transports: ["websocket"], WebSocket: plain.ctor });
    try {
      const a = await connectSubscribed(compressed, "chat/mixed-js");
      const b = await connectSubscribed(uncompressed, "chat/mixed-js");
      expect(deflating.sockets[0]!.extensions).toBe("permessage-deflate");
      expect(plain.sockets[0]!.extensions).toBe("");

      // `ws` compresses what it sends above 1 KB, so the large ones reach the server compressed too.
      const text = (n: number) => (n % 25 === 0 ? "x".repeat(30_000) : `message ${n}`);
      for (const n of range(1, 100)) {
        await compressed.publish("chat/mixed-js", { n, text: text(n) });
      }
      await eventually(() => a.seen.length === 100 && b.seen.length === 100, "100 messages on both");

      const expected = range(1, 100).map((n) => ({ n, text: text(n) }));
      expect(a.seen).toEqual(expected);
      expect(b.seen).toEqual(expected);
    } finally {
      compressed.close();
      uncompressed.close();
    }
  });
});
