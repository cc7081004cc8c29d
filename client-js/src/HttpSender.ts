import type { FrameCodec, Payload } from "./FrameCodec.js";
import { CLOSE } from "./frames.js";
import { endpoint, fetchWithin, httpError, requestInit } from "./http.js";
import { PubSubError } from "./PubSubError.js";
import type { TransportContext } from "./Transport.js";

/**
 * Client-to-server frames of an SSE or long-polling session: `POST {prefix}/send?session=...`
 * (docs/protocol.md, section 3.5), one request at a time. The server handles the sends of a
 * session in the order they arrive, and only one in flight makes the arrival order the send
 * order. Frames that queue meanwhile go together in the next body (one batch), which is where a
 * burst of publishes gets cheap.
 *
 * A failed send is not retried: its frames may have been handled, and a publish sent twice is a
 * publication made twice. The connection fails instead, and its requests fail with `connection_lost`.
 */
export class HttpSender {
  private inFlight = false;
  private closed = false;
  private readonly cancel = new AbortController();

  constructor(
    private readonly context: TransportContext,
    /** The encoding of what is sent: the session's (section 3.5: /send takes either, by Content-Type). */
    private readonly codec: () => FrameCodec,
    private readonly session: () => string | null,
    private readonly onWritable: () => void,
    private readonly onFailed: (error: PubSubError) => void,
  ) {}

  get idle(): boolean {
    return !this.inFlight && !this.closed && this.session() !== null;
  }

  send(batch: Payload): void {
    const session = this.session();
    if (session === null) {
      throw new PubSubError("transport_failed", "Cannot send before the session is connected.");
    }
    this.inFlight = true;
    void this.post(session, batch);
  }

  /** Stops reporting. A request in flight is left to finish: aborting it would not un-send it. */
  close(): void {
    this.closed = true;
  }

  /**
   * Tells the server the session is over (a `close` frame), so it releases the session's
   * subscriptions now instead of after the poll grace period. Nothing waits for the answer, and
   * `keepalive` lets the request outlive a page that is unloading.
   */
  leave(): void {
    const session = this.session();
    if (session === null) {
      return;
    }
    const codec = this.codec();
    const init = requestInit(this.context, {
      method: "POST",
      body: codec.encode(CLOSE) as BodyInit,
      keepalive: true,
      headers: { "Content-Type": codec.contentType },
    });
    this.context.fetch(endpoint(this.context.base, "send", { session }).href, init).catch(() => {
      // The session ends on the server anyway, when its stream or polls stop.
    });
  }

  /** Aborts a request in flight too (when the whole client closes). */
  abort(): void {
    this.closed = true;
    this.cancel.abort();
  }

  private async post(session: string, batch: Payload): Promise<void> {
    const url = endpoint(this.context.base, "send", { session });
    try {
      const response = await fetchWithin(
        this.context,
        url,
        { method: "POST", body: batch as BodyInit, headers: { "Content-Type": this.codec().contentType } },
        this.context.requestTimeout,
        this.cancel.signal,
      );
      if (this.closed) {
        return;
      }
      if (!response.ok) {
        // 404 session_not_found: the session ended (expired, or its node is gone); reconnect and recover.
        this.onFailed(await httpError(response, url));
        return;
      }
      this.inFlight = false;
      this.onWritable();
    } catch (error) {
      if (!this.closed) {
        this.onFailed(error as PubSubError);
      }
    }
  }
}
