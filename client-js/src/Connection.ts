import type { FrameCodec } from "./FrameCodec.js";
import { PING } from "./frames.js";
import type { ClientFrame, ConnectedFrame, DisconnectFrame, ServerFrame, SimpleClientFrame, UnknownFrame } from "./frames.js";
import { LongPollingTransport } from "./LongPollingTransport.js";
import { OutboundQueue } from "./OutboundQueue.js";
import type { QueuedFrame } from "./OutboundQueue.js";
import { PubSubError } from "./PubSubError.js";
import { isProtocolCode, reconnectsAfter } from "./rules.js";
import { SseTransport } from "./SseTransport.js";
import type { Transport, TransportClosed, TransportContext, TransportHandler } from "./Transport.js";
import type { TransportName } from "./types.js";
import { WebSocketTransport } from "./WebSocketTransport.js";

/**
 * A frame waiting to be sent, encoded by `codec`; `id` is set when the frame is a request that
 * expects a reply. A frame that waited for one connection may go out on another of another
 * encoding (a fall back to SSE, which is JSON): it is encoded again there, from `frame`.
 */
export interface OutboundFrame extends QueuedFrame {
  readonly id?: number;
  readonly frame: ClientFrame;
  readonly codec: FrameCodec;
}

/** `frame` encoded by `codec`, ready to queue; throws when the frame's data cannot be encoded. */
export function outboundFrame(frame: ClientFrame, codec: FrameCodec, lane: QueuedFrame["lane"]): OutboundFrame {
  const payload = codec.encode(frame);
  const id = "id" in frame ? { id: frame.id } : {};
  return { type: frame.type, payload, bytes: codec.size(payload), lane, frame, codec, ...id };
}

export interface ConnectionSettings {
  /** How long the transport has to deliver `connected` (ms). */
  readonly connectTimeout: number;
  /** The largest batch the server accepts (bytes). */
  readonly maxMessageSize: number;
  readonly maxQueueBytes: number;
  /** How much longer than the heartbeat interval silence is tolerated (ms). */
  readonly heartbeatMargin: number;
}

/** How a connection ended after it was open; a `terminal` error says not to reconnect (disconnect codes 4500–4999). */
export interface ConnectionClosed {
  readonly error: PubSubError;
}

export interface ConnectionListener {
  onFrame(connection: Connection, frame: ServerFrame | UnknownFrame): void;
  onBadFrame(connection: Connection, error: PubSubError): void;
  /** The open connection ended by itself (not by `close()`). */
  onClosed(connection: Connection, closed: ConnectionClosed): void;
}

function createTransport(name: TransportName, context: TransportContext, handler: TransportHandler): Transport {
  switch (name) {
    case "websocket":
      return new WebSocketTransport(context, handler);
    case "sse":
      return new SseTransport(context, handler);
    case "long-polling":
      return new LongPollingTransport(context, handler);
  }
}

/**
 * One server session on one transport: waits for `connected`, owns the session's outbound queue
 * (drained into the transport as fast as the transport takes it, several frames per batch),
 * remembers which requests went out on it and which channels are subscribed on it, and watches
 * the heartbeat. The client may hold two at a time while it moves to a better transport.
 */
export class Connection {
  readonly transport: Transport;
  readonly queue: OutboundQueue;
  /** Channels whose subscribe succeeded on this session; messages for other channels are not for this client. */
  readonly activeChannels = new Set<string>();
  /** Ids of the requests sent on this session whose replies have not come. */
  readonly inflight = new Set<number>();
  /** Resolves on the `connected` frame; rejects when the transport fails first or takes too long. */
  readonly opened: Promise<void>;

