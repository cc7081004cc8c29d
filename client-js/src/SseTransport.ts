import { deliverFrames, sessionCapturingSink } from "./frames.js";
import { endpoint } from "./http.js";
import { HttpTransport } from "./HttpTransport.js";
import { JsonCodec } from "./JsonCodec.js";
import { PubSubError } from "./PubSubError.js";
import type { TransportContext } from "./Transport.js";
import type { EventSourceLike } from "./types.js";

/**
 * `GET {prefix}/sse` (docs/protocol.md, section 3.3): frames arrive as events of an EventSource;
 * frames go out through `POST {prefix}/send`.
 *
 * Reconnecting is the client's, not the EventSource's: on the first error the EventSource is
 * closed (so its built-in retry never starts a session this client does not know about) and the
 * connection fails; the client then reconnects like on any transport and re-subscribes each
 * channel with `since` over `/send`. That path reports a refused channel per subscription (an
 * EventSource cannot read the status of a refused `?channel=`/`lastEventId` request), and it is
 * the same recovery on every transport. So this transport ignores the events' `id:` cursors.
 *
 * An event stream carries text only, so an SSE session is JSON both ways, whatever encoding the
 * client asked for (docs/protocol.md, section 6.3); the subscriptions carry on unchanged.
 */
export class SseTransport extends HttpTransport {
  readonly name = "sse" as const;
  readonly codec = JsonCodec.instance;
  private source: EventSourceLike | null = null;

  open(): void {
    const EventSourceImpl = this.context.EventSource ?? (globalThis as { EventSource?: TransportContext["EventSource"] }).EventSource;
    if (EventSourceImpl === undefined) {
      this.finish(new PubSubError("transport_failed", "There is no EventSource implementation; pass one as the `EventSource` option."));
      return;
    }
    const url = endpoint(this.context.base, "sse", this.context.token === null ? {} : { access_token: this.context.token });
    let source: EventSourceLike;
    try {
      source = new EventSourceImpl(url.href, { withCredentials: this.context.withCredentials });
    } catch (error) {
      this.finish(new PubSubError("transport_failed", `Opening an EventSource to ${url.href} failed: ${String(error)}`, { cause: error }));
      return;
    }
    this.source = source;
    const sink = sessionCapturingSink(this.handler, (session) => (this.session = session));
    source.onmessage = (event) => deliverFrames(this.codec.decode(event.data), sink, () => !this.closed);
    source.onerror = () => {
      // A stream that ends, a network failure and a refused request all look alike here.
      this.finish(new PubSubError("transport_failed", this.session === null
        ? "The event stream could not be opened (refused, not offered, or unreachable)."
        : "The event stream ended or failed."));
    };
  }

  protected stop(): void {
    const source = this.source;
    if (source !== null) {
      source.onmessage = null;
      source.onerror = null;
      source.close();
    }
  }
}
