import type { EventSourceLike } from "../../src/types.js";

/** An EventSource whose other end is the test: `open()`, `emit()` an event, `fail()`. */
export class FakeEventSource implements EventSourceLike {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;

  readyState = FakeEventSource.CONNECTING;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: string; lastEventId: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  closedByClient = false;

  constructor(
    readonly url: string,
    readonly init?: { withCredentials?: boolean },
  ) {}

  close(): void {
    this.closedByClient = true;
    this.readyState = FakeEventSource.CLOSED;
  }

  // ---- The server's side ----

  open(): void {
    this.readyState = FakeEventSource.OPEN;
    this.onopen?.({});
  }

  emit(data: string, id = ""): void {
    if (this.readyState === FakeEventSource.OPEN) {
      this.onmessage?.({ data, lastEventId: id });
    }
  }

  /** The stream failed; a native EventSource would now retry by itself, unless closed. */
  fail(): void {
    if (this.readyState === FakeEventSource.CLOSED) {
      return;
    }
    this.readyState = FakeEventSource.CONNECTING;
    this.onerror?.({});
  }
}