  private state: "opening" | "open" | "closed" = "opening";
  /**
   * Frames that came after `connected` before the client took the connection on (`deliver()`):
   * the `subscribed` frames of the server's connect hook, and messages behind them, follow
   * `connected` at once, often in the same batch, and belong to the connection the client adopts.
   */
  private held: (ServerFrame | UnknownFrame)[] | null = [];
  private connected: ConnectedFrame | null = null;
  private resolveOpened!: () => void;
  private rejectOpened!: (error: PubSubError) => void;
  private openTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimer: ReturnType<typeof setTimeout> | undefined;
  private flushScheduled = false;
  private lastInbound = Date.now();
  /** On SSE: a ping went out and nothing has come back since. */
  private awaitingPong = false;

  constructor(
    readonly name: TransportName,
    context: TransportContext,
    private readonly settings: ConnectionSettings,
    private readonly listener: ConnectionListener,
  ) {
    this.queue = new OutboundQueue(settings.maxQueueBytes);
    this.opened = new Promise<void>((resolve, reject) => {
      this.resolveOpened = resolve;
      this.rejectOpened = reject;
    });
    // Nobody may be listening yet when an attempt fails; the client awaits `opened` right after.
    this.opened.catch(() => undefined);
    const handler: TransportHandler = {
      onFrame: (frame) => this.onFrame(frame),
      onBadFrame: (error) => this.onBadFrame(error),
      onWritable: () => this.flush(),
      onClose: (closed) => this.onTransportClosed(closed),
    };
    this.transport = createTransport(name, context, handler);
    this.openTimer = setTimeout(() => {
      this.fail(new PubSubError("timeout", `The ${name} transport did not deliver 'connected' within ${settings.connectTimeout} ms.`));
    }, settings.connectTimeout);
    this.transport.open();
  }

  /** The session's `connected` frame; null until it came. */
  get info(): ConnectedFrame | null {
    return this.connected;
  }

  get isOpen(): boolean {
    return this.state === "open";
  }

  /** The encoding of this connection's session. */
  get codec(): FrameCodec {
    return this.transport.codec;
  }

  /** Queues a frame without id (ping, pong) on the control lane, unless one waits already. */
  enqueueControl(frame: SimpleClientFrame): void {
    if (!this.queue.hasControl(frame.type)) {
      this.enqueue(outboundFrame(frame, this.codec, "control"));
    }
  }

  /** Queues a frame and schedules a send; false when the bulk lane is full. */
  enqueue(frame: OutboundFrame): boolean {
    if (!this.queue.enqueue(frame)) {
      return false;
    }
    this.scheduleFlush();
    return true;
  }

  /** Sends whatever waits, in the next microtask: the frames queued in one tick travel in one batch. */
  scheduleFlush(): void {
    if (this.flushScheduled || this.state !== "open") {
      return;
    }
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  flush(): void {
    const codec = this.codec;
    while (this.state === "open" && !this.queue.isEmpty && this.transport.canSend()) {
      const batch = this.queue.take(this.settings.maxMessageSize, codec.separatorBytes) as OutboundFrame[];
      for (const frame of batch) {
        if (frame.id !== undefined) {
          this.inflight.add(frame.id);
        }
      }
      this.transport.send(codec.join(batch.map((frame) => (frame.codec === codec ? frame.payload : codec.encode(frame.frame)))));
    }
  }

  /** From now on the listener hears every frame; first those that came since `connected`. */
  deliver(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const frame of held) {
      if (this.state !== "open") {
        return;
      }
      this.listener.onFrame(this, frame);
    }
  }

  /** Ends the connection quietly: the listener hears nothing more. */
  close(): void {
    this.end(new PubSubError("closed", "The connection was closed while it was opening."), false);
  }

  /** Ends the connection because it failed: an opening one rejects `opened`, an open one tells the listener. */
  fail(error: PubSubError): void {
    this.end(error, true);
  }

  /** `tell` false: a quiet close. */
  private end(error: PubSubError, tell: boolean): void {
    if (this.state === "closed") {
      return;
    }
    const wasOpening = this.state === "opening";
    this.state = "closed";
    this.stopTimers();
    this.transport.close();
    if (wasOpening) {
      this.rejectOpened(error);
    } else if (tell) {
      this.listener.onClosed(this, { error });
    }
  }

