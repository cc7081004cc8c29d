// Drives @msgpack/msgpack (a MessagePack library nobody here wrote) against the protocol's
// MessagePack vectors and a real PubSub node, for the .NET interop tests. Arguments: the path of
// protocol/frames/msgpack.json and a WebSocket URL. It prints one JSON line with the vector check
// ({"vectors": n, "failures": [...]}: every 'server' and 'client' vector decodes to the value of
// its 'json', with 'binary' as bytes, and encodes back to its 'hex'; every batch decodes to its
// frames), then connects with the subprotocol pubsub.msgpack, sends frames it encoded itself
// (subscribe, publish data, publish bytes, then history) and prints every frame it decodes as
// {"frame": ...} (bytes as base64, as JSON carries them). It exits when its standard input closes.
import { readFileSync } from "node:fs";
import { withWebSocket } from "./with-websocket.mjs";
import { isDeepStrictEqual } from "node:util";
import { encode, decode, decodeMulti } from "@msgpack/msgpack";

withWebSocket(main);

function main() {
  const [vectorsPath, url] = process.argv.slice(2);
  if (!vectorsPath || !url) {
    console.error("usage: node msgpack-interop.mjs <protocol/frames/msgpack.json> <ws url>");
    process.exit(2);
  }
  const print = (line) => process.stdout.write(JSON.stringify(line) + "\n");
  const hex = (bytes) => Buffer.from(bytes).toString("hex");
  const fromHex = (text) => new Uint8Array(Buffer.from(text, "hex"));

  // The value a JSON frame stands for in MessagePack: 'binary' fields are bytes.
  const withBytes = (frame) => {
    if (Array.isArray(frame)) return frame.map(withBytes);
    if (frame === null || typeof frame !== "object") return frame;
    return Object.fromEntries(Object.entries(frame).map(([k, v]) =>
      [k, k === "binary" && typeof v === "string" ? new Uint8Array(Buffer.from(v, "base64")) : withBytes(v)]));
  };
  // What JSON can print of a decoded value: bytes as base64.
  const printable = (value) => {
    if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
    if (Array.isArray(value)) return value.map(printable);
    if (value === null || typeof value !== "object") return value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, printable(v)]));
  };

  const vectors = JSON.parse(readFileSync(vectorsPath, "utf8"));
  const failures = [];
  let checked = 0;
  for (const list of ["server", "client"]) {
    for (const vector of vectors[list]) {
      checked++;
      const expected = withBytes(JSON.parse(vector.json));
      const decoded = decode(fromHex(vector.hex));
      if (!isDeepStrictEqual(decoded, expected)) failures.push(`${list} '${vector.name}': decodes to ${JSON.stringify(printable(decoded))}`);
      const encoded = hex(encode(expected));
      if (encoded !== vector.hex) failures.push(`${list} '${vector.name}': encodes to ${encoded}`);
    }
  }
  for (const batch of vectors.batches) {
    checked++;
    const decoded = [...decodeMulti(fromHex(batch.hex))];
    if (!isDeepStrictEqual(decoded, batch.frames.map((f) => withBytes(JSON.parse(f))))) failures.push(`batch '${batch.name}': decodes to ${JSON.stringify(printable(decoded))}`);
  }
  print({ vectors: checked, failures });

  const channel = `chat/interop-msgpack-${Date.now()}`;
  const socket = new WebSocket(url, "pubsub.msgpack");
  socket.binaryType = "arraybuffer";
  const send = (frame) => socket.send(encode(frame));
  socket.onmessage = (event) => {
    if (typeof event.data === "string") {
      print({ error: `a text message on pubsub.msgpack: ${event.data}` });
      return;
    }
    for (const frame of decodeMulti(new Uint8Array(event.data))) {
      print({ frame: printable(frame) });
      if (frame.type === "ping") send({ type: "pong" });
      if (frame.type === "connected") send({ type: "subscribe", id: 1, channel });
      if (frame.type === "reply" && frame.id === 1) {
        send({ type: "publish", id: 2, channel, data: { text: "été", n: 1.5, big: 12345678901, list: [true, null] } });
        send({ type: "publish", id: 3, channel, binary: new Uint8Array([0, 1, 2, 3, 255]) });
      }
      if (frame.type === "reply" && frame.id === 3) send({ type: "history", id: 4, channel, limit: 10 });
    }
  };
  socket.onerror = (event) => print({ error: event.message ?? "error" });
  socket.onclose = (event) => print({ closed: event.code });

  process.stdin.resume();
  process.stdin.on("end", () => {
    socket.close();
    process.exit(0);
  });
}
