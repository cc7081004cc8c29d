import type { FrameCodec, Payload } from "./FrameCodec.js";
import { deliverFrames } from "./frames.js";
import { endpoint } from "./http.js";
import { PubSubError } from "./PubSubError.js";
import type { Transport, TransportContext, TransportHandler } from "./Transport.js";
import type { WebSocketLike } from "./types.js";

const OPEN = 1;

/**
 * `{prefix}/ws` (docs/protocol.md, sections 3.2 and 6.3): both directions on one socket, each
 * message a batch: text on `pubsub.json`, binary on `pubsub.msgpack`. Sending is bufferedAmount-aware: while the socket holds `sendBufferLimit` bytes or more,
 * `canSend()` is false, so frames wait in the connection's queue, where control frames can still
 * overtake publishes, instead of in the socket's buffer, where nothing can overtake anything.
 */
export class WebSocketTransport implements Transport {
  /** The subprotocol of each encoding. */
  static readonly Subprotocols = { json: "pubsub.json", msgpack: "pubsub.msgpack" } as const;

  /**
   * Browsers have no "drained" event for a WebSocket, so a paused sender checks `bufferedAmount`
   * this often (ms). Short enough to keep a fast link busy, long enough to cost nothing.
   */
  static readonly DrainCheckInterval = 10;

  readonly name = "websocket" as const;
  readonly codec: FrameCodec;
  private socket: WebSocketLike | null = null;
  private closed = false;
  private drainTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly context: TransportContext,
    private readonly handler: TransportHandler,
  ) {
    this.codec = context.codec;
  }

  open(): void {
    const WebSocketImpl = this.context.WebSocket ?? (globalThis as { WebSocket?: TransportContext["WebSocket"] }).WebSocket;
    if (WebSocketImpl === undefined) {
      this.finish(new PubSubError("transport_failed", "There is no WebSocket implementation; pass one as the `WebSocket` option."));
      return;
    }
    const url = endpoint(this.context.base, "ws", this.context.token === null ? {} : { access_token: this.context.token });
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";

    let socket: WebSocketLike;
    try {
      socket = new WebSocketImpl(url.href, WebSocketTransport.Subprotocols[this.codec.encoding]);
    } catch (error) {
      this.finish(new PubSubError("transport_failed", `Opening a WebSocket to ${url.href} failed: ${String(error)}`, { cause: error }));
      return;
    }
    this.socket = socket;
    socket.binaryType = "arraybuffer";
    socket.onmessage = (event) => {
      const data = event.data instanceof ArrayBuffer ? new Uint8Array(event.data) : event.data;
      // A message of the other kind (text on msgpack, binary on json) is the codec's to refuse.
      deliverFrames(this.codec.decode(data as Payload), this.handler, () => !this.closed);
    };
    socket.onclose = (event) => {
      const reason = event.reason ? `: ${event.reason}` : "";
      this.finish(new PubSubError("transport_failed", `The WebSocket closed with code ${event.code}${reason}`, { disconnectCode: event.code, disconnectReason: event.reason }), event.code, event.reason);
    };
    // An error is always followed by a close event, which carries what there is to say.
    socket.onerror = () => undefined;
  }

  /** False while the socket's buffer is full; the handler then hears `onWritable` once it drained. */
  canSend(): boolean {
    const socket = this.socket;
    if (socket === null || this.closed || socket.readyState !== OPEN) {
      return false;
    }
    if (socket.bufferedAmount >= this.context.sendBufferLimit) {
      this.watchDrain();
      return false;
    }
    return true;
  }

  send(batch: Payload): void {
    const socket = this.socket!;
    socket.send(batch);
    if (socket.bufferedAmount >= this.context.sendBufferLimit) {
      this.watchDrain();
    }
  }

  close(): void {
    if (this.closed) {
      return;
    }
    this.closed = true;
    clearTimeout(this.drainTimer);
    const socket = this.socket;
    if (socket !== null) {
      socket.onmessage = null;
      socket.onclose = null;
      try {
        socket.close(1000);
      } catch {
        // Closing a socket that is still connecting throws in some implementations; it is dropped either way.
      }
    }
  }

  private watchDrain(): void {
    if (this.drainTimer !== undefined) {
      return;
    }
    const check = (): void => {
      this.drainTimer = undefined;
      if (this.closed) {
        return;
      }
      if (this.canSend()) {
        this.handler.onWritable();
      } else if (this.socket?.readyState === OPEN) {
        this.drainTimer = setTimeout(check, WebSocketTransport.DrainCheckInterval);
      }
    };
    this.drainTimer = setTimeout(check, WebSocketTransport.DrainCheckInterval);
  }

  private finish(error: PubSubError, closeCode?: number, closeReason = ""): void {
    if (this.closed) {
      return;
    }
    this.closed = true;
    clearTimeout(this.drainTimer);
    this.handler.onClose(closeCode === undefined ? { error } : { error, closeCode, closeReason });
  }
}
