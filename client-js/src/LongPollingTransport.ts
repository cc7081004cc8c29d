import type { FrameCodec } from "./FrameCodec.js";
import { deliverFrames, sessionCapturingSink } from "./frames.js";
import type { DecodedFrame } from "./frames.js";
import { endpoint, fetchWithin, httpError, readBody } from "./http.js";
import { HttpTransport } from "./HttpTransport.js";
import { PubSubError } from "./PubSubError.js";

/**
 * `GET {prefix}/poll` (docs/protocol.md, section 3.4), with `POST {prefix}/send` for frames out.
 *
 * The server numbers a session's frames 1, 2, 3, … and keeps each until a poll acknowledges it;
 * `ack` is the count of frames received, and the answer to a poll with `ack=n` holds frames n+1,
 * n+2, … A response counts only once its whole body is read, so the count is exactly what was
 * delivered: a response lost on the way (or cut off mid-body) is retried with the same `ack`, the
 * server sends those frames again, and each is delivered once. Frames are numbered from the `ack`
 * their poll sent and those at or below the count are skipped (section 3.4), so even a response
 * that arrived after a newer one could not deliver anything twice. Only when retries run out (or
 * the server says `session_not_found`) does the connection fail and the client reconnect and recover.
 *
 * A session in MessagePack is opened with `encoding=msgpack` (section 6.3), and every response
 * of it is a MessagePack batch; so a client that falls back from WebSocket keeps its encoding.
 */
export class LongPollingTransport extends HttpTransport {
  /** Retries of a poll that failed on the network, before the connection is given up. */
  static readonly MaxPollRetries = 3;
  /** The first retry's delay (ms), doubling per retry: 0.5 s, 1 s, 2 s, well inside the server's 20 s grace period. */
  static readonly PollRetryDelay = 500;
  /** How much longer than the server's poll timeout a poll may take before it counts as lost (ms). */
  static readonly PollTimeoutMargin = 10_000;

  readonly name = "long-polling" as const;
  get codec(): FrameCodec {
    return this.context.codec;
  }
  /** The number of frames received on this session. */
  private received = 0;
  private readonly cancel = new AbortController();
  private retryTimer: ReturnType<typeof setTimeout> | undefined;

  /** Frames received so far (what the next poll acknowledges). */
  get count(): number {
    return this.received;
  }

  open(): void {
    void this.run();
  }

  protected stop(): void {
    clearTimeout(this.retryTimer);
    // Ends the held poll at once; there is no frame in it that the client still wants.
    this.cancel.abort();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      const ack = this.received;
      const url = this.session === null
        ? endpoint(this.context.base, "poll", this.codec.encoding === "json" ? {} : { encoding: this.codec.encoding })
        : endpoint(this.context.base, "poll", { session: this.session, ack: String(ack) });
      const timeout = this.session === null
        ? this.context.requestTimeout
        : this.context.pollTimeout + LongPollingTransport.PollTimeoutMargin;
      let body: string | Uint8Array;
      try {
        const response = await fetchWithin(this.context, url, { method: "GET" }, timeout, this.cancel.signal);
        if (this.closed) {
          return;
        }
        if (!response.ok) {
          // 404 session_not_found: the session expired or its node is gone; the client reconnects and recovers.
          this.finish(await httpError(response, url));
          return;
        }
        body = await readBody(response, url, this.codec.binary);
      } catch (error) {
        if (this.closed) {
          return;
        }
        failures++;
        if (this.session === null || failures > LongPollingTransport.MaxPollRetries) {
          this.finish(error as PubSubError);
          return;
        }
        await this.delay(LongPollingTransport.PollRetryDelay * 2 ** (failures - 1));
        continue;
      }
      failures = 0;
      if (this.closed) {
        return;
      }
      this.deliver(this.codec.decode(body), ack);
    }
  }

  /** Delivers the frames of a response to a poll that acknowledged `ack`: frame i is number ack + 1 + i. */
  private deliver(lines: DecodedFrame[], ack: number): void {
    const sink = sessionCapturingSink(this.handler, (session) => (this.session ??= session));
    // Frame i of this response is number ack + 1 + i; those up to the count were processed already.
    const fresh = lines.slice(Math.max(0, this.received - ack));
    // Counted before delivery: a frame the client got (even one it could not parse) is acknowledged.
    this.received = Math.max(this.received, ack + lines.length);
    if (this.session === null && lines.length === 0) {
      this.finish(new PubSubError("bad_frame", "The first poll returned no frames; expected 'connected'."));
      return;
    }
    deliverFrames(fresh, sink, () => !this.closed);
    if (this.session === null && !this.closed) {
      this.finish(new PubSubError("bad_frame", "The first poll did not start with 'connected'."));
    }
  }

  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.retryTimer = setTimeout(resolve, ms);
    });
  }
}
