// What a transport is to the rest of the client: a way to move batches of frames to and from one
// server session. Everything above it (sessions, subscriptions, recovery) is the same on each.

import type { FrameCodec, Payload } from "./FrameCodec.js";
import type { ServerFrame, UnknownFrame } from "./frames.js";
import type { HttpContext } from "./http.js";
import type { PubSubError } from "./PubSubError.js";
import type { EventSourceConstructor, TransportName, WebSocketConstructor } from "./types.js";

export interface TransportContext extends HttpContext {
  /** The encoding negotiated for this server: what the transports that can carry it use (SSE carries JSON only). */
  readonly codec: FrameCodec;
  readonly WebSocket: WebSocketConstructor | undefined;
  readonly EventSource: EventSourceConstructor | undefined;
  /** How long the server holds a long-poll, in ms (negotiate's `pollTimeout`). */
  readonly pollTimeout: number;
  /** How long a request without a server-side hold (/send) may take, in ms. */
  readonly requestTimeout: number;
  /** WebSocket sends pause while `bufferedAmount` is at least this. */
  readonly sendBufferLimit: number;
}

/** Why a transport ended. */
export interface TransportClosed {
  /** What went wrong, or what the server said. */
  readonly error: PubSubError;
  /** The WebSocket close code, when there was one. */
  readonly closeCode?: number;
  /** The WebSocket close frame's reason ("" when it had none). */
  readonly closeReason?: string;
}

/** How a transport reports to its connection. Calls stop once the transport is closed. */
export interface TransportHandler {
  onFrame(frame: ServerFrame | UnknownFrame): void;
  /** A line that is not a valid frame; the transport goes on. */
  onBadFrame(error: PubSubError): void;
  /** `canSend()` turned true again after a send. */
  onWritable(): void;
  /** The transport ended by itself (not by `close()`); called at most once. */
  onClose(closed: TransportClosed): void;
}

export interface Transport {
  readonly name: TransportName;
  /** The encoding of this transport's session, both ways. */
  readonly codec: FrameCodec;
  /** Starts connecting. The first frame the handler gets is `connected`. */
  open(): void;
  /**
   * Whether a `send` now would go out without piling up (no request in flight, socket buffer low).
   * After it returned false, the handler hears `onWritable` when that changes.
   */
  canSend(): boolean;
  /** Sends one batch (`codec.join` of the frames). Call only when `canSend()`. */
  send(batch: Payload): void;
  /** Ends the transport. The handler hears nothing more. */
  close(): void;
}
