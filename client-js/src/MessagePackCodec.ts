import { Decoder, Encoder } from "@msgpack/msgpack";
import { utf8Length } from "./encoding.js";
import { badFrame, checkFrame } from "./frames.js";
import type { ClientFrame, DecodedFrame } from "./frames.js";
import type { FrameCodec, Payload } from "./FrameCodec.js";
import { describe } from "./http.js";
import { PubSubError } from "./PubSubError.js";

/**
 * The MessagePack encoding (docs/protocol.md, section 6), with @msgpack/msgpack: each frame one
 * map with the JSON frame's field names, a batch the values one after another with nothing
 * between them; bytes travel as bin in `binary`. Integers take their shortest form and maps keep
 * the frame's field order, which is how protocol/frames/msgpack.json was made.
 */
export class MessagePackCodec implements FrameCodec {
  static readonly instance = new MessagePackCodec();

  readonly encoding = "msgpack" as const;
  readonly binary = true;
  readonly contentType = "application/vnd.msgpack";
  readonly separatorBytes = 0;

  // Publication data is a JSON value (section 6.1): undefined fields are left out, as JSON.stringify leaves them.
  private readonly encoder = new Encoder({ ignoreUndefined: true });
  private readonly decoder = new Decoder();

  decode(batch: Payload): DecodedFrame[] {
    if (typeof batch === "string") {
      return [new PubSubError("bad_frame", "The server sent a text WebSocket message on 'pubsub.msgpack'; it was ignored.")];
    }
    const frames: DecodedFrame[] = [];
    // The decoder does not say where each value began, so a bad frame quotes its batch.
    const quote = (): string => hex(batch);
    try {
      for (const value of this.decoder.decodeMulti(batch)) {
        try {
          frames.push(checkFrame(value, quote));
        } catch (error) {
          frames.push(error as PubSubError);
        }
      }
    } catch (error) {
      // What follows a value that does not decode cannot be found (section 6.2).
      frames.push(badFrame(`does not decode as MessagePack (${describe(error)})`, quote()));
    }
    return frames;
  }

  encode(frame: ClientFrame): Uint8Array {
    // A publication's data is whatever JSON would carry of it (toJSON applied, undefined and functions
    // dropped, NaN as null), so an application sees the same publication in either encoding.
    const value = "data" in frame ? { ...frame, data: JSON.parse(JSON.stringify(frame.data)) as unknown } : frame;
    return this.encoder.encode(value);
  }

  size(payload: Payload): number {
    return typeof payload === "string" ? utf8Length(payload) : payload.length;
  }

  join(payloads: readonly Payload[]): Uint8Array {
    if (payloads.length === 1) {
      return payloads[0] as Uint8Array;
    }
    let length = 0;
    for (const payload of payloads) {
      length += (payload as Uint8Array).length;
    }
    const batch = new Uint8Array(length);
    let offset = 0;
    for (const payload of payloads) {
      batch.set(payload as Uint8Array, offset);
      offset += (payload as Uint8Array).length;
    }
    return batch;
  }
}

/** A frame's bytes as hex, for an error message. */
function hex(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes.subarray(0, 60)) {
    text += byte.toString(16).padStart(2, "0");
  }
  return bytes.length > 60 ? `${text}… (${bytes.length} bytes)` : text;
}
