// Drives @stomp/stompjs (a STOMP client nobody here wrote) against a real PubSub node, for the
// .NET interop tests (docs/protocol.md, section 7). Arguments: a WebSocket URL and a channel. It
// prints one JSON line per event ({"event": ..., ...}): connected (the CONNECTED headers),
// subscribed (the SUBSCRIBE receipt), receipt (each SEND's), message (headers and body),
// heartbeats (once it has sent and received two), unsubscribed, disconnected; then it waits for
// the line "reconnect" on its standard input, connects again, subscribes with x-since set to the
// last message's position, prints resubscribed and each message; on the line "bad" it subscribes a
// third client to the unknown channel nope/x and prints the error it gets. It exits when its
// standard input closes.
import { withWebSocket } from "./with-websocket.mjs";
import { createInterface } from "node:readline";
import { Client } from "@stomp/stompjs";

withWebSocket(main);

function main() {
  const [url, channel] = process.argv.slice(2);
  if (!url || !channel) {
    console.error("usage: node stomp-interop.mjs <ws url> <channel>");
    process.exit(2);
  }
  const print = (line) => process.stdout.write(JSON.stringify(line) + "\n");
  const messageOf = (message) => ({ headers: { ...message.headers }, body: message.body });
  let last = null;
  let beats = { sent: 0, received: 0 };
  let beatsPrinted = false;

  const client = (options = {}) => new Client({
    brokerURL: url,
    reconnectDelay: 0,
    heartbeatIncoming: 500,
    heartbeatOutgoing: 500,
    debug: (text) => {
      if (text === ">>> PING") beats.sent++;
      if (text === "<<< PONG") beats.received++;
      if (!beatsPrinted && beats.sent >= 2 && beats.received >= 2) {
        beatsPrinted = true;
        print({ event: "heartbeats", ...beats });
      }
    },
    onStompError: (frame) => print({ event: "error", headers: { ...frame.headers }, body: frame.body }),
    onWebSocketClose: (close) => print({ event: "closed", code: close.code }),
    ...options,
  });

  const first = client();
  first.onConnect = (connected) => {
    print({ event: "connected", headers: { ...connected.headers } });
    first.watchForReceipt("sub-1", (receipt) => print({ event: "subscribed", headers: { ...receipt.headers } }));
    let received = 0;
    const subscription = first.subscribe(channel, (message) => {
      last = message;
      print({ event: "message", ...messageOf(message) });
      if (++received === 2) {
        // Stay connected until heart-beats went both ways, then leave.
        const leave = setInterval(() => {
          if (!beatsPrinted) return;
          clearInterval(leave);
          first.watchForReceipt("unsub-1", () => {
            print({ event: "unsubscribed" });
            first.deactivate().then(() => print({ event: "disconnected" }));
          });
          subscription.unsubscribe({ receipt: "unsub-1" });
        }, 50);
      }
    }, { id: "sub-0", receipt: "sub-1" });
    for (const n of [1, 2]) {
      first.watchForReceipt(`send-${n}`, (receipt) => print({ event: "receipt", headers: { ...receipt.headers } }));
      first.publish({ destination: channel, body: JSON.stringify({ n }), headers: { "content-type": "application/json", receipt: `send-${n}` } });
    }
  };
  first.activate();

  const input = createInterface({ input: process.stdin });
  input.on("line", (line) => {
    if (line === "reconnect") {
      const again = client({ heartbeatIncoming: 0, heartbeatOutgoing: 0 });
      again.onConnect = () => {
        again.watchForReceipt("resub", (receipt) => print({ event: "resubscribed", headers: { ...receipt.headers } }));
        const since = `${last.headers["x-epoch"]}:${last.headers["x-offset"]}`;
        again.subscribe(channel, (message) => print({ event: "message", ...messageOf(message) }), { id: "again", receipt: "resub", "x-since": since });
      };
      again.activate();
    } else if (line === "bad") {
      const bad = client({ heartbeatIncoming: 0, heartbeatOutgoing: 0, onWebSocketClose: (close) => { print({ event: "closed", code: close.code }); bad.deactivate(); } });
      bad.onConnect = () => bad.subscribe("nope/x", () => {}, { id: "bad", receipt: "bad-1" });
      bad.activate();
    }
  });
  input.on("close", () => process.exit(0));
}
