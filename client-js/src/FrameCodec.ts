// The encoding of a session's frames (docs/protocol.md, sections 2 and 6): the one thing a
// transport needs to know about the bytes it moves. Everything above the transports works with
// frames as values, the same in either encoding.

import type { ClientFrame, DecodedFrame } from "./frames.js";
import type { Encoding } from "./types.js";

/** A frame or a batch as it travels: text in JSON, bytes in MessagePack. */
export type Payload = string | Uint8Array;

export interface FrameCodec {
  readonly encoding: Encoding;
  /** Whether batches are bytes (binary WebSocket messages, long-poll bodies read as bytes) rather than text. */
  readonly binary: boolean;
  /** The Content-Type of a `/send` body in this encoding (section 3.5). */
  readonly contentType: string;
  /** The bytes that separate two frames of a batch, for sizing batches. */
  readonly separatorBytes: number;
  /**
   * The frames of one batch (a WebSocket message, a long-poll body, an SSE event), in order. What
   * is not a frame is a `bad_frame` PubSubError in its place; a value that does not decode at all
   * ends the batch there (the frames after it cannot be found).
   */
  decode(batch: Payload): DecodedFrame[];
  /** One client frame; throws for data the encoding cannot carry. */
  encode(frame: ClientFrame): Payload;
  /** The size of an encoded frame in bytes. */
  size(payload: Payload): number;
  /** Frames encoded by this codec, as one batch. */
  join(payloads: readonly Payload[]): Payload;
}
