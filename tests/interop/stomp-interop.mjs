// Runs the @stomp/stompjs scenario (stomp-scenario.mjs, which says what it prints) in Node for the
// .NET interop tests. Arguments: a WebSocket URL and a channel. It prints one JSON line per event,
// runs the scenario's step named by each line of its standard input ("reconnect", "bad"), and
// exits when its standard input closes.
import { createInterface } from "node:readline";
import { Client } from "@stomp/stompjs";
import { startScenario } from "./stomp-scenario.mjs";
import { withWebSocket } from "./with-websocket.mjs";

withWebSocket(main);

function main() {
  const [url, channel] = process.argv.slice(2);
  if (!url || !channel) {
    console.error("usage: node stomp-interop.mjs <ws url> <channel>");
    process.exit(2);
  }
  const scenario = startScenario(Client, url, channel, (line) => process.stdout.write(JSON.stringify(line) + "\n"));
  const input = createInterface({ input: process.stdin });
  input.on("line", (line) => scenario[line]?.());
  input.on("close", () => process.exit(0));
}
