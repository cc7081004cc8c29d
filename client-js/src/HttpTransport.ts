import type { FrameCodec, Payload } from "./FrameCodec.js";
import { HttpSender } from "./HttpSender.js";
import type { PubSubError } from "./PubSubError.js";
import type { Transport, TransportContext, TransportHandler } from "./Transport.js";
import type { TransportName } from "./types.js";

/**
 * What the two HTTP transports share: frames go out through `POST {prefix}/send` for the session
 * that the first frame (`connected`) named, and the transport ends once, by `close()` (quietly)
 * or by a failure (told to the handler).
 */
export abstract class HttpTransport implements Transport {
  abstract readonly name: TransportName;
  abstract readonly codec: FrameCodec;
  protected session: string | null = null;
  protected closed = false;
  private readonly sender: HttpSender;

  constructor(
    protected readonly context: TransportContext,
    protected readonly handler: TransportHandler,
  ) {
    this.sender = new HttpSender(
      context,
      () => this.codec,
      () => this.session,
      () => handler.onWritable(),
      (error) => this.finish(error),
    );
  }

  abstract open(): void;

  /** Stops receiving (closes the stream, aborts the poll). */
  protected abstract stop(): void;

  canSend(): boolean {
    return !this.closed && this.sender.idle;
  }

  send(batch: Payload): void {
    this.sender.send(batch);
  }

  close(): void {
    if (this.closed) {
      return;
    }
    this.sender.leave();
    this.end();
  }

  protected finish(error: PubSubError): void {
    if (this.closed) {
      return;
    }
    // The session failed; there is nothing to leave.
    this.end();
    this.handler.onClose({ error });
  }

  private end(): void {
    this.closed = true;
    this.sender.close();
    this.stop();
  }
}