  private onFrame(frame: ServerFrame | UnknownFrame): void {
    this.markInbound();
    if (this.state === "opening") {
      this.onFirstFrame(frame);
      return;
    }
    if (this.state !== "open") {
      return;
    }
    if (frame.type === "disconnect") {
      const disconnect = frame as DisconnectFrame;
      this.fail(disconnectError(disconnect.code, disconnect.reason ?? ""));
      return;
    }
    if (this.held !== null) {
      this.held.push(frame);
      return;
    }
    this.listener.onFrame(this, frame);
  }

  private onFirstFrame(frame: ServerFrame | UnknownFrame): void {
    if (frame.type === "connected") {
      this.connected = frame as ConnectedFrame;
      this.state = "open";
      clearTimeout(this.openTimer);
      this.scheduleHeartbeat();
      this.resolveOpened();
      return;
    }
    if (frame.type === "disconnect") {
      const disconnect = frame as DisconnectFrame;
      this.fail(disconnectError(disconnect.code, disconnect.reason ?? ""));
      return;
    }
    this.fail(new PubSubError("bad_frame", `The first frame was '${frame.type}', not 'connected'.`));
  }

  private onBadFrame(error: PubSubError): void {
    this.markInbound();
    if (this.state === "opening") {
      this.fail(error);
    } else if (this.state === "open") {
      this.listener.onBadFrame(this, error);
    }
  }

  private onTransportClosed(closed: TransportClosed): void {
    const code = closed.closeCode;
    // A close code of the protocol's own says what a disconnect frame would have (section 2.8);
    // RFC 6455 codes, 1006 (abnormal) and 1011 (server error) among them, leave the transport's error.
    this.fail(code !== undefined && isProtocolCode(code) ? disconnectError(code, closed.closeReason ?? "") : closed.error);
  }

  /**
   * The server pings a WebSocket every `ping` seconds; silence past `ping` + margin means a dead
   * connection that TCP has not noticed (section 2.6). An SSE stream's heartbeat is a comment,
   * which an EventSource does not surface, so on SSE the client asks for a `pong` itself (over
   * /send) after `ping` seconds of silence. Long-polling needs no watch: each poll is bounded.
   */
  private scheduleHeartbeat(): void {
    const interval = (this.connected?.ping ?? 0) * 1000;
    if (interval <= 0 || this.name === "long-polling") {
      return;
    }
    const deadline = interval + this.settings.heartbeatMargin;
    const clientPings = this.name === "sse";
    const check = (): void => {
      if (this.state !== "open") {
        return;
      }
      const now = Date.now();
      const silence = now - this.lastInbound;
      if (silence >= deadline) {
        this.fail(new PubSubError("timeout", `No frame from the server for ${Math.round(silence / 1000)} s (heartbeat every ${interval / 1000} s).`));
        return;
      }
      if (clientPings && !this.awaitingPong && silence >= interval) {
        this.awaitingPong = true;
        this.enqueueControl(PING);
      }
      const wake = clientPings && !this.awaitingPong ? this.lastInbound + interval : this.lastInbound + deadline;
      this.heartbeatTimer = setTimeout(check, Math.max(1, wake - now));
    };
    this.heartbeatTimer = setTimeout(check, clientPings ? interval : deadline);
  }

  private markInbound(): void {
    this.lastInbound = Date.now();
    this.awaitingPong = false;
  }

  private stopTimers(): void {
    clearTimeout(this.openTimer);
    clearTimeout(this.heartbeatTimer);
  }
}

/** The error of a server `disconnect` (or a WebSocket close with a protocol code): terminal when the code says not to reconnect. */
function disconnectError(code: number, reason: string): PubSubError {
  const reconnect = reconnectsAfter(code);
  return new PubSubError(reconnect ? "transport_failed" : "disconnected",
    `The server ended the session (${code}${reason ? `: ${reason}` : ""}).`, { disconnectCode: code, disconnectReason: reason, terminal: !reconnect });
}
