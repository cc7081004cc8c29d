import { FrameDeque } from "./FrameDeque.js";
import type { Lane, QueuedFrame } from "./FrameDeque.js";

export type { Lane, QueuedFrame };

/**
 * Control frames (pong, subscribe, unsubscribe, ping) are small and time-critical: a pong that
 * waits behind megabytes of publishes gets the session closed for a missed heartbeat. They travel
 * in their own lane, which is always sent first. Bulk frames (publish, history) are bounded.
 */
export class OutboundQueue {
  private readonly control = new FrameDeque();
  private readonly bulk = new FrameDeque();

  /** @param maxBulkBytes the most bytes the bulk lane holds; the control lane is not bounded (its frames are few and small). */
  constructor(readonly maxBulkBytes: number) {}

  get isEmpty(): boolean {
    return this.control.length === 0 && this.bulk.length === 0;
  }

  get bulkBytes(): number {
    return this.bulk.bytes;
  }

  get length(): number {
    return this.control.length + this.bulk.length;
  }

  /** Queues a frame; false (and nothing queued) when it is bulk and the bulk lane has no room for it. */
  enqueue(frame: QueuedFrame): boolean {
    if (frame.lane === "control") {
      this.control.push(frame);
      return true;
    }
    if (this.bulk.bytes + frame.bytes > this.maxBulkBytes) {
      return false;
    }
    this.bulk.push(frame);
    return true;
  }

  /** Whether a control frame of this type waits (for frames without id: ping, pong). */
  hasControl(type: string): boolean {
    return this.control.includes(type);
  }

  /**
   * Takes the frames of the next batch: control frames first, then bulk, in order within each
   * lane, as many as fit in `maxBytes` with their separators. A first frame larger than
   * `maxBytes` is taken alone (the caller checked sizes at enqueue time; this only avoids a stall).
   */
  take(maxBytes: number, separatorBytes = 1): QueuedFrame[] {
    const batch: QueuedFrame[] = [];
    let size = 0;
    for (const lane of [this.control, this.bulk]) {
      for (let next = lane.peek(); next !== undefined; next = lane.peek()) {
        const added = batch.length === 0 ? next.bytes : next.bytes + separatorBytes;
        if (batch.length > 0 && size + added > maxBytes) {
          return batch;
        }
        batch.push(lane.shift()!);
        size += added;
      }
    }
    return batch;
  }

  remove(frame: QueuedFrame): boolean {
    return (frame.lane === "control" ? this.control : this.bulk).remove(frame);
  }

  /** Removes and returns every bulk frame, in order (to move them to another connection). */
  takeBulk(): QueuedFrame[] {
    return this.bulk.takeAll();
  }

  /** Appends bulk frames moved from another queue, past the bound: they were admitted once already. */
  appendBulk(frames: readonly QueuedFrame[]): void {
    for (const frame of frames) {
      this.bulk.push(frame);
    }
  }

  clearControl(): void {
    this.control.takeAll();
  }

  clear(): QueuedFrame[] {
    this.control.takeAll();
    return this.bulk.takeAll();
  }
}
