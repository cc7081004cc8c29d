// The @stomp/stompjs scenario the .NET interop tests run, in Node (stomp-interop.mjs) and in
// headless Chromium (a page that imports this module), against a real PubSub node. It needs only
// the stompjs Client class and a global WebSocket, and reports each event through print(line)
// ({"event": ..., ...}): connected (the CONNECTED headers), subscribed (the SUBSCRIBE receipt),
// receipt (each SEND's), message (headers and body), heartbeats (once it has sent and received
// two), unsubscribed, disconnected. Then reconnect() connects again and subscribes with x-since
// set to the last message's position (resubscribed, then each message), and bad() subscribes a
// third client to the unknown channel nope/x (error, closed).
export function startScenario(Client, url, channel, print) {
  const messageOf = (message) => ({ headers: { ...message.headers }, body: message.body });
  const beats = { sent: 0, received: 0 };
  let beatsPrinted = false;
  let last = null;

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

  return {
    reconnect() {
      const again = client({ heartbeatIncoming: 0, heartbeatOutgoing: 0 });
      again.onConnect = () => {
        again.watchForReceipt("resub", (receipt) => print({ event: "resubscribed", headers: { ...receipt.headers } }));
        const since = `${last.headers["x-epoch"]}:${last.headers["x-offset"]}`;
        again.subscribe(channel, (message) => print({ event: "message", ...messageOf(message) }), { id: "again", receipt: "resub", "x-since": since });
      };
      again.activate();
    },
    bad() {
      const bad = client({ heartbeatIncoming: 0, heartbeatOutgoing: 0 });
      bad.onConnect = () => bad.subscribe("nope/x", () => {}, { id: "bad", receipt: "bad-1" });
      bad.activate();
    },
  };
}
