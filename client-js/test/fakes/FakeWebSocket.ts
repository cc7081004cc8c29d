import type { WebSocketLike } from "../../src/types.js";

/**
 * A WebSocket whose other end is the test: `accept()` opens it, `receive()` delivers a message,
 * `drop()` closes it from the server's side; what the client sends collects in `sent`.
 */
export class FakeWebSocket implements WebSocketLike {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 3;

  readyState = FakeWebSocket.CONNECTING;
  bufferedAmount = 0;
  protocol = "";
  binaryType = "blob";
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  readonly sent: string[] = [];
  /** The code the client closed with, if it did. */
  closedByClient: number | undefined;
  /** Called with each message the client sends. */
  onSend: ((data: string) => void) | null = null;

  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
  ) {}

  send(data: string): void {
    if (this.readyState !== FakeWebSocket.OPEN) {
      throw new Error("InvalidStateError: the socket is not open");
    }
    this.sent.push(data);
    this.onSend?.(data);
  }

  close(code = 1000): void {
    if (this.readyState === FakeWebSocket.CLOSED) {
      return;
    }
    this.closedByClient = code;
    this.readyState = FakeWebSocket.CLOSED;
    const onclose = this.onclose;
    queueMicrotask(() => onclose?.({ code, reason: "" }));
  }

  // ---- The server's side ----

  accept(): void {
    this.readyState = FakeWebSocket.OPEN;
    this.protocol = "pubsub.json";
    this.onopen?.({});
  }

  receive(data: unknown): void {
    if (this.readyState === FakeWebSocket.OPEN) {
      this.onmessage?.({ data });
    }
  }

  drop(code = 1006, reason = ""): void {
    if (this.readyState === FakeWebSocket.CLOSED) {
      return;
    }
    this.readyState = FakeWebSocket.CLOSED;
    this.onerror?.({});
    this.onclose?.({ code, reason });
  }
}
