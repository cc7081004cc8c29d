import { toBase64, utf8Length } from "./encoding.js";
import { badFrame, checkFrame } from "./frames.js";
import type { ClientFrame, DecodedFrame, ServerFrame, UnknownFrame } from "./frames.js";
import type { FrameCodec, Payload } from "./FrameCodec.js";
import { PubSubError } from "./PubSubError.js";

/**
 * The JSON encoding (docs/protocol.md, section 2): each frame one JSON object on its own line, a
 * batch the lines joined by `\n`; bytes travel as base64 text in `binary`.
 */
export class JsonCodec implements FrameCodec {
  static readonly instance = new JsonCodec();

  readonly encoding = "json" as const;
  readonly binary = false;
  // text/plain needs no CORS preflight (section 3.5).
  readonly contentType = "text/plain;charset=UTF-8";
  readonly separatorBytes = 1;

  decode(batch: Payload): DecodedFrame[] {
    if (typeof batch !== "string") {
      return [new PubSubError("bad_frame", "The server sent a binary WebSocket message on 'pubsub.json'; it was ignored.")];
    }
    const frames: DecodedFrame[] = [];
    for (const line of splitBatch(batch)) {
      try {
        frames.push(parseFrame(line));
      } catch (error) {
        frames.push(error as PubSubError);
      }
    }
    return frames;
  }

  encode(frame: ClientFrame): string {
    // The bytes of a binary publish become base64 in their place, so the field order stays.
    return JSON.stringify("binary" in frame ? { ...frame, binary: toBase64(frame.binary) } : frame);
  }

  size(payload: Payload): number {
    return typeof payload === "string" ? utf8Length(payload) : payload.length;
  }

  join(payloads: readonly Payload[]): string {
    return payloads.join("\n");
  }
}

/** The non-blank lines of a batch; each is one frame. Blank lines and a trailing `\n` are not frames. */
export function splitBatch(batch: string): string[] {
  const lines: string[] = [];
  for (const line of batch.split("\n")) {
    if (line.trim() !== "") {
      lines.push(line);
    }
  }
  return lines;
}

/** Parses one JSON server frame; throws a `bad_frame` PubSubError for what is not one (frames.ts, checkFrame). */
export function parseFrame(line: string): ServerFrame | UnknownFrame {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw badFrame("is not valid JSON", line);
  }
  return checkFrame(value, () => line);
}
