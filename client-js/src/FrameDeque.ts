export type Lane = "control" | "bulk";

export interface QueuedFrame {
  /** The frame's type, so that a frame without id (a pong) is not queued twice. */
  readonly type: string;
  /** The encoded frame. */
  readonly payload: string | Uint8Array;
  /** The size of `payload` in bytes. */
  readonly bytes: number;
  readonly lane: Lane;
}

/** The frames of one lane, in order; `shift` is O(1) without Array.shift's copying. */
export class FrameDeque {
  private items: QueuedFrame[] = [];
  private head = 0;
  bytes = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  peek(): QueuedFrame | undefined {
    return this.items[this.head];
  }

  push(frame: QueuedFrame): void {
    this.items.push(frame);
    this.bytes += frame.bytes;
  }

  shift(): QueuedFrame | undefined {
    const frame = this.items[this.head];
    if (frame === undefined) {
      return undefined;
    }
    this.head++;
    this.bytes -= frame.bytes;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return frame;
  }

  remove(frame: QueuedFrame): boolean {
    const index = this.items.indexOf(frame, this.head);
    if (index < 0) {
      return false;
    }
    this.items.splice(index, 1);
    this.bytes -= frame.bytes;
    return true;
  }

  includes(type: string): boolean {
    for (let i = this.head; i < this.items.length; i++) {
      if (this.items[i]!.type === type) {
        return true;
      }
    }
    return false;
  }

  takeAll(): QueuedFrame[] {
    const all = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    this.bytes = 0;
    return all;
  }
}
