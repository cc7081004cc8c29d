// Drives the `eventsource` npm package (a spec-following EventSource, as in browsers) against a
// PubSub node for the .NET interop tests. It opens the URL given as the first argument and prints
// one JSON line per event ({"id": lastEventId, "data": <frame>}) and one per connection error
// ({"error": ...}); it reconnects on its own, sending Last-Event-ID as a browser would. It exits
// when its standard input closes.
import { EventSource } from "eventsource";

const url = process.argv[2];
if (!url) {
  console.error("usage: node eventsource-client.mjs <sse url>");
  process.exit(2);
}

const source = new EventSource(url);
source.onmessage = (event) => {
  process.stdout.write(JSON.stringify({ id: event.lastEventId, data: JSON.parse(event.data) }) + "\n");
};
source.onerror = (event) => {
  process.stdout.write(JSON.stringify({ error: event.message ?? "error", readyState: source.readyState }) + "\n");
};
source.onopen = () => {
  process.stdout.write(JSON.stringify({ open: true }) + "\n");
};

process.stdin.resume();
process.stdin.on("end", () => {
  source.close();
  process.exit(0);
});
